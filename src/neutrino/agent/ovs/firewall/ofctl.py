"""The firewall's privileged door to Open vSwitch: ``ovs-ofctl`` run through the
agents' one `execute` (agent/common/privileged.py). Thin and typed; what to write
is decided in flows.py and driver.py.

`target` is what ovs-ofctl takes: a bridge name (its management socket in the
default run directory) or ``unix:<rundir>/<bridge>.mgmt`` for a private
ovs-vswitchd (the tests').
"""

from __future__ import annotations

from neutrino.agent.common import privileged

# Bundles are OpenFlow 1.4; the flows themselves are written in Nicira extensions.
PROTOCOLS = "OpenFlow14"


def bundle(target: str, text: str, namespace: str | None = None) -> None:
    """Apply flow mods (``add``/``delete`` lines) as one OpenFlow bundle: all of
    them or none, never a table half-written."""
    if text:
        privileged.execute(["ovs-ofctl", "-O", PROTOCOLS, "--bundle", "add-flows",
                            target, "-"], namespace, stdin=text)


def dump_flows(target: str, match: str, namespace: str | None = None) -> str:
    """``ovs-ofctl dump-flows`` of the flows matching `match` (e.g. a cookie)."""
    return privileged.execute(["ovs-ofctl", "-O", PROTOCOLS, "--no-stats",
                               "dump-flows", target, match], namespace)


def diff_flows(target: str, flows_file: str, namespace: str | None = None) -> list[str]:
    """``ovs-ofctl diff-flows`` of the bridge against a file of flows (both parsed
    by OVS, so no textual normalisation): ``+`` lines only in the file, ``-``
    lines only on the bridge (a flow whose cookie or actions differ is both)."""
    out = privileged.execute(["ovs-ofctl", "-O", PROTOCOLS, "diff-flows", target,
                              flows_file], namespace, ok=(0, 2))
    return out.splitlines()


def revalidator_wait(vswitchd: str | None, namespace: str | None = None) -> None:
    """Return once ovs-vswitchd has revalidated its datapath flows against the
    tables just written: until then, packets of a known flow (an established
    connection) may still take the old path. `vswitchd`: its control socket
    (None: the default one)."""
    target = ["-t", vswitchd] if vswitchd else []
    privileged.execute(["ovs-appctl", *target, "revalidator/wait"], namespace)
