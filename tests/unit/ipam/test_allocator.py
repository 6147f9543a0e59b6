"""Unit tests for neutrino.ipam.allocator."""

from __future__ import annotations

import collections
import ipaddress
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.exceptions import InvalidInput
from neutrino.ipam import allocator as al
from neutrino.ipam.subnet_math import ip_in_pools, pools_size

V6_64 = [("2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff")]


# -- random_candidates -------------------------------------------------------------


def test_random_candidates_small_pool_returns_all_shuffled() -> None:
    pools = [("10.0.0.2", "10.0.0.4"), ("10.0.0.10", "10.0.0.11")]
    got = al.random_candidates(pools, 10, random.Random(0))
    assert sorted(got, key=ipaddress.ip_address) == [
        "10.0.0.2",
        "10.0.0.3",
        "10.0.0.4",
        "10.0.0.10",
        "10.0.0.11",
    ]


def test_random_candidates_exact_size() -> None:
    pools = [("10.0.0.2", "10.0.0.6")]
    assert len(al.random_candidates(pools, 5, random.Random(0))) == 5


def test_random_candidates_shuffles() -> None:
    pools = [("10.0.0.1", "10.0.0.254")]
    orders = {tuple(al.random_candidates(pools, 300, random.Random(seed))) for seed in range(5)}
    assert len(orders) > 1


@pytest.mark.parametrize("count", [0, -1])
def test_random_candidates_nothing_requested(count: int) -> None:
    assert al.random_candidates([("10.0.0.2", "10.0.0.9")], count, random.Random(0)) == []


def test_random_candidates_no_pools() -> None:
    assert al.random_candidates([], 5, random.Random(0)) == []


def test_random_candidates_deterministic_for_seed() -> None:
    pools = [("10.0.0.2", "10.0.255.254")]
    assert al.random_candidates(pools, 8, random.Random(42)) == al.random_candidates(
        pools, 8, random.Random(42)
    )
    v6 = al.random_candidates(V6_64, 8, random.Random(42))
    assert v6 == al.random_candidates(V6_64, 8, random.Random(42))


def test_random_candidates_huge_ipv6_pool() -> None:
    got = al.random_candidates(V6_64, 20, random.Random(1))
    assert len(set(got)) == 20
    assert all(ip_in_pools(ip, V6_64) for ip in got)
    # Uniform over 2**64 addresses: essentially never in the first 2**32.
    assert all(int(ipaddress.ip_address(ip)) & 0xFFFF_FFFF_0000_0000 for ip in got)


def test_random_candidates_whole_ipv6_space() -> None:
    pools = [("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
    got = al.random_candidates(pools, 5, random.Random(3))
    assert len(set(got)) == 5


def test_random_candidates_weighted_by_pool_size() -> None:
    small = ("10.0.0.1", "10.0.0.10")  # 10 addresses
    big = ("10.0.1.0", "10.0.1.89")  # 90 addresses
    counts: collections.Counter[str] = collections.Counter()
    rng = random.Random(7)
    for _ in range(2000):
        (ip,) = al.random_candidates([small, big], 1, rng)
        counts["small" if ip_in_pools(ip, [small]) else "big"] += 1
    # Expected 10% small; allow generous slack against flakiness (seeded anyway).
    assert 120 < counts["small"] < 280


def test_random_candidates_merges_overlapping_pools() -> None:
    pools = [("10.0.0.1", "10.0.0.5"), ("10.0.0.3", "10.0.0.8")]
    got = al.random_candidates(pools, 20, random.Random(0))
    assert len(got) == len(set(got)) == 8


def test_random_candidates_ignores_garbage_pools() -> None:
    pools = [("junk", "10.0.0.5"), ("10.0.0.9", "10.0.0.2"), ("10.0.0.1", "::5")]
    assert al.random_candidates(pools, 5, random.Random(0)) == []


pool_lists = st.lists(
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 4096)).map(
        lambda t: (
            str(ipaddress.IPv4Address(t[0])),
            str(ipaddress.IPv4Address(min(t[0] + t[1], 2**32 - 1))),
        )
    ),
    max_size=5,
)


@given(pool_lists, st.integers(0, 64), st.integers(0, 2**32))
def test_random_candidates_properties(pools: list[tuple[str, str]], count: int, seed: int) -> None:
    got = al.random_candidates(pools, count, random.Random(seed))
    assert len(got) == len(set(got))
    assert len(got) == min(count, pools_size(pools))
    assert all(ip_in_pools(ip, pools) for ip in got)


@given(st.integers(0, 2**128 - 2**70), st.integers(1, 2**70), st.integers(1, 16), st.integers())
def test_random_candidates_properties_v6(start: int, span: int, count: int, seed: int) -> None:
    pools = [(str(ipaddress.IPv6Address(start)), str(ipaddress.IPv6Address(start + span - 1)))]
    got = al.random_candidates(pools, count, random.Random(seed))
    assert len(got) == len(set(got)) == min(count, span)
    assert all(ip_in_pools(ip, pools) for ip in got)


# -- free_addresses ----------------------------------------------------------------


def test_free_addresses_all_and_order() -> None:
    pools = [("10.0.0.10", "10.0.0.12"), ("10.0.0.2", "10.0.0.3")]
    assert al.free_addresses(pools, set()) == [
        "10.0.0.2",
        "10.0.0.3",
        "10.0.0.10",
        "10.0.0.11",
        "10.0.0.12",
    ]


def test_free_addresses_skips_used_and_limits() -> None:
    pools = [("10.0.0.2", "10.0.0.10")]
    used = {"10.0.0.2", "10.0.0.4", "10.0.0.5", "192.168.0.1", "junk"}
    assert al.free_addresses(pools, used) == [
        "10.0.0.3",
        "10.0.0.6",
        "10.0.0.7",
        "10.0.0.8",
        "10.0.0.9",
        "10.0.0.10",
    ]
    assert al.free_addresses(pools, used, limit=2) == ["10.0.0.3", "10.0.0.6"]
    assert al.free_addresses(pools, used, limit=0) == []


def test_free_addresses_full() -> None:
    pools = [("10.0.0.2", "10.0.0.4")]
    assert al.free_addresses(pools, {"10.0.0.2", "10.0.0.3", "10.0.0.4"}) == []


def test_free_addresses_v6_normalizes_used_and_is_lazy() -> None:
    used = {"2001:DB8::2", "2001:db8:0::3"}
    assert al.free_addresses(V6_64, used, limit=3) == ["2001:db8::4", "2001:db8::5", "2001:db8::6"]


def test_free_addresses_family_does_not_collide() -> None:
    # '::a' and '0.0.0.10' share the integer 10 but are different addresses.
    assert al.free_addresses([("0.0.0.10", "0.0.0.10")], {"::a"}) == ["0.0.0.10"]


@given(pool_lists.filter(lambda p: pools_size(p) < 20000), st.data())
def test_free_addresses_properties(pools: list[tuple[str, str]], data: st.DataObject) -> None:
    every = al.free_addresses(pools, set())
    assert len(every) == pools_size(pools)
    used = set(data.draw(st.lists(st.sampled_from(every), max_size=20))) if every else set()
    free = al.free_addresses(pools, used)
    assert set(free) == set(every) - used
    assert len(free) == len(set(free))


# -- eui64_address -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("net", "mac", "expected"),
    [
        ("2001:db8::/64", "00:16:3e:33:44:55", "2001:db8::216:3eff:fe33:4455"),
        ("2001:db8::/64", "fa:16:3e:00:00:01", "2001:db8::f816:3eff:fe00:1"),
        ("2001:db8::/64", "FA-16-3E-00-00-01", "2001:db8::f816:3eff:fe00:1"),
        ("2001:db8::/48", "02:00:00:00:00:00", "2001:db8::ff:fe00:0"),
        ("fe80::/64", "52:54:00:12:34:56", "fe80::5054:ff:fe12:3456"),
        ("::/0", "00:00:00:00:00:00", "::200:ff:fe00:0"),
    ],
)
def test_eui64_address(net: str, mac: str, expected: str) -> None:
    assert al.eui64_address(net, mac) == expected
    assert al.eui64_address(ipaddress.IPv6Network(net), mac) == expected


@pytest.mark.parametrize("net", ["2001:db8::/65", "2001:db8::/128", "10.0.0.0/24"])
def test_eui64_bad_prefix(net: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        al.eui64_address(ipaddress.ip_network(net), "00:16:3e:33:44:55")
    assert exc.value.msg == (
        f"Invalid input for operation: Unable to generate IP address by EUI64 for {net} prefix."
    )


def test_eui64_bad_mac() -> None:
    with pytest.raises(InvalidInput) as exc:
        al.eui64_address("2001:db8::/64", "zz:16:3e:33:44:55")
    assert exc.value.msg == (
        "Invalid input for operation: 'zz:16:3e:33:44:55' is not a valid MAC address."
    )


@given(st.binary(min_size=6, max_size=6), st.integers(0, 2**64 - 1))
def test_eui64_properties(octets: bytes, prefix: int) -> None:
    net = ipaddress.IPv6Network((prefix << 64, 64))
    mac = ":".join(f"{b:02x}" for b in octets)
    ip = ipaddress.IPv6Address(al.eui64_address(net, mac))
    assert ip in net
    iid = (int(ip) & (2**64 - 1)).to_bytes(8, "big")
    assert iid[3:5] == b"\xff\xfe"
    assert bytes([iid[0] ^ 0x02, *iid[1:3], *iid[5:]]) == octets
