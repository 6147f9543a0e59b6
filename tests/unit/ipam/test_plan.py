"""Unit tests for neutrino.ipam.plan: what a port's fixed_ips ask for, in which order."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino import exceptions as exc
from neutrino.ipam import plan as p

MAC = "fa:16:3e:12:34:56"
EUI64 = "2001:db8:1:0:f816:3eff:fe12:3456"


def subnet(sid: str, cidr: str, auto: bool = False) -> p.SubnetInfo:
    net = ipaddress.ip_network(cidr)
    return p.SubnetInfo(sid, "net", net.version, cidr, None, auto,
                        [(str(net[0]), str(net[-1]))])


V4A = subnet("v4a", "10.0.0.0/24")
V4B = subnet("v4b", "10.1.0.0/24")
SLAAC = subnet("slaac", "2001:db8:1::/64", auto=True)
SLAAC2 = subnet("slaac2", "2001:db8:2::/64", auto=True)
V6 = subnet("v6", "2001:db8:3::/64")
ALL = [V4A, V4B, SLAAC, SLAAC2, V6]
PORT = p.PortRef("port", "net", MAC, "compute:nova")
ROUTER = p.PortRef("port", "net", MAC, "network:router_interface")

R = p.FixedIpRequest


# -- requests of a new port --------------------------------------------------------


@pytest.mark.parametrize("subnets", [list(c) for n in range(len(ALL) + 1)
                                     for c in itertools.combinations(ALL, n)])
def test_default_requests_every_combination(subnets: list[p.SubnetInfo]) -> None:
    """One IPv4 of any IPv4 subnet, then each automatic IPv6 subnet, then one of any
    stateful IPv6 subnet; nothing for a family the network lacks."""
    expected = []
    v4 = tuple(s.id for s in subnets if s.ip_version == 4)
    if v4:
        expected.append(R(any_of=v4))
    expected += [R(subnet_id=s.id) for s in subnets if s.auto_address]
    stateful = tuple(s.id for s in subnets if s.ip_version == 6 and not s.auto_address)
    if stateful:
        expected.append(R(any_of=stateful))
    assert p.default_requests(subnets) == expected
    assert p.creation_requests(subnets, None, "compute:nova") == expected


def test_requested_entries_come_first_then_automatic_ones() -> None:
    """Issue 13: the order of a new port's addresses is the request's, then SLAAC."""
    asked = [R(subnet_id="v4b"), R(ip_address="10.0.0.5")]
    assert p.creation_requests(ALL, asked, "compute:nova") == asked + [
        R(subnet_id="slaac"), R(subnet_id="slaac2")]


def test_automatic_subnet_named_by_id_or_address_is_not_added_again() -> None:
    asked = [R(subnet_id="slaac2"), R(ip_address=EUI64)]
    assert p.creation_requests(ALL, asked, "compute:nova") == asked


def test_router_port_gets_no_implicit_automatic_address() -> None:
    asked = [R(subnet_id="v4a", ip_address="10.0.0.1")]
    assert p.creation_requests(ALL, asked, "network:router_interface") == asked


def test_empty_fixed_ips_still_gets_automatic_addresses() -> None:
    assert p.creation_requests(ALL, [], "compute:nova") == [
        R(subnet_id="slaac"), R(subnet_id="slaac2")]


def test_unknown_address_is_left_to_resolve() -> None:
    asked = [R(ip_address="192.0.2.1")]
    assert p.creation_requests([SLAAC], asked, "x") == asked + [R(subnet_id="slaac")]
    with pytest.raises(exc.InvalidIpForNetwork):
        p.resolve(asked[0], [SLAAC], PORT)


# -- what a request means ----------------------------------------------------------------


def test_resolve_any_of_keeps_subnet_order() -> None:
    assert p.resolve(R(any_of=("v4b", "v4a")), ALL, PORT) == p.Pick((V4B, V4A))


def test_resolve_subnet_only() -> None:
    assert p.resolve(R(subnet_id="v4a"), ALL, PORT) == p.Pick((V4A,))
    assert p.resolve(R(subnet_id="slaac"), ALL, PORT) == p.Known("slaac", EUI64, False)


def test_resolve_address_names_its_subnet_canonically() -> None:
    assert p.resolve(R(ip_address="2001:DB8:3::0:9"), ALL, PORT) == p.Known(
        "v6", "2001:db8:3::9", True)
    assert p.resolve(R(subnet_id="v4b", ip_address="10.1.0.7"), ALL, PORT) == p.Known(
        "v4b", "10.1.0.7", True)


def test_resolve_unknown_subnet() -> None:
    with pytest.raises(exc.InvalidInput) as info:
        p.resolve(R(subnet_id="nope"), ALL, PORT)
    assert "fixed_ips included invalid subnet nope" in str(info.value)


def test_resolve_address_outside_named_subnet() -> None:
    with pytest.raises(exc.InvalidIpForSubnet):
        p.resolve(R(subnet_id="v4a", ip_address="10.1.0.7"), ALL, PORT)


def test_resolve_explicit_address_on_automatic_subnet() -> None:
    with pytest.raises(p.AllocationOnAutoAddressSubnet):
        p.resolve(R(ip_address=EUI64), ALL, PORT)
    # Router ports choose their IPv6 addresses themselves.
    assert p.resolve(R(ip_address="2001:db8:1::1"), ALL, ROUTER) == p.Known(
        "slaac", "2001:db8:1::1", True)


@pytest.mark.parametrize(("cidr", "ip", "ok"), [
    ("10.0.0.0/24", "10.0.0.0", False),       # network address
    ("10.0.0.0/24", "10.0.0.255", False),     # broadcast
    ("10.0.0.0/24", "10.0.0.1", True),
    ("10.0.0.0/24", "10.0.1.1", False),
    ("10.0.0.0/24", "::1", False),
    ("10.0.0.0/24", "bogus", False),
    ("10.0.0.0/31", "10.0.0.0", True),        # point-to-point: both are hosts
    ("10.0.0.0/32", "10.0.0.0", True),
    ("2001:db8::/64", "2001:db8::", False),   # subnet-router anycast
    ("2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff", True),  # no broadcast in IPv6
    ("2001:db8::/127", "2001:db8::", True),
])
def test_check_address_for_subnet(cidr: str, ip: str, ok: bool) -> None:
    info = subnet("s", cidr)
    if ok:
        assert p.check_address_for_subnet(info, ip) == str(ipaddress.ip_address(ip))
    else:
        with pytest.raises(exc.InvalidIpForSubnet):
            p.check_address_for_subnet(info, ip)


def test_subnet_for_address_first_match_in_order() -> None:
    a, b = subnet("a", "10.0.0.0/16"), subnet("b", "10.0.0.0/24")
    assert p.subnet_for_address([a, b], "10.0.0.9") is a
    assert p.subnet_for_address([b, a], "10.0.0.9") is b
    for bad in ("10.9.0.1", "nonsense"):
        with pytest.raises(exc.InvalidIpForNetwork):
            p.subnet_for_address([a, b], bad)


def test_requested_addresses_canonical() -> None:
    assert p.requested_addresses([R(ip_address="2001:DB8::0001"), R(subnet_id="x"),
                                  R(ip_address="10.0.0.1")]) == {"2001:db8::1", "10.0.0.1"}


# -- fixed_ips updates -----------------------------------------------------------------

A = p.Allocation


def test_update_keeps_asked_again_releases_others_and_keeps_automatic() -> None:
    current = [A("v4a", "10.0.0.5"), A("slaac", EUI64), A("v4b", "10.1.0.5")]
    plan = p.plan_update(current, [R(ip_address="10.1.0.5"), R(subnet_id="v4a")],
                         ALL, "compute:nova")
    assert plan == p.UpdatePlan(keep=[A("v4a", "10.0.0.5"), A("slaac", EUI64),
                                      A("v4b", "10.1.0.5")], release=[], new=[])
    plan = p.plan_update(current, [R(ip_address="10.0.0.9")], ALL, "compute:nova")
    assert plan.keep == [A("slaac", EUI64)]
    assert plan.release == [A("v4a", "10.0.0.5"), A("v4b", "10.1.0.5")]
    assert plan.new == [R(ip_address="10.0.0.9")]


def test_update_router_port_releases_automatic_subnet_address() -> None:
    current = [A("v4a", "10.0.0.1"), A("slaac", "2001:db8:1::1")]
    plan = p.plan_update(current, [R(ip_address="10.0.0.1")], ALL,
                         "network:router_interface")
    assert plan.release == [A("slaac", "2001:db8:1::1")]


def test_update_naming_automatic_subnet_again_reallocates_it() -> None:
    current = [A("slaac", "2001:db8:1::1")]  # e.g. not the EUI-64 one
    plan = p.plan_update(current, [R(subnet_id="slaac", ip_address=EUI64)], ALL,
                         "compute:nova")
    assert plan.release == current
    assert plan.new == [R(subnet_id="slaac", ip_address=EUI64)]


_allocations = st.lists(
    st.builds(A, st.sampled_from([s.id for s in ALL]),
              st.sampled_from(["10.0.0.5", "10.0.0.6", "10.1.0.5", EUI64, "2001:db8:3::5"])),
    unique=True, max_size=6)
_requests = st.lists(st.one_of(
    st.builds(R, subnet_id=st.sampled_from([s.id for s in ALL])),
    st.builds(R, ip_address=st.sampled_from(["10.0.0.5", "10.0.0.7", "2001:db8:3::5"])),
    st.builds(R, subnet_id=st.sampled_from(["v4a", "v6"]),
              ip_address=st.sampled_from(["10.0.0.5", "2001:db8:3::5"]))), max_size=6)


@given(_allocations, _requests, st.sampled_from(["compute:nova",
                                                  "network:router_interface"]))
def test_update_plan_partitions_current_in_order(current: list[p.Allocation],
                                                 wanted: list[p.FixedIpRequest],
                                                 owner: str) -> None:
    plan = p.plan_update(current, wanted, ALL, owner)
    # Every current address is either kept or released, once, in its own order.
    assert sorted(plan.keep + plan.release, key=current.index) == current
    assert plan.keep == [a for a in current if a in plan.keep]
    assert plan.release == [a for a in current if a in plan.release]
    # The new requests are the wanted ones no current address matched, in order;
    # each matched one kept a distinct address.
    rest = iter(wanted)
    assert all(any(n == w for w in rest) for n in plan.new)
    assert len(wanted) - len(plan.new) <= len(plan.keep)
    # A non-router port keeps its automatic addresses unless it names their subnet.
    if owner == "compute:nova":
        named = {r.subnet_id for r in plan.new}
        for a in plan.release:
            assert a.subnet_id not in {"slaac", "slaac2"} or a.subnet_id in named
