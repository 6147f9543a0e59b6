"""Small shared helpers over stdlib ``ipaddress``: parsing and integer ranges."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# An inclusive range of addresses as integers, tagged with its IP version so that
# integers from different families are never compared with each other.
IntRange = tuple[int, int, int]  # (version, first, last)


def parse_ip(value: object) -> IPAddress | None:
    """Parse an IP address string; None if it is not one.

    Only strings are accepted: ``ipaddress`` would happily turn ints and bytes into
    addresses, which an API must not. Scoped IPv6 text ('fe80::1%eth0') is rejected
    because a scope is meaningless in a subnet or allocation.
    """
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def as_network(net: Network | str) -> Network:
    """Accept a network object or its canonical text."""
    if isinstance(net, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return net
    return ipaddress.ip_network(net)


def to_ip(version: int, value: int) -> IPAddress:
    if version == 4:
        return ipaddress.IPv4Address(value)
    return ipaddress.IPv6Address(value)


def ip_str(version: int, value: int) -> str:
    return str(to_ip(version, value))


def pools_to_ranges(pools: Iterable[tuple[str, str]]) -> list[IntRange]:
    """Convert (start, end) pools to integer ranges, dropping unparseable ones.

    Callers pass pools that were already validated; dropping rather than raising
    keeps the allocator total (a bad pool simply offers no addresses).
    """
    ranges: list[IntRange] = []
    for start, end in pools:
        first, last = parse_ip(start), parse_ip(end)
        if first is None or last is None or first.version != last.version:
            continue
        if int(first) <= int(last):
            ranges.append((first.version, int(first), int(last)))
    return ranges


def merge_ranges(ranges: Iterable[IntRange]) -> list[IntRange]:
    """Sort and merge overlapping/touching ranges so every address appears once."""
    merged: list[IntRange] = []
    for version, first, last in sorted(ranges):
        if merged:
            p_version, p_first, p_last = merged[-1]
            if p_version == version and first <= p_last + 1:
                merged[-1] = (version, p_first, max(p_last, last))
                continue
        merged.append((version, first, last))
    return merged
