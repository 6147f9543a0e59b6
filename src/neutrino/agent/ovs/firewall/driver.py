"""`OvsFirewall.apply`: the flows.py flows of a desired state on br-int, one
OpenFlow bundle per apply.

Each port's flows carry its own cookie (flows.port_cookie); an apply rewrites
only the cookies whose flows changed since the last one (``delete
cookie=C/-1`` then its flows, in the same bundle, so a port is never half
filtered) and deletes the cookies of ports gone. The first apply after a start
knows nothing of the bridge: it asks ``ovs-ofctl diff-flows`` which cookies of
the firewall's range differ from what it wants (`installed_from_diff`) and
rewrites only those, so a restarted agent whose ports did not change writes
nothing (it used to replace every flow of the range in one bundle: atomic, but
at 500 ports 11 s of deleting and re-adding every flow against 3 s on an
empty bridge). If that diff fails, it replaces the whole range in one atomic
bundle as before. Flows of other cookies (the agent's tables, anyone else's)
are never touched.

Connections a removed rule had allowed are cut by the flows themselves (table
72/82 mark them ct_mark=1 at their next packet, see flows.py), so no conntrack
flush is needed; a port that goes away leaves its connections to time out.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from neutrino.agent.ovs.firewall import flows, ofctl
from neutrino.agent.ovs.firewall.flows import Binding
from neutrino.contract.l2 import L2State

LOG = logging.getLogger(__name__)
_COOKIE = re.compile(r"(?:^|[ ,])cookie=(0x[0-9a-f]+|\d+)")


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


def installed_from_diff(want: Mapping[int, list[str]], diff_lines: Iterable[str]
                        ) -> dict[int, list[str]]:
    """What the bridge holds, as `bundle_text` takes it, from ``diff-flows`` of the
    bridge against `want` (pure): a cookie of ours with no ``+``/``-`` line holds
    exactly its wanted flows; one with a difference is unknown (absent: it is
    rewritten); one only on the bridge holds something (deleted)."""
    differing: set[int] = set()
    for line in diff_lines:
        if not line or line[0] not in "+-":
            continue
        found = _COOKIE.search(line[1:])
        cookie = int(found.group(1), 0) if found else 0
        if cookie & flows.COOKIE_MASK == flows.COOKIE_BASE:
            differing.add(cookie)  # other cookies (the agent's, anyone's) are not ours
    have = {c: lines for c, lines in want.items() if c not in differing}
    have.update({c: [] for c in differing if c not in want})
    return have


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
        if self._installed is None:
            self._installed = self._read_installed(want)
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

    def _read_installed(self, want: Mapping[int, list[str]]) -> dict[int, list[str]] | None:
        """The bridge's flows of our range as far as they matter (see
        installed_from_diff); None (replace everything) if they cannot be read."""
        with tempfile.NamedTemporaryFile("w", suffix=".flows") as wanted:
            wanted.write("".join(f"cookie=0x{cookie:x},{line}\n"
                                 for cookie, lines in want.items() for line in lines))
            wanted.flush()
            try:
                diff = ofctl.diff_flows(self.target, wanted.name, self.namespace)
            except Exception as error:  # noqa: BLE001 - the full replace still converges
                LOG.warning("firewall flows not read back (%s): replacing them all",
                            error)
                return None
        return installed_from_diff(want, diff)

    def remove_all(self) -> None:
        """Every flow of the firewall's cookie range removed."""
        ofctl.bundle(self.target, bundle_text({}, None)[0], self.namespace)
        self._installed = {}
