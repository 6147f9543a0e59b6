"""Prefix arithmetic of subnet pools, checked against a model that enumerates every
address of a small space (10.0.0.0/24 and 2001:db8::/120)."""

from __future__ import annotations

import ipaddress
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.ipam import prefix_allocation as pa

BASES = {4: ipaddress.ip_network("10.0.0.0/24"), 6: ipaddress.ip_network("2001:db8::/120")}


@st.composite
def prefixes(draw: st.DrawFn, version: int, max_size: int = 6) -> list[str]:
    """CIDRs inside the version's small base network (lengths /base .. /host)."""
    base = BASES[version]
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        length = draw(st.integers(base.prefixlen, base.max_prefixlen))
        blocks = 2 ** (length - base.prefixlen)
        index = draw(st.integers(0, blocks - 1))
        size = 2 ** (base.max_prefixlen - length)
        address = int(base.network_address) + index * size
        out.append(str(ipaddress.ip_network((address, length))))
    return out


def addresses(cidrs: list[str] | list) -> set[int]:
    out: set[int] = set()
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr)
        out.update(range(int(net.network_address), int(net.broadcast_address) + 1))
    return out


versions = st.sampled_from([4, 6])


@settings(max_examples=300)
@given(st.data())
def test_summarize_is_exact_minimal_and_ordered(data: st.DataObject) -> None:
    version = data.draw(versions)
    given_prefixes = data.draw(prefixes(version))
    summary = pa.summarize(version, given_prefixes)
    assert addresses(summary) == addresses(given_prefixes)
    nets = [ipaddress.ip_network(c) for c in summary]
    assert nets == sorted(nets)
    # Minimal: collapsing (merging overlaps and mergeable neighbours) changes nothing.
    assert list(ipaddress.collapse_addresses(nets)) == nets


@settings(max_examples=300)
@given(st.data())
def test_free_blocks_is_the_set_difference(data: st.DataObject) -> None:
    version = data.draw(versions)
    pool, taken = data.draw(prefixes(version)), data.draw(prefixes(version))
    free = pa.free_blocks(version, pool, taken)
    assert addresses([str(b) for b in free]) == addresses(pool) - addresses(taken)
    assert all(b.version == version for b in free)


@settings(max_examples=400)
@given(st.data())
def test_first_free_is_free_aligned_and_best_fit(data: st.DataObject) -> None:
    version = data.draw(versions)
    base = BASES[version]
    pool, taken = data.draw(prefixes(version)), data.draw(prefixes(version))
    length = data.draw(st.integers(base.prefixlen, base.max_prefixlen))
    found = pa.first_free(version, pool, taken, length)
    free = addresses(pool) - addresses(taken)
    candidates = [n for n in base.subnets(new_prefix=length)
                  if addresses([str(n)]) <= free]
    if not candidates:
        assert found is None
        return
    assert found is not None and found.prefixlen == length
    assert found in candidates
    assert pa.is_free(version, pool, taken, found)
    # Best fit: no candidate lies in a strictly smaller free block than the chosen one.
    blocks = pa.free_blocks(version, pool, taken)
    home = next(b for b in blocks if found.subnet_of(b))
    assert all(next(b for b in blocks if c.subnet_of(b)).prefixlen <= home.prefixlen
               for c in candidates)


@settings(max_examples=300)
@given(st.data())
def test_is_free_overlaps_and_covers_match_the_model(data: st.DataObject) -> None:
    version = data.draw(versions)
    pool, taken = data.draw(prefixes(version)), data.draw(prefixes(version))
    cidr = data.draw(prefixes(version, max_size=1).filter(bool))[0]
    free = addresses(pool) - addresses(taken)
    assert pa.is_free(version, pool, taken, cidr) == (addresses([cidr]) <= free)
    assert pa.overlaps(version, pool, taken) == bool(addresses(pool) & addresses(taken))
    assert pa.covers(version, pool, taken) == (addresses(taken) <= addresses(pool))


def test_examples() -> None:
    assert pa.summarize(4, ["10.0.0.0/25", "10.0.0.128/25", "10.0.0.64/26"]) == \
        ["10.0.0.0/24"]
    assert pa.summarize(6, ["2001:db8:1::/48", "2001:db8::/48"]) == ["2001:db8::/47"]
    # The hole of a /28 is used before a fresh /24 is broken up.
    taken = ["10.0.0.0/24", "10.0.1.0/28", "10.0.1.32/27"]
    assert str(pa.first_free(4, ["10.0.0.0/22"], taken, 28)) == "10.0.1.16/28"
    assert str(pa.first_free(4, ["10.0.0.0/22"], taken, 24)) == "10.0.2.0/24"
    assert pa.first_free(4, ["10.0.0.0/22"], taken, 22) is None
    assert pa.first_free(4, [], [], 24) is None


def test_wrong_version_is_refused() -> None:
    with pytest.raises(ValueError):
        pa.summarize(4, ["2001:db8::/64"])


def test_quota_units() -> None:
    assert pa.quota_units(4, 24) == 256
    assert pa.quota_units(4, 32) == 1
    assert pa.quota_units(6, 64) == 1
    assert pa.quota_units(6, 56) == 256
    assert pa.quota_units(6, 65) == Fraction(1, 2)
