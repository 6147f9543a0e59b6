"""Unit tests for neutrino.ipam.subnet_math."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.exceptions import (
    DNSNameServersExhausted,
    GatewayConflictWithAllocationPools,
    HostRoutesExhausted,
    HTTPBadRequest,
    InvalidAllocationPool,
    InvalidInput,
    OutOfBoundsAllocationPool,
    OverlappingAllocationPools,
)
from neutrino.ipam import subnet_math as sm

N4 = ipaddress.IPv4Network
N6 = ipaddress.IPv6Network


def pool(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


# -- parse_cidr ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "10.0.0.0/24",
        "0.0.0.0/0",
        "10.0.0.1/32",
        "10.0.0.0/31",
        "2001:db8::/64",
        "::/0",
        "2001:db8::1/128",
        "2001:DB8::/64",
        "2001:db8:0:0::/64",
        "fe80::/10",
    ],
)
def test_parse_cidr_accepts(text: str) -> None:
    net = sm.parse_cidr(text)
    assert net == ipaddress.ip_network(text)


def test_parse_cidr_returns_network_types() -> None:
    assert isinstance(sm.parse_cidr("10.0.0.0/8"), N4)
    assert isinstance(sm.parse_cidr("2001:db8::/32"), N6)


@pytest.mark.parametrize(
    "value",
    [
        "10.0.0.300/24",
        "10.1.0.0/33",
        "abc",
        "",
        "10.0.0.0/",
        "/24",
        "2001:db8::/129",
        " 10.0.0.0/24",
        "10.0.0.0/24 ",
        "010.0.0.0/24",
        "10.0.0/24",
        "fe80::%eth0/64",
        "10.0.0.0/24/24",
        "10.0.0.0/-1",
    ],
)
def test_parse_cidr_rejects_bad_text(value: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        sm.parse_cidr(value)
    assert exc.value.msg == f"Invalid input for operation: {value} is not in a CIDR format."
    assert exc.value.status == 400


@pytest.mark.parametrize("value", [None, 10, 10.5, ["10.0.0.0/24"], {"cidr": "x"}, b"10.0.0.0/8"])
def test_parse_cidr_rejects_non_strings(value: object) -> None:
    with pytest.raises(InvalidInput) as exc:
        sm.parse_cidr(value)
    assert exc.value.msg == f"Invalid input for operation: {value} is not in a CIDR format."


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("10.0.0.5/24", "10.0.0.0/24"),
        ("10.0.0.1/0", "0.0.0.0/0"),
        ("10.0.0.0/255.255.255.0", "10.0.0.0/24"),
        ("10.0.0.0/024", "10.0.0.0/24"),
        ("10.0.0.1", "10.0.0.1/32"),
        ("2001:db8::1/64", "2001:db8::/64"),
        ("2001:db8::1", "2001:db8::1/128"),
    ],
)
def test_parse_cidr_non_canonical(value: str, normalized: str) -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.parse_cidr(value)
    assert exc.value.msg == (
        f"Invalid input for cidr. Reason: '{value}' isn't a recognized IP subnet cidr, "
        f"'{normalized}' is recommended."
    )
    assert exc.value.type == "HTTPBadRequest"


def test_parse_cidr_ip_version_match() -> None:
    assert sm.parse_cidr("10.0.0.0/24", 4) == N4("10.0.0.0/24")
    assert sm.parse_cidr("2001:db8::/64", 6) == N6("2001:db8::/64")


@pytest.mark.parametrize(("value", "version"), [("10.0.0.0/24", 6), ("2001:db8::/64", 4)])
def test_parse_cidr_ip_version_mismatch(value: str, version: int) -> None:
    with pytest.raises(InvalidInput) as exc:
        sm.parse_cidr(value, version)
    assert exc.value.msg == (
        f"Invalid input for operation: cidr '{value}' does not match the ip_version "
        f"'{version}'."
    )


def test_parse_cidr_format_error_wins_over_version() -> None:
    with pytest.raises(HTTPBadRequest):
        sm.parse_cidr("10.0.0.5/24", 6)


@given(st.ip_addresses(), st.integers(0, 128))
def test_parse_cidr_roundtrips_canonical_text(addr: object, prefix: int) -> None:
    assert isinstance(addr, ipaddress.IPv4Address | ipaddress.IPv6Address)
    prefix = min(prefix, addr.max_prefixlen)
    net = ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
    assert sm.parse_cidr(str(net), net.version) == net


# -- cidrs_overlap ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("10.0.0.0/24", "10.0.0.0/24", True),
        ("10.0.0.0/8", "10.1.0.0/16", True),
        ("10.1.0.0/16", "10.0.0.0/8", True),
        ("10.0.0.0/24", "10.0.1.0/24", False),
        ("10.0.0.0/25", "10.0.0.128/25", False),
        ("0.0.0.0/0", "192.168.1.1/32", True),
        ("2001:db8::/64", "2001:db8::/48", True),
        ("2001:db8::/64", "2001:db8:0:1::/64", False),
        ("10.0.0.0/8", "::/0", False),
        ("::/0", "0.0.0.0/0", False),
    ],
)
def test_cidrs_overlap(a: str, b: str, expected: bool) -> None:
    assert sm.cidrs_overlap(a, b) is expected
    assert sm.cidrs_overlap(ipaddress.ip_network(a), ipaddress.ip_network(b)) is expected


# -- default_gateway ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "gateway"),
    [
        ("10.0.0.0/24", "10.0.0.1"),
        ("10.0.0.0/30", "10.0.0.1"),
        ("10.0.0.0/31", None),
        ("10.0.0.7/32", None),
        ("0.0.0.0/0", "0.0.0.1"),
        ("2001:db8::/64", "2001:db8::1"),
        ("2001:db8::/127", "2001:db8::1"),
        ("2001:db8::1/128", None),
    ],
)
def test_default_gateway(cidr: str, gateway: str | None) -> None:
    assert sm.default_gateway(ipaddress.ip_network(cidr)) == gateway
    assert sm.default_gateway(cidr) == gateway


# -- validate_gateway --------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "gateway", "expected"),
    [
        ("10.0.0.0/24", "10.0.0.1", "10.0.0.1"),
        ("10.0.0.0/24", "10.0.0.254", "10.0.0.254"),
        ("10.0.0.0/24", "10.0.0.100", "10.0.0.100"),
        ("10.0.0.0/24", "192.168.0.1", "192.168.0.1"),  # off-link gateway is allowed
        ("10.0.0.0/24", "10.0.1.0", "10.0.1.0"),
        ("10.0.0.0/30", "10.0.0.2", "10.0.0.2"),
        ("10.0.0.0/32", "10.0.0.1", "10.0.0.1"),
        ("2001:db8::/64", "2001:DB8:0::1", "2001:db8::1"),
        ("2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8::ffff:ffff:ffff:ffff"),
        ("2001:db8::/64", "fe80::1", "fe80::1"),
        ("2001:db8::/127", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_validate_gateway_ok(cidr: str, gateway: str, expected: str) -> None:
    assert sm.validate_gateway(ipaddress.ip_network(cidr), gateway) == expected


@pytest.mark.parametrize("gateway", ["abc", "10.0.0.256", "", "10.0.0.1/24", "fe80::1%eth0"])
def test_validate_gateway_not_an_ip(gateway: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        sm.validate_gateway(N4("10.0.0.0/24"), gateway)
    assert exc.value.msg == (f"Invalid input for operation: '{gateway}' is not a valid IP address.")


@pytest.mark.parametrize("gateway", [None, 167772161])
def test_validate_gateway_non_string(gateway: object) -> None:
    with pytest.raises(InvalidInput):
        sm.validate_gateway(N4("10.0.0.0/24"), gateway)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cidr", "gateway"), [("10.0.0.0/24", "2001:db8::1"), ("2001:db8::/64", "10.0.0.1")]
)
def test_validate_gateway_wrong_family(cidr: str, gateway: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        sm.validate_gateway(ipaddress.ip_network(cidr), gateway)
    version = ipaddress.ip_network(cidr).version
    assert exc.value.msg == (
        f"Invalid input for operation: gateway_ip '{gateway}' does not match the "
        f"ip_version '{version}'."
    )


@pytest.mark.parametrize(
    ("cidr", "gateway"),
    [
        ("10.0.0.0/24", "10.0.0.0"),
        ("10.0.0.0/24", "10.0.0.255"),
        ("10.0.0.0/31", "10.0.0.0"),
        ("10.0.0.0/31", "10.0.0.1"),
        ("10.0.0.1/32", "10.0.0.1"),
        ("2001:db8::/64", "2001:db8::"),
        ("2001:db8::1/128", "2001:db8::1"),
    ],
)
def test_validate_gateway_reserved(cidr: str, gateway: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        sm.validate_gateway(ipaddress.ip_network(cidr), gateway)
    assert exc.value.msg == "Invalid input for operation: Gateway is not valid on subnet."


# -- usable_bounds / default_allocation_pools ------------------------------------


@pytest.mark.parametrize(
    ("cidr", "gateway", "pools"),
    [
        ("10.0.0.0/24", "10.0.0.1", [("10.0.0.2", "10.0.0.254")]),
        ("10.0.0.0/24", "10.0.0.254", [("10.0.0.1", "10.0.0.253")]),
        ("10.0.0.0/24", "10.0.0.100", [("10.0.0.1", "10.0.0.99"), ("10.0.0.101", "10.0.0.254")]),
        ("10.0.0.0/24", None, [("10.0.0.1", "10.0.0.254")]),
        ("10.0.0.0/24", "192.168.0.1", [("10.0.0.1", "10.0.0.254")]),
        ("10.0.0.0/24", "10.0.0.0", [("10.0.0.1", "10.0.0.254")]),
        ("10.0.0.0/24", "2001:db8::1", [("10.0.0.1", "10.0.0.254")]),
        ("10.0.0.0/24", "junk", [("10.0.0.1", "10.0.0.254")]),
        ("10.0.0.0/30", "10.0.0.1", [("10.0.0.2", "10.0.0.2")]),
        ("10.0.0.0/30", None, [("10.0.0.1", "10.0.0.2")]),
        ("10.0.0.0/31", None, [("10.0.0.0", "10.0.0.1")]),
        ("10.0.0.0/31", "10.0.0.0", [("10.0.0.1", "10.0.0.1")]),
        ("10.0.0.4/32", None, [("10.0.0.4", "10.0.0.4")]),
        ("10.0.0.4/32", "10.0.0.4", []),
        ("10.0.0.0/29", "10.0.0.1", [("10.0.0.2", "10.0.0.6")]),
        ("2001:db8::/64", "2001:db8::1", [("2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff")]),
        ("2001:db8::/64", None, [("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")]),
        (
            "2001:db8::/64",
            "2001:db8::ffff:ffff:ffff:ffff",
            [("2001:db8::1", "2001:db8::ffff:ffff:ffff:fffe")],
        ),
        (
            "2001:db8::/64",
            "2001:db8::8000:0:0:0",
            [
                ("2001:db8::1", "2001:db8::7fff:ffff:ffff:ffff"),
                ("2001:db8::8000:0:0:1", "2001:db8::ffff:ffff:ffff:ffff"),
            ],
        ),
        ("2001:db8::/127", "2001:db8::1", []),
        ("2001:db8::/127", None, [("2001:db8::1", "2001:db8::1")]),
        ("2001:db8::/126", "2001:db8::1", [("2001:db8::2", "2001:db8::3")]),
        ("2001:db8::5/128", None, [("2001:db8::5", "2001:db8::5")]),
    ],
)
def test_default_allocation_pools(
    cidr: str, gateway: str | None, pools: list[tuple[str, str]]
) -> None:
    assert sm.default_allocation_pools(ipaddress.ip_network(cidr), gateway) == pools


def test_default_pools_with_default_gateway_v4() -> None:
    net = N4("192.168.0.0/16")
    pools = sm.default_allocation_pools(net, sm.default_gateway(net))
    assert pools == [("192.168.0.2", "192.168.255.254")]
    assert sm.pools_size(pools) == 2**16 - 3


networks = st.one_of(
    st.builds(
        lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
        st.integers(0, 2**32 - 1),
        st.integers(0, 32),
    ),
    st.builds(
        lambda a, p: ipaddress.IPv6Network((a, p), strict=False),
        st.integers(0, 2**128 - 1),
        st.integers(0, 128),
    ),
)


@st.composite
def net_and_gateway(draw: st.DrawFn) -> tuple[sm.Network, str | None]:
    net = draw(networks)
    kind = draw(st.sampled_from(["none", "default", "inside", "outside"]))
    if kind == "none":
        return net, None
    if kind == "default":
        return net, sm.default_gateway(net)
    if kind == "inside":
        offset = draw(st.integers(0, net.num_addresses - 1))
        return net, str(net.network_address + offset)
    other = draw(st.integers(0, 2**net.max_prefixlen - 1))
    return net, str(type(net.network_address)(other))


@given(net_and_gateway())
def test_default_pools_properties(case: tuple[sm.Network, str | None]) -> None:
    net, gateway = case
    pools = sm.default_allocation_pools(net, gateway)
    size = sm.pools_size(pools)
    usable = net.num_addresses
    if net.version == 4 and net.prefixlen < 31:
        usable -= 2
        assert not sm.ip_in_pools(str(net.broadcast_address), pools)
    elif net.version == 6 and net.prefixlen < 128:
        usable -= 1
    if net.num_addresses > 2 or (net.version == 6 and net.prefixlen < 128):
        assert not sm.ip_in_pools(str(net.network_address), pools)
    if gateway is not None:
        assert not sm.ip_in_pools(gateway, pools)
        lo, hi = sm.usable_bounds(net)
        if lo <= int(ipaddress.ip_address(gateway)) <= hi:
            usable -= 1
    assert size == usable
    assert 0 <= len(pools) <= 2
    assert pools == sorted(pools, key=lambda p: int(ipaddress.ip_address(p[0])))
    for start, end in pools:
        assert ipaddress.ip_address(start) in net
        assert ipaddress.ip_address(end) in net
    # Default pools must always pass our own validation (gateway is only checked
    # against pools, so any gateway that validates is fine).
    if gateway is None or gateway == sm.default_gateway(net):
        assert sm.validate_allocation_pools(net, gateway, [pool(*p) for p in pools]) == pools


# -- validate_allocation_pools -----------------------------------------------------

NET = N4("10.0.0.0/24")
NET6 = N6("2001:db8::/64")


def test_validate_pools_ok_sorted_and_normalized() -> None:
    pools = [pool("10.0.0.100", "10.0.0.200"), pool("10.0.0.2", "10.0.0.50")]
    assert sm.validate_allocation_pools(NET, "10.0.0.1", pools) == [
        ("10.0.0.2", "10.0.0.50"),
        ("10.0.0.100", "10.0.0.200"),
    ]


def test_validate_pools_v6_normalized() -> None:
    pools = [pool("2001:DB8::10", "2001:db8:0::20")]
    assert sm.validate_allocation_pools(NET6, "2001:db8::1", pools) == [
        ("2001:db8::10", "2001:db8::20")
    ]


@pytest.mark.parametrize(
    ("net", "pools"),
    [
        (NET, [pool("10.0.0.2", "10.0.0.2")]),  # single address
        (NET, [pool("10.0.0.2", "10.0.0.9"), pool("10.0.0.10", "10.0.0.20")]),  # touching
        (NET, [pool("10.0.0.1", "10.0.0.254")]),  # whole usable range, no gateway
        (N4("10.0.0.0/31"), [pool("10.0.0.0", "10.0.0.1")]),
        (N4("10.0.0.3/32"), [pool("10.0.0.3", "10.0.0.3")]),
        (NET6, [pool("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")]),
        (N6("2001:db8::/127"), [pool("2001:db8::1", "2001:db8::1")]),
        (N6("2001:db8::/128"), [pool("2001:db8::", "2001:db8::")]),
        (NET, []),
    ],
)
def test_validate_pools_edges_ok(net: sm.Network, pools: list[dict[str, str]]) -> None:
    result = sm.validate_allocation_pools(net, None, pools)
    assert len(result) == len(pools)


@pytest.mark.parametrize(
    "item",
    [
        "10.0.0.2-10.0.0.5",
        ["10.0.0.2", "10.0.0.5"],
        {"start": "10.0.0.2"},
        {"end": "10.0.0.5"},
        {"start": "10.0.0.2", "end": "10.0.0.5", "extra": 1},
        {"start": "10.0.0.2", "end": "abc"},
        {"start": "10.0.0.2/32", "end": "10.0.0.5"},
        {"start": None, "end": "10.0.0.5"},
        {"start": 167772162, "end": "10.0.0.5"},
        None,
    ],
)
def test_validate_pools_malformed(item: object) -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_allocation_pools(NET, None, [pool("10.0.0.2", "10.0.0.3"), item])  # type: ignore[list-item]
    assert exc.value.msg == (
        f"Invalid input for allocation_pools. Reason: Invalid data format for IP pool: '{item}'."
    )


def test_validate_pools_not_a_list() -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_allocation_pools(NET, None, "10.0.0.2-10.0.0.5")  # type: ignore[arg-type]
    assert "Invalid data format for IP pool: '10.0.0.2-10.0.0.5'" in exc.value.msg


def test_validate_pools_malformed_reported_before_semantic_errors() -> None:
    with pytest.raises(HTTPBadRequest):
        sm.validate_allocation_pools(NET, None, [pool("10.0.0.9", "10.0.0.2"), {"x": 1}])


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("10.0.0.9", "10.0.0.2"),
        ("10.0.0.2", "2001:db8::5"),
        ("2001:db8::5", "2001:db8::9"),  # right shape, wrong family for the subnet
    ],
)
def test_validate_pools_invalid_pool(start: str, end: str) -> None:
    with pytest.raises(InvalidAllocationPool) as exc:
        sm.validate_allocation_pools(NET, None, [pool(start, end)])
    assert exc.value.msg == f"The allocation pool {start}-{end} is not valid."


@pytest.mark.parametrize(
    ("net", "start", "end"),
    [
        (NET, "10.0.0.0", "10.0.0.5"),  # network address
        (NET, "10.0.0.250", "10.0.0.255"),  # broadcast address
        (NET, "10.0.0.200", "10.0.1.5"),
        (NET, "9.255.255.255", "10.0.0.5"),
        (NET, "192.168.0.1", "192.168.0.5"),
        (N4("10.0.0.0/30"), "10.0.0.1", "10.0.0.3"),
        (NET6, "2001:db8::", "2001:db8::5"),  # subnet-router anycast
        (NET6, "2001:db8::5", "2001:db8:0:1::1"),
        (N6("2001:db8::/127"), "2001:db8::", "2001:db8::1"),
    ],
)
def test_validate_pools_out_of_bounds(net: sm.Network, start: str, end: str) -> None:
    with pytest.raises(OutOfBoundsAllocationPool) as exc:
        sm.validate_allocation_pools(net, None, [pool(start, end)])
    assert exc.value.msg == (
        f"The allocation pool {start}-{end} spans beyond the subnet cidr {net}."
    )


@pytest.mark.parametrize(
    ("pools", "first", "second"),
    [
        (
            [pool("10.0.0.2", "10.0.0.10"), pool("10.0.0.10", "10.0.0.20")],
            "10.0.0.2-10.0.0.10",
            "10.0.0.10-10.0.0.20",
        ),
        (
            [pool("10.0.0.50", "10.0.0.60"), pool("10.0.0.2", "10.0.0.100")],
            "10.0.0.2-10.0.0.100",
            "10.0.0.50-10.0.0.60",
        ),
        (
            [pool("10.0.0.5", "10.0.0.5"), pool("10.0.0.5", "10.0.0.5")],
            "10.0.0.5-10.0.0.5",
            "10.0.0.5-10.0.0.5",
        ),
    ],
)
def test_validate_pools_overlap(pools: list[dict[str, str]], first: str, second: str) -> None:
    with pytest.raises(OverlappingAllocationPools) as exc:
        sm.validate_allocation_pools(NET, None, pools)
    assert exc.value.msg == (
        f"Found overlapping allocation pools: {first} {second} for subnet 10.0.0.0/24."
    )
    assert exc.value.status == 409


@pytest.mark.parametrize("gateway", ["10.0.0.2", "10.0.0.20", "10.0.0.10"])
def test_validate_pools_gateway_conflict(gateway: str) -> None:
    with pytest.raises(GatewayConflictWithAllocationPools) as exc:
        sm.validate_allocation_pools(NET, gateway, [pool("10.0.0.2", "10.0.0.20")])
    assert exc.value.msg == (
        f"Gateway ip {gateway} conflicts with allocation pool 10.0.0.2-10.0.0.20."
    )
    assert exc.value.status == 409


def test_validate_pools_gateway_conflict_v6_normalized() -> None:
    with pytest.raises(GatewayConflictWithAllocationPools) as exc:
        sm.validate_allocation_pools(NET6, "2001:DB8::5", [pool("2001:db8::2", "2001:db8::9")])
    assert exc.value.msg == (
        "Gateway ip 2001:db8::5 conflicts with allocation pool 2001:db8::2-2001:db8::9."
    )


@pytest.mark.parametrize("gateway", ["10.0.0.1", "10.0.0.21", "192.168.0.1", None, "::1"])
def test_validate_pools_gateway_outside_ok(gateway: str | None) -> None:
    assert sm.validate_allocation_pools(NET, gateway, [pool("10.0.0.2", "10.0.0.20")]) == [
        ("10.0.0.2", "10.0.0.20")
    ]


@given(st.lists(st.tuples(st.integers(1, 254), st.integers(1, 254)).map(sorted), max_size=6))
def test_validate_pools_matches_brute_force(bounds: list[list[int]]) -> None:
    pools = [pool(f"10.0.0.{a}", f"10.0.0.{b}") for a, b in bounds]
    sets = [set(range(a, b + 1)) for a, b in bounds]
    overlapping = any(sets[i] & sets[j] for i in range(len(sets)) for j in range(i + 1, len(sets)))
    if overlapping:
        with pytest.raises(OverlappingAllocationPools):
            sm.validate_allocation_pools(NET, None, pools)
    else:
        result = sm.validate_allocation_pools(NET, None, pools)
        assert sm.pools_size(result) == sum(len(s) for s in sets)


# -- pools_size / ip_in_pools ------------------------------------------------------


def test_pools_size() -> None:
    assert sm.pools_size([]) == 0
    assert sm.pools_size([("10.0.0.2", "10.0.0.2")]) == 1
    assert sm.pools_size([("10.0.0.2", "10.0.0.254"), ("10.0.1.0", "10.0.1.9")]) == 263
    assert sm.pools_size([("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")]) == 2**64 - 1


def test_ip_in_pools() -> None:
    pools = [("10.0.0.2", "10.0.0.10"), ("10.0.0.20", "10.0.0.20")]
    assert sm.ip_in_pools("10.0.0.2", pools)
    assert sm.ip_in_pools("10.0.0.10", pools)
    assert sm.ip_in_pools("10.0.0.20", pools)
    assert not sm.ip_in_pools("10.0.0.1", pools)
    assert not sm.ip_in_pools("10.0.0.11", pools)
    assert not sm.ip_in_pools("10.0.0.21", pools)
    assert not sm.ip_in_pools("junk", pools)
    assert not sm.ip_in_pools("::a", pools)  # int 10 in the other family
    assert not sm.ip_in_pools("10.0.0.5", [])
    assert sm.ip_in_pools("2001:DB8::5", [("2001:db8::1", "2001:db8::9")])


# -- dns_nameservers ---------------------------------------------------------------


def test_dns_ok_keeps_order_and_normalizes() -> None:
    values = ["8.8.8.8", "2001:DB8::53", "1.1.1.1"]
    assert sm.validate_dns_nameservers(values, 5) == ["8.8.8.8", "2001:db8::53", "1.1.1.1"]
    assert sm.validate_dns_nameservers([], 0) == []


@pytest.mark.parametrize("values", ["8.8.8.8", None, {"a": 1}, ("8.8.8.8",)])
def test_dns_not_a_list(values: object) -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_dns_nameservers(values, 5)
    assert exc.value.msg == (
        f"Invalid input for dns_nameservers. Reason: '{values}' is not a list."
    )


@pytest.mark.parametrize("bad", ["abc", "8.8.8.8/32", "", "1.2.3.256", None, 8, "www.example.com"])
def test_dns_invalid_entry(bad: object) -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_dns_nameservers(["1.1.1.1", bad], 5)
    assert exc.value.msg == (
        f"Invalid input for dns_nameservers. Reason: '{bad}' is not a valid nameserver."
    )


@pytest.mark.parametrize(
    ("values", "dup"),
    [(["8.8.8.8", "8.8.8.8"], "8.8.8.8"), (["2001:db8::1", "2001:DB8::1"], "2001:DB8::1")],
)
def test_dns_duplicate(values: list[str], dup: str) -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_dns_nameservers(values, 5)
    assert exc.value.msg == (
        f"Invalid input for dns_nameservers. Reason: Duplicate nameserver '{dup}'."
    )


def test_dns_exhausted() -> None:
    assert sm.validate_dns_nameservers(["1.1.1.1", "1.0.0.1"], 2) == ["1.1.1.1", "1.0.0.1"]
    with pytest.raises(DNSNameServersExhausted) as exc:
        sm.validate_dns_nameservers(["1.1.1.1", "1.0.0.1", "8.8.8.8"], 2, subnet_id="sub-1")
    assert exc.value.msg == (
        "Unable to complete operation for sub-1. The number of DNS nameservers exceeds the limit 2."
    )
    assert exc.value.status == 400


# -- host_routes -------------------------------------------------------------------


def route(destination: str, nexthop: str) -> dict[str, str]:
    return {"destination": destination, "nexthop": nexthop}


def test_host_routes_ok() -> None:
    values = [route("0.0.0.0/0", "10.0.0.1"), route("192.168.0.0/16", "10.0.0.2")]
    assert sm.validate_host_routes(values, 5, 4) == values
    assert sm.validate_host_routes([], 0) == []


def test_host_routes_v6_normalized() -> None:
    values = [route("2001:DB8:1::/48", "2001:DB8::1")]
    assert sm.validate_host_routes(values, 5, 6) == [route("2001:db8:1::/48", "2001:db8::1")]


@pytest.mark.parametrize(
    "item",
    [
        "10.0.0.0/24",
        {"destination": "10.0.0.0/24"},
        {"destination": "10.0.0.0/24", "nexthop": "10.0.0.1", "x": 1},
        route("abc", "10.0.0.1"),
        route("10.0.0.0/24", "abc"),
        route("10.0.0.0/24", "10.0.0.1/32"),
        {"destination": None, "nexthop": "10.0.0.1"},
        None,
    ],
)
def test_host_routes_malformed(item: object) -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_host_routes([item], 5)
    assert exc.value.msg == (
        f"Invalid input for host_routes. Reason: Invalid data format for hostroute: '{item}'."
    )


def test_host_routes_not_a_list() -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_host_routes("x", 5)
    assert exc.value.msg == (
        "Invalid input for host_routes. Reason: Invalid data format for hostroute: 'x'."
    )


def test_host_routes_destination_host_bits() -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_host_routes([route("10.0.0.5/24", "10.0.0.1")], 5)
    assert exc.value.msg == (
        "Invalid input for host_routes. Reason: '10.0.0.5/24' isn't a recognized IP subnet "
        "cidr, '10.0.0.0/24' is recommended."
    )


@pytest.mark.parametrize(
    "values",
    [
        [route("10.0.0.0/24", "10.0.0.1"), route("10.0.0.0/24", "10.0.0.1")],
        [route("2001:db8::/64", "2001:db8::1"), route("2001:DB8::/64", "2001:db8:0::1")],
    ],
)
def test_host_routes_duplicate(values: list[dict[str, str]]) -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_host_routes(values, 5)
    assert exc.value.msg == (
        f"Invalid input for host_routes. Reason: Duplicate hostroute '{values[1]}'."
    )


def test_host_routes_same_destination_different_nexthop_is_not_duplicate() -> None:
    values = [route("10.0.0.0/24", "10.0.0.1"), route("10.0.0.0/24", "10.0.0.2")]
    assert sm.validate_host_routes(values, 5) == values


@pytest.mark.parametrize(
    ("item", "version", "message"),
    [
        (
            route("10.0.0.0/24", "10.0.0.1"),
            6,
            "nexthop '10.0.0.1' does not match the ip_version '6'",
        ),
        (
            route("2001:db8::/64", "10.0.0.1"),
            6,
            "nexthop '10.0.0.1' does not match the ip_version '6'",
        ),
        (
            route("10.0.0.0/24", "2001:db8::1"),
            6,
            "destination '10.0.0.0/24' does not match the ip_version '6'",
        ),
        (
            route("10.0.0.0/24", "2001:db8::1"),
            None,
            "nexthop '2001:db8::1' does not match the ip_version '4'",
        ),
        (
            route("2001:db8::/64", "10.0.0.1"),
            None,
            "nexthop '10.0.0.1' does not match the ip_version '6'",
        ),
    ],
)
def test_host_routes_family(item: dict[str, str], version: int | None, message: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        sm.validate_host_routes([item], 5, version)
    assert exc.value.msg == f"Invalid input for operation: {message}."


def test_host_routes_exhausted() -> None:
    values = [route(f"10.{i}.0.0/16", "10.0.0.1") for i in range(3)]
    assert len(sm.validate_host_routes(values, 3)) == 3
    with pytest.raises(HostRoutesExhausted) as exc:
        sm.validate_host_routes(values, 2, 4, subnet_id="sub-1")
    assert exc.value.msg == (
        "Unable to complete operation for sub-1. The number of host routes exceeds the limit 2."
    )


# -- IPv6 modes --------------------------------------------------------------------

MODES = [None, "slaac", "dhcpv6-stateful", "dhcpv6-stateless"]


@pytest.mark.parametrize("mode", MODES)
def test_ipv6_modes_single_or_equal_ok(mode: str | None) -> None:
    sm.validate_ipv6_modes(6, mode, None)
    sm.validate_ipv6_modes(6, None, mode)
    sm.validate_ipv6_modes(6, mode, mode)


def test_ipv6_modes_v4_without_modes_ok() -> None:
    sm.validate_ipv6_modes(4, None, None)


@pytest.mark.parametrize(("ra", "am"), [("slaac", None), (None, "slaac"), ("slaac", "slaac")])
def test_ipv6_modes_on_v4(ra: str | None, am: str | None) -> None:
    with pytest.raises(InvalidInput) as exc:
        sm.validate_ipv6_modes(4, ra, am)
    assert exc.value.msg == (
        "Invalid input for operation: ipv6_ra_mode and ipv6_address_mode cannot be set on "
        "an IPv4 subnet."
    )


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("ipv6_ra_mode", "bogus"),
        ("ipv6_address_mode", "SLAAC"),
        ("ipv6_ra_mode", 1),
        ("ipv6_address_mode", ""),
    ],
)
@pytest.mark.parametrize("version", [4, 6])
def test_ipv6_modes_bad_value(attr: str, value: object, version: int) -> None:
    kwargs = {"ra_mode": None, "address_mode": None}
    kwargs["ra_mode" if attr == "ipv6_ra_mode" else "address_mode"] = value  # type: ignore[assignment]
    with pytest.raises(HTTPBadRequest) as exc:
        sm.validate_ipv6_modes(version, **kwargs)
    assert exc.value.msg == (
        f"Invalid input for {attr}. Reason: '{value}' is not in "
        "['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac', None]."
    )


def test_ipv6_modes_mismatch() -> None:
    with pytest.raises(InvalidInput) as exc:
        sm.validate_ipv6_modes(6, "slaac", "dhcpv6-stateful")
    assert exc.value.msg == (
        "Invalid input for operation: ipv6_ra_mode set to 'slaac' with ipv6_address_mode set "
        "to 'dhcpv6-stateful' is invalid. If both attributes are set, they must be the same "
        "value."
    )


@pytest.mark.parametrize(
    ("version", "ra", "am", "expected"),
    [
        (6, None, None, False),
        (6, "slaac", None, True),
        (6, "dhcpv6-stateless", None, True),
        (6, "dhcpv6-stateful", None, False),
        (6, None, "slaac", True),
        (6, None, "dhcpv6-stateless", True),
        (6, None, "dhcpv6-stateful", False),
        (6, "dhcpv6-stateful", "slaac", True),  # address mode governs
        (6, "slaac", "dhcpv6-stateful", False),
        (4, "slaac", "slaac", False),
        (4, None, None, False),
    ],
)
def test_is_auto_address(version: int, ra: str | None, am: str | None, expected: bool) -> None:
    assert sm.is_auto_address(version, ra, am) is expected
