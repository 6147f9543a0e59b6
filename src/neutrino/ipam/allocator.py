"""Choosing IP addresses to offer from a subnet's allocation pools.

The DB layer tries the candidates in order, inserting each under a unique
constraint and moving on when another request won the race; so this module only
has to propose good (random, distinct, in-pool) addresses, never to lock anything.
Pools are handled as integer ranges so a /64 costs the same as a /29.
"""

from __future__ import annotations

import bisect
import ipaddress
import random
import sys
from collections.abc import Iterator

from neutrino.exceptions import InvalidInput
from neutrino.ipam._ip import (
    IntRange,
    Network,
    as_network,
    ip_str,
    merge_ranges,
    parse_ip,
    pools_to_ranges,
)
from neutrino.ipam.mac import parse_mac

__all__ = ["eui64_address", "free_addresses", "random_candidates"]


def _size(rng: IntRange) -> int:
    return rng[2] - rng[1] + 1


def _sample_indices(total: int, count: int, rng: random.Random) -> list[int]:
    """``count`` distinct indices in [0, total), with count < total."""
    # random.sample needs len(range(total)), which overflows past sys.maxsize (any
    # IPv6 /64). There count << total, so rejection sampling almost never repeats.
    if total <= sys.maxsize:
        return rng.sample(range(total), count)
    picked: dict[int, None] = {}  # dict keeps draw order, so results are reproducible
    while len(picked) < count:
        picked[rng.randrange(total)] = None
    return list(picked)


def random_candidates(pools: list[tuple[str, str]], count: int, rng: random.Random) -> list[str]:
    """Up to ``count`` distinct addresses drawn uniformly from all pools.

    Uniform over addresses, not pools, so a big pool gets proportionally more
    picks. When the pools hold no more than ``count`` addresses, all of them are
    returned, shuffled.
    """
    ranges = merge_ranges(pools_to_ranges(pools))
    # Offsets of each range's first address in one virtual concatenation.
    starts: list[int] = []
    total = 0
    for r in ranges:
        starts.append(total)
        total += _size(r)
    if count <= 0 or total == 0:
        return []
    if total <= count:
        indices = list(range(total))
        rng.shuffle(indices)
    else:
        indices = _sample_indices(total, count, rng)
    result = []
    for index in indices:
        i = bisect.bisect_right(starts, index) - 1
        version, first, _ = ranges[i]
        result.append(ip_str(version, first + index - starts[i]))
    return result


def _iter_free(ranges: list[IntRange], used: set[tuple[int, int]]) -> Iterator[str]:
    for version, first, last in ranges:
        for value in range(first, last + 1):
            if (version, value) not in used:
                yield ip_str(version, value)


def free_addresses(
    pools: list[tuple[str, str]], used: set[str], limit: int | None = None
) -> list[str]:
    """Addresses in the pools, ascending, that are not in ``used``; at most ``limit``.

    Meant for nearly-full subnets where random probing keeps colliding. Ranges are
    walked lazily, but without a ``limit`` a huge IPv6 pool would be enumerated in
    full, so callers should always pass one for IPv6.
    """
    # Compare parsed values so '2001:DB8::1' in ``used`` matches '2001:db8::1'.
    used_values: set[tuple[int, int]] = {
        (ip.version, int(ip)) for ip in map(parse_ip, used) if ip is not None
    }
    ranges = merge_ranges(pools_to_ranges(pools))
    result: list[str] = []
    if limit is not None and limit <= 0:
        return result
    for address in _iter_free(ranges, used_values):
        result.append(address)
        if limit is not None and len(result) >= limit:
            break
    return result


def eui64_address(net: Network | str, mac: str) -> str:
    """SLAAC address for ``mac`` in an IPv6 prefix of length 64 or shorter.

    The interface id is the modified EUI-64 of the MAC (RFC 4291 appendix A): the
    universal/local bit is inverted and ff:fe inserted in the middle.
    """
    network = as_network(net)
    if not isinstance(network, ipaddress.IPv6Network) or network.prefixlen > 64:
        raise InvalidInput(f"Unable to generate IP address by EUI64 for {net} prefix")
    octets = parse_mac(mac)
    if octets is None:
        raise InvalidInput(f"'{mac}' is not a valid MAC address")
    iid = bytes([octets[0] ^ 0x02, *octets[1:3], 0xFF, 0xFE, *octets[3:]])
    return str(network.network_address + int.from_bytes(iid, "big"))
