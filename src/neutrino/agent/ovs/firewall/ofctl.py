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


def flush_conntrack_zone(vswitchd: str | None, zone: int,
                         namespace: str | None = None) -> None:
    """Forget every connection of one conntrack zone (a network's local VLAN) on
    the userspace datapath, whose connections `conntrack` (the kernel's tool)
    does not see. `vswitchd`: its control socket (None: the default one)."""
    target = ["-t", vswitchd] if vswitchd else []
    privileged.execute(["ovs-appctl", *target, "dpctl/flush-conntrack", f"zone={zone}"],
                       namespace)
