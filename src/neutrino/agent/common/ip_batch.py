"""Many ``ip link set`` changes as one ``ip -force -batch -`` run: the text sent and
the per-line outcome read back. Pure (no kernel), unit-tested in tests/unit/agent.

Why: the Linux bridge agent's first sync plugs every tap (into its bridge, MTU, up);
one pyroute2 call per change, each with its own link lookups, took ~20 ms a tap
(issue 17: 10.6 s of a 500-port first sync). One ``ip`` process resolves names and
sends the requests in C.

How failures are told apart: with ``-force`` ip carries on after a failing line and
writes the kernel's (or its own) message followed by ``Command failed -:N`` on stderr,
N the 1-based line; lines without such a marker were done. But some argument errors
(a ``master`` that does not exist, resolved while parsing) end ip at once despite
``-force`` (iproute2's invarg() exits): then the lines after the last marker are
*unknown* (done or not) and the caller applies them again one by one, which is safe
since every change here is idempotent (setting what is already set).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# The set_link arguments a batch line can carry (Kernel.set_link's others -- mac,
# new_name -- go through netlink one by one).
BATCHABLE = frozenset({"master", "nomaster", "mtu", "up"})
# Interface names: no whitespace, no '/', at most 15 bytes (the kernel's rules); and
# nothing ip's batch reader treats specially (comments, quotes, line continuation).
_NAME = re.compile(r"^[^\s/#\\\"']{1,15}$")
_FAILED = re.compile(r"^Command failed .*:(\d+)\s*$")


def batchable(kwargs: Mapping[str, object]) -> bool:
    """Whether a set_link call with these arguments can be a batch line."""
    return bool(kwargs) and set(kwargs) <= BATCHABLE


def valid_name(name: object) -> bool:
    return isinstance(name, str) and bool(_NAME.match(name))


def link_set_line(name: str, changes: Mapping[str, object]) -> str:
    """One ``link set`` line of a batch (without the leading ``ip``); ValueError for
    a name or argument a line cannot carry."""
    if not valid_name(name):
        raise ValueError(f"interface name {name!r} cannot be sent in an ip batch")
    unknown = set(changes) - BATCHABLE
    if unknown:
        raise ValueError(f"not batchable: {sorted(unknown)}")
    words = ["link", "set", "dev", name]
    master = changes.get("master")
    if master is not None:
        if not valid_name(master):
            raise ValueError(f"bridge name {master!r} cannot be sent in an ip batch")
        words += ["master", str(master)]
    elif changes.get("nomaster"):
        words.append("nomaster")
    mtu = changes.get("mtu")
    if mtu is not None:
        if isinstance(mtu, bool) or not isinstance(mtu, int) or mtu <= 0:
            raise ValueError(f"mtu {mtu!r} is not a positive integer")
        words += ["mtu", str(mtu)]
    up = changes.get("up")
    if up is not None:
        words.append("up" if up else "down")
    if len(words) == 4:
        raise ValueError(f"nothing to change on {name}")
    return " ".join(words)


@dataclass
class Outcome:
    """What became of each line (0-based) of a batch."""

    failed: dict[int, str] = field(default_factory=dict)  # line -> why
    unknown: list[int] = field(default_factory=list)  # ip stopped before telling


def parse_outcome(stderr: str, count: int, returncode: int) -> Outcome:
    """The outcome of a batch of `count` lines from ip's stderr and exit status."""
    out = Outcome()
    pending: list[str] = []
    last = 0  # 1-based line of the last marker
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line:
            continue
        marker = _FAILED.match(line)
        if marker is None:
            pending.append(line)
            continue
        number = int(marker.group(1))
        if 1 <= number <= count:
            out.failed[number - 1] = "; ".join(pending) or "failed"
            last = max(last, number)
        pending = []
    if returncode != 0 and (pending or not out.failed):
        # ip ended early (an argument it could not use, a signal, no ip at all):
        # whatever came after the last reported line may or may not have run.
        out.unknown = [i for i in range(last, count) if i not in out.failed]
    return out


def render(lines: Sequence[str]) -> str:
    return "".join(f"{line}\n" for line in lines)
