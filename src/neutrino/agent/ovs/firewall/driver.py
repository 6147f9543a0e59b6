"""`OvsFirewall.apply`: the flows.py flows of a desired state on br-int, one
OpenFlow bundle per apply.

Each port's flows carry its own cookie (flows.port_cookie); an apply rewrites
only the cookies whose flows changed since the last one (``delete
cookie=C/-1`` then its flows, in the same bundle, so a port is never half
filtered) and deletes the cookies of ports gone. The first apply after a start
knows nothing of the bridge: it replaces every flow of the firewall's cookie
range at once, which is also the resync after an agent restart (one atomic
bundle: traffic of unchanged ports never sees a gap). Flows of other cookies
(the agent's tables, anyone else's) are never touched.

Connections a removed rule had allowed are cut by the flows themselves (table
72/82 mark them ct_mark=1 at their next packet, see flows.py), so no conntrack
flush is needed; a port that goes away leaves its connections to time out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from neutrino.agent.ovs.firewall import flows, ofctl
from neutrino.agent.ovs.firewall.flows import Binding
from neutrino.contract.l2 import L2State

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyResult:
    cookies_written: int    # ports (and the shared group) whose flows were replaced
    cookies_deleted: int    # ports whose flows were removed
    flows_written: int

    @property
    def changed(self) -> bool:
        return bool(self.cookies_written or self.cookies_deleted)


def bundle_text(want: Mapping[int, list[str]], have: Mapping[int, list[str]] | None
                ) -> tuple[str, ApplyResult]:
    """The bundle turning `have` (None: unknown, replace everything of ours) into
    `want` ("" when they are the same), and what it does. Pure."""
    lines: list[str] = []
    if have is None:
        lines.append(f"delete cookie=0x{flows.COOKIE_BASE:x}/0x{flows.COOKIE_MASK:x}")
        changed = sorted(want)
        deleted: list[int] = []
    else:
        changed = sorted(c for c in want if have.get(c) != want[c])
        deleted = sorted(c for c in have if c not in want)
        lines += [f"delete cookie=0x{c:x}/-1" for c in [*changed, *deleted]]
    written = 0
    for cookie in changed:
        lines += [f"add cookie=0x{cookie:x},{line}" for line in want[cookie]]
        written += len(want[cookie])
    text = "".join(line + "\n" for line in lines)
    return text, ApplyResult(len(changed), len(deleted), written)


class OvsFirewall:
    """The firewall of one bridge. `target`: how ovs-ofctl reaches it (ofctl.py);
    `vswitchd`: ovs-vswitchd's control socket (None: the default one); `settle`:
    apply returns once the datapath follows the new flows (a revalidation cycle,
    up to ~0.5 s) rather than once the switch holds them (the datapath then
    follows within that cycle)."""

    def __init__(self, target: str, namespace: str | None = None,
                 vswitchd: str | None = None, settle: bool = True) -> None:
        self.target, self.namespace, self.vswitchd = target, namespace, vswitchd
        self.settle = settle
        self._installed: dict[int, list[str]] | None = None   # None: not known

    def apply(self, desired: L2State, bindings: Mapping[str, Binding]) -> ApplyResult:
        """Make the bridge's firewall flows those of `desired` (ports without a
        binding get none yet). On failure nothing is applied and the next apply
        replaces everything."""
        want = flows.render(desired, bindings)
        text, result = bundle_text(want, self._installed)
        if text:
            try:
                ofctl.bundle(self.target, text, self.namespace)
                if self.settle:  # in effect on return, for established flows too
                    ofctl.revalidator_wait(self.vswitchd, self.namespace)
            except Exception:
                self._installed = None
                raise
        self._installed = want
        if result.changed:
            LOG.info("firewall flows: %d groups written, %d deleted",
                     result.cookies_written, result.cookies_deleted)
        return result

    def remove_all(self) -> None:
        """Every flow of the firewall's cookie range removed."""
        ofctl.bundle(self.target, bundle_text({}, None)[0], self.namespace)
        self._installed = {}
