"""Remote-group and address-group membership as element operations (pure).

A membership change (a port joins or leaves a remote group, an address group gets a
CIDR) changes the members of a set, not a rule. Turning the kernel's sets into the
wanted ones element by element touches no chain and costs one ``ipset restore`` line
per member that changed, however many ports use the set::

  have (kernel)         want (render.py)       plan
  NIPv4g {a, b}         NIPv4g {b, c}          add NIPv4g c; del NIPv4g a
  —                     NIPv4h {d}             fill: built whole, swapped in
  NIPv6x (inet)         NIPv6x (inet6)         fill (a set's family cannot change)
  NAGv4z {e}            —                      (stale: driver.py destroys it once
                                                no rule uses it any more)

Adds come before deletes in the batch: while it runs, a member moving from one
address to another is briefly allowed at both rather than at neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from neutrino.agent.firewall.render import IpSet, ipset_commands


@dataclass
class SetPlan:
    """What turns the kernel's sets of ours into the wanted ones."""

    fill: list[IpSet] = field(default_factory=list)  # new, or of another family
    add: list[tuple[str, str]] = field(default_factory=list)     # (set, member)
    delete: list[tuple[str, str]] = field(default_factory=list)  # (set, member)

    def __bool__(self) -> bool:
        return bool(self.fill or self.add or self.delete)


def plan(have: Mapping[str, IpSet], want: Mapping[str, IpSet]) -> SetPlan:
    """The element operations (and whole sets to fill) from `have` to `want`;
    sets only in `have` are left alone (their removal is driver.py's, last)."""
    out = SetPlan()
    for name in sorted(want):
        wanted, current = want[name], have.get(name)
        if current is None or current.family != wanted.family:
            out.fill.append(wanted)
            continue
        out.add += [(name, m) for m in sorted(wanted.members - current.members)]
        out.delete += [(name, m) for m in sorted(current.members - wanted.members)]
    return out


def restore_input(changes: SetPlan) -> str:
    """``ipset restore`` input for `changes`: whole sets through a swap
    (render.ipset_commands), then element adds, then deletes. The driver runs it
    with ``ipset restore -exist`` (privileged.ipset_restore), so an add of a member
    already there or a delete of one already gone is no error."""
    lines = [f"add {name} {member}" for name, member in changes.add]
    lines += [f"del {name} {member}" for name, member in changes.delete]
    return ipset_commands(changes.fill) + "".join(line + "\n" for line in lines)
