"""Pure prefix arithmetic for subnet pools: summarising prefixes, the free space of a
pool, choosing a free prefix of a given length, and per-project quota units.

Address sets are handled as sorted, merged integer intervals of one IP version, so
set difference and summarising stay linear in the number of prefixes (a pool with a
thousand allocated /24s is not a thousand ``address_exclude`` calls).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from fractions import Fraction

from neutrino.ipam._ip import Network

# Pool defaults by IP version, as upstream: smallest prefix length (largest block)
# a subnet may have, and the unit the per-project default_quota counts in
# (IPv4: addresses, i.e. /32s; IPv6: /64 networks).
MAX_PREFIXLEN = {4: 32, 6: 128}
DEFAULT_MIN_PREFIXLEN = {4: 8, 6: 64}
QUOTA_UNIT_PREFIXLEN = {4: 32, 6: 64}

Interval = tuple[int, int]  # inclusive [first, last] of one IP version


def _network(version: int, value: str | Network) -> Network:
    net = value if not isinstance(value, str) else ipaddress.ip_network(value, strict=False)
    if net.version != version:
        raise ValueError(f"{net} is not an IPv{version} prefix")
    return net


def _intervals(version: int, cidrs: Iterable[str | Network]) -> list[Interval]:
    """Sorted, merged intervals covering the CIDRs (overlapping/adjacent joined)."""
    spans = sorted((int(n.network_address), int(n.broadcast_address))
                   for n in (_network(version, c) for c in cidrs))
    merged: list[Interval] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _subtract(base: list[Interval], holes: list[Interval]) -> list[Interval]:
    """base minus holes; both sorted and merged."""
    out: list[Interval] = []
    i = 0
    for first, last in base:
        cursor = first
        while i < len(holes) and holes[i][1] < cursor:
            i += 1
        j = i
        while j < len(holes) and holes[j][0] <= last:
            h_first, h_last = holes[j]
            if h_first > cursor:
                out.append((cursor, h_first - 1))
            cursor = max(cursor, h_last + 1)
            if h_last > last:
                break
            j += 1
        if cursor <= last:
            out.append((cursor, last))
    return out


def _to_cidrs(version: int, intervals: list[Interval]) -> list[Network]:
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    cidrs: list[Network] = []
    for first, last in intervals:
        cidrs.extend(ipaddress.summarize_address_range(cls(first), cls(last)))
    return cidrs


def summarize(version: int, prefixes: Iterable[str | Network]) -> list[str]:
    """The fewest CIDRs covering exactly the given prefixes, in address order
    (overlaps removed, adjacent blocks merged: 10.0.0.0/25 + 10.0.0.128/25 ->
    10.0.0.0/24), as upstream shows a pool's prefixes."""
    return [str(n) for n in _to_cidrs(version, _intervals(version, prefixes))]


def free_blocks(version: int, prefixes: Iterable[str | Network],
                allocated: Iterable[str | Network]) -> list[Network]:
    """The pool's unallocated space as maximal aligned CIDRs, in address order."""
    return _to_cidrs(version, _subtract(_intervals(version, prefixes),
                                        _intervals(version, allocated)))


def first_free(version: int, prefixes: Iterable[str | Network],
               allocated: Iterable[str | Network], prefixlen: int) -> Network | None:
    """The prefix of length ``prefixlen`` to allocate next, or None when none fits.

    Best fit, as upstream: the smallest free block that can hold it (the lowest
    address among equally small ones), and the first prefix inside that block. Using
    small holes first keeps large blocks whole for large requests.
    """
    fitting = [b for b in free_blocks(version, prefixes, allocated)
               if b.prefixlen <= prefixlen]
    if not fitting:
        return None
    best = min(fitting, key=lambda b: (-b.prefixlen, int(b.network_address)))
    return next(best.subnets(new_prefix=prefixlen))


def is_free(version: int, prefixes: Iterable[str | Network],
            allocated: Iterable[str | Network], cidr: str | Network) -> bool:
    """True when ``cidr`` lies wholly inside the pool's unallocated space."""
    net = _network(version, cidr)
    first, last = int(net.network_address), int(net.broadcast_address)
    return any(a <= first and last <= b
               for a, b in _subtract(_intervals(version, prefixes),
                                     _intervals(version, allocated)))


def overlaps(version: int, a: Iterable[str | Network], b: Iterable[str | Network]) -> bool:
    """True when the two sets of prefixes share any address."""
    left, right = _intervals(version, a), _intervals(version, b)
    return _subtract(left, right) != left


def covers(version: int, outer: Iterable[str | Network],
           inner: Iterable[str | Network]) -> bool:
    """True when every address of ``inner`` is in ``outer``."""
    return not _subtract(_intervals(version, inner), _intervals(version, outer))


def quota_units(version: int, prefixlen: int) -> Fraction:
    """What a prefix of this length counts against a pool's default_quota: addresses
    for IPv4, /64s for IPv6 (a /65 is half a unit, as upstream computes it)."""
    return Fraction(2) ** (QUOTA_UNIT_PREFIXLEN[version] - prefixlen)
