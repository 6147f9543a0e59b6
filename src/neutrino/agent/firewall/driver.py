"""Applies a rendered firewall (render.py, arp.py) to one network namespace.

One `Firewall.apply(desired)`:

1. bridged traffic through iptables (br_netfilter sysctls, per namespace);
2. reads the sets there are (``ipset save``) and turns them into the rendered ones
   (sets.py, pure): a new set is built in a temporary set and swapped in, a set
   whose members differ gets ``add``/``del`` of just those members (a remote-group
   or address-group membership change touches no chain), all before any rule uses
   them;
3. the chains (``iptables-save``, ``ip6tables-save``): one ``iptables-restore
   --noflush`` per IP version that redeclares (so flushes and refills) only the
   chains of ours whose rules differ, deletes our stale chains and adds the jumps
   from FORWARD/INPUT when missing. Nothing else in the table is touched, and the
   batch is atomic. Reading 25,000 rules of 1,000 ports back costs a second, so
   this step is skipped when the rendered chains are those this `Firewall` wrote
   or found at its last check and that check is less than `recheck_interval` old:
   a membership change is then sets only;
4. the ARP/MAC anti-spoofing table (nft bridge family, arp.py): when the digest in
   the kernel's table comment differs from the rendered one, the whole table is
   replaced in one ``nft -f`` batch (so traffic never meets half a table); it is
   deleted when no port is filtered;
5. our sets no rule wants any more are destroyed (only now: the kernel refuses to
   destroy a set a rule still uses);
6. when a chain or whole set was written, a member deleted from a set (on the
   first apply of a `Firewall` too, so after an agent restart), the tracked
   connections of the filtered ports are listed (``conntrack -L``) and those the
   new rules would not let start are deleted (conntrack.py): a removed rule or
   member cuts the connections it allowed, as upstream does. A failure there is
   logged; the rules stay applied.

Applying the same state twice runs no restore (nor nft batch) at all the second
time. Sets and the ARP table are read from the kernel on every apply, the chains on
the first one, whenever the rules change and at least every `recheck_interval`: an
agent restart is corrected at once, someone else's edit of our chains within that
interval (for the ARP table only the comment is compared: an edit inside it that
keeps the comment is not seen).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from neutrino.agent.common import privileged
from neutrino.agent.firewall import arp, conntrack, sets
from neutrino.agent.firewall import render as rendering
from neutrino.agent.firewall.arp import ArpTable
from neutrino.agent.firewall.render import JUMPS, IpSet, Ruleset
from neutrino.agent.firewall.seclog import LogSettings
from neutrino.contract.l2 import L2State, empty_state

LOG = logging.getLogger(__name__)

# Seconds a check of our chains against the kernel stays trusted while the rendered
# chains do not change (the agent's periodic resync then reads them again).
RECHECK_INTERVAL = 60.0
# Port fields no rendering reads: a port going ACTIVE (the first sync's reports)
# must not cost a render of the whole host.
UNRENDERED_PORT_KEYS = frozenset({"status", "revision_number"})


@dataclass
class Tables:
    """Our part of one filter table as iptables-save shows it."""

    chains: dict[str, list[str]] = field(default_factory=dict)  # canonical lines
    jumps: dict[str, int] = field(default_factory=dict)         # builtin -> count


@dataclass
class ApplyResult:
    chains_written: int = 0
    chains_deleted: int = 0
    sets_written: int = 0  # whole sets built and swapped in (new ones)
    sets_deleted: int = 0
    members_added: int = 0    # set elements added / deleted in place
    members_deleted: int = 0
    chains_checked: bool = False  # the chains were read from the kernel
    rules: int = 0
    filtered_ports: int = 0
    arp_written: bool = False  # the ARP table (re)written
    arp_deleted: bool = False
    conntrack_deleted: int = 0  # tracked connections the new rules refuse

    @property
    def changed(self) -> bool:
        return bool(self.chains_written or self.chains_deleted or self.sets_written
                    or self.sets_deleted or self.members_added or self.members_deleted
                    or self.arp_written or self.arp_deleted)


def parse_iptables_save(text: str) -> Tables:
    """Our chains (rules canonical) and the jumps to them, from the filter table."""
    out = Tables(jumps={builtin: 0 for builtin in JUMPS})
    jump_lines = {f"-A {builtin} -j {chain}": builtin for builtin, chain in JUMPS.items()}
    in_filter = False
    for line in text.splitlines():
        if line.startswith("*"):
            in_filter = line == "*filter"
            continue
        if not in_filter:
            continue
        if line.startswith(":"):
            name = line[1:].split(" ", 1)[0]
            if rendering.is_our_chain(name):
                out.chains.setdefault(name, [])
        elif line.startswith("-A "):
            chain = line.split(" ", 2)[1]
            if rendering.is_our_chain(chain):
                out.chains.setdefault(chain, []).append(rendering.canonical(line))
            elif line.strip() in jump_lines:
                out.jumps[jump_lines[line.strip()]] += 1
    return out


def parse_ipset_save(text: str) -> dict[str, IpSet]:
    """Our sets (render.is_our_set) and their members."""
    families: dict[str, str] = {}
    members: dict[str, set[str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3 or not rendering.is_our_set(parts[1]):
            continue
        if parts[0] == "create":
            family = parts[parts.index("family") + 1] if "family" in parts else "inet"
            families[parts[1]] = family
            members.setdefault(parts[1], set())
        elif parts[0] == "add":
            members.setdefault(parts[1], set()).add(_member(parts[2]))
    return {name: IpSet(name, families.get(name, "inet"), frozenset(values))
            for name, values in members.items()}


def _member(text: str) -> str:
    """A member as ipset save prints it, written as render writes members (ipset
    has its own way with IPv4-mapped IPv6 addresses)."""
    try:
        return rendering.member_text(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


def plan_table(want: Mapping[str, list[str]], have: Tables) -> tuple[
        dict[str, list[str]], list[str], list[str], list[str]]:
    """(chains to write, chains to delete, builtins missing their jump, builtins
    with a duplicate jump to remove) to turn `have` into `want`."""
    write = {name: rules for name, rules in want.items()
             if [rendering.canonical(r) for r in rules] != have.chains.get(name)}
    delete = sorted(name for name in have.chains if name not in want)
    add = [builtin for builtin in JUMPS if have.jumps.get(builtin, 0) == 0]
    remove = [builtin for builtin in JUMPS
              for _ in range(have.jumps.get(builtin, 0) - 1)]
    return write, delete, add, remove


class Firewall:
    """The security-group firewall of one host (network namespace)."""

    def __init__(self, namespace: str | None = None,
                 log_settings: LogSettings | None = LogSettings(),
                 recheck_interval: float = RECHECK_INTERVAL) -> None:
        self.namespace = namespace
        self.log_settings = log_settings  # the log rules' limits and group (seclog.py)
        self.recheck_interval = recheck_interval
        self._lock = threading.Lock()
        self._revalidated = False  # connections checked once since start
        # The chains the kernel held at our last check (None: none yet) and when.
        self._checked: dict[int, dict[str, list[str]]] | None = None
        self._checked_at = 0.0
        # The last render and the ports and groups it was of (_render).
        self._rendered: tuple[str, Ruleset, ArpTable | None] | None = None

    def apply(self, desired: L2State) -> ApplyResult:
        """Make the kernel hold exactly the firewall of `desired` (an "l2" state),
        then cut the tracked connections it no longer allows."""
        with self._lock:
            ruleset, arp_table = self._render(desired)
            result = self.apply_ruleset(ruleset, arp_table)
            if (result.chains_written or result.chains_deleted or result.sets_written
                    or result.members_deleted or not self._revalidated):
                result.conntrack_deleted = self._revalidate(desired, ruleset)
            return result

    def _render(self, desired: L2State) -> tuple[Ruleset, ArpTable | None]:
        """The rendered firewall of `desired`. Rendering 1,000 ports costs about a
        second, so the chains and the ARP table of the last render are reused when
        the ports and groups are the same (compared as JSON text, tens of
        milliseconds; status and revision left out): a membership change, or a
        resync with nothing to do, renders only the sets."""
        ports = [{k: v for k, v in port.items() if k not in UNRENDERED_PORT_KEYS}
                 for port in desired["ports"]]
        key = json.dumps([ports, desired["security_groups"]], sort_keys=True,
                         default=str)
        if self._rendered is not None and self._rendered[0] == key:
            _, last, arp_table = self._rendered
            return dataclasses.replace(last, ipsets=rendering.ipsets(desired)), arp_table
        ruleset = rendering.render(desired, self.log_settings)
        arp_table = arp.render(desired)
        self._rendered = (key, ruleset, arp_table)
        return ruleset, arp_table

    def _revalidate(self, desired: L2State, ruleset: Ruleset) -> int:
        """Delete the tracked connections of filtered ports that `ruleset` would
        refuse now; how many. Errors are logged (the next change retries)."""
        ns = self.namespace
        try:
            entries = [entry for version, addresses in conntrack.watched(desired).items()
                       for entry in conntrack.parse(
                           privileged.conntrack_list(version, addresses, ns))]
            refused = conntrack.stale(desired, entries, ruleset)
            privileged.conntrack_delete(conntrack.delete_batch(refused), ns)
        except (privileged.CommandError, OSError, subprocess.SubprocessError) as error:
            LOG.warning("firewall: could not re-validate tracked connections: %s", error)
            return 0
        self._revalidated = True
        if refused:
            LOG.info("firewall: deleted %d tracked connection(s) the rules no longer "
                     "allow", len(refused))
        return len(refused)

    def apply_ruleset(self, ruleset: Ruleset, arp_table: ArpTable | None
                      ) -> ApplyResult:
        """Make the kernel hold `ruleset` and `arp_table` (None: no ARP table)."""
        ns = self.namespace
        result = ApplyResult(rules=ruleset.rule_count(),
                             filtered_ports=len(ruleset.filtered_ports))
        privileged.enable_bridge_netfilter(ns)
        have_sets = parse_ipset_save(privileged.ipset_save(ns))

        changes = sets.plan(have_sets, ruleset.ipsets)
        if changes:
            privileged.ipset_restore(sets.restore_input(changes), ns)
            result.sets_written = len(changes.fill)
            result.members_added = len(changes.add)
            result.members_deleted = len(changes.delete)

        if self._chains_need_check(ruleset):
            self._apply_chains(ruleset, result)

        result.arp_written, result.arp_deleted = self._apply_arp(arp_table)
        stale = sorted(name for name in have_sets if name not in ruleset.ipsets)
        if stale:
            try:
                privileged.ipset_restore("".join(f"destroy {n}\n" for n in stale), ns)
                result.sets_deleted = len(stale)
            except privileged.CommandError as error:
                # Harmless meanwhile (nothing of ours uses it); the next apply retries.
                LOG.warning("could not destroy stale ipsets %s: %s", stale, error)
        if result.changed:
            LOG.info("firewall: %d port(s) filtered, %d rule(s); wrote %d chain(s), "
                     "deleted %d, wrote %d set(s), deleted %d, added %d member(s), "
                     "deleted %d; ARP table %s",
                     result.filtered_ports, result.rules, result.chains_written,
                     result.chains_deleted, result.sets_written, result.sets_deleted,
                     result.members_added, result.members_deleted,
                     "written" if result.arp_written
                     else "deleted" if result.arp_deleted else "unchanged")
        return result

    def _chains_need_check(self, ruleset: Ruleset) -> bool:
        """Whether the chains must be read back: the rules changed since our last
        check, or it is older than `recheck_interval`."""
        return (ruleset.chains != self._checked
                or time.monotonic() - self._checked_at >= self.recheck_interval)

    def _apply_chains(self, ruleset: Ruleset, result: ApplyResult) -> None:
        """Our chains made exactly `ruleset`'s, read from the kernel first."""
        ns = self.namespace
        self._checked = None  # a failure below leaves the kernel unknown
        for version in rendering.VERSIONS:
            ipv6 = version == 6
            have = parse_iptables_save(privileged.iptables_save(ipv6=ipv6, namespace=ns))
            write, delete, add, remove = plan_table(ruleset.chains[version], have)
            if not (write or delete or add or remove):
                continue
            privileged.iptables_restore(
                rendering.iptables_restore_input(write, delete, add, remove),
                ipv6=ipv6, namespace=ns)
            result.chains_written += len(write)
            result.chains_deleted += len(delete)
        result.chains_checked = True
        self._checked = {v: dict(chains) for v, chains in ruleset.chains.items()}
        self._checked_at = time.monotonic()

    def _apply_arp(self, table: ArpTable | None) -> tuple[bool, bool]:
        """(written, deleted): the ARP table made exactly `table`, or absent."""
        have = privileged.nft_table_comment(arp.FAMILY, arp.TABLE, self.namespace)
        if table is None:
            if have is None:
                return False, False
            privileged.nft_delete_table(arp.FAMILY, arp.TABLE, self.namespace)
            return False, True
        if have == table.comment:
            return False, False
        privileged.nft_apply(arp.replace_batch(table), self.namespace)
        return True, False

    def remove_all(self) -> None:
        """Take every chain, jump, set and the ARP table of ours away (no port is
        filtered)."""
        with self._lock:
            self.apply_ruleset(_empty(), None)
            self._checked = None  # the jumps go below, behind the check's back
            for version in rendering.VERSIONS:
                ipv6 = version == 6
                have = parse_iptables_save(
                    privileged.iptables_save(ipv6=ipv6, namespace=self.namespace))
                lines = ["*filter"]
                lines += [f":{name} - [0:0]" for name in have.chains]
                lines += [f"-D {b} -j {JUMPS[b]}" for b, n in have.jumps.items()
                          for _ in range(n)]
                lines += [f"-X {name}" for name in have.chains]
                if len(lines) > 1:
                    privileged.iptables_restore("\n".join([*lines, "COMMIT"]) + "\n",
                                                ipv6=ipv6, namespace=self.namespace)


def _empty() -> Ruleset:
    return rendering.render(empty_state(""))
