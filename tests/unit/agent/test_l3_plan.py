"""The L3 agent's plan (agent/l3/plan.py, pure): which routers a host realises and
how, the steps from a namespace as observed to it, gratuitous ARP and the floating
IP statuses to report."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.common.privileged import Link
from neutrino.agent.l3 import plan as p
from unit.agent.test_l3_nat import GW_PORT, IF_PORT, QG, ROUTER, fip, fixed, interface, router

QR = "qr-" + IF_PORT[:11]
NS = "qrouter-" + ROUTER
TAP_QR, TAP_QG = "tap" + IF_PORT[:11], "tap" + GW_PORT[:11]
QG_MAC, QR_MAC = "fa:16:3e:00:00:99", "fa:16:3e:00:00:01"
SETTINGS = p.Settings()


def spec(r: dict | None = None) -> p.RouterSpec:
    return p.router_spec(r or router(), SETTINGS)


def link(name: str, mac: str | None = None, mtu: int = 1500, up: bool = True) -> Link:
    return Link(name=name, index=1, kind="veth", master=None, mtu=mtu, up=up, mac=mac)


def converged(s: p.RouterSpec) -> p.RouterSnapshot:
    """The namespace exactly as `s` wants it."""
    links = {d.name: link(d.name, d.mac, d.mtu or 1500) for d in s.devices.values()}
    return p.RouterSnapshot(
        exists=True, links={"lo": link("lo"), **links},
        addresses={d.name: set(d.addresses) for d in s.devices.values()},
        routes=set(s.routes),
        taps={d.tap: link(d.tap, None, d.mtu or 1500) for d in s.devices.values()})


def ops(actions: list[p.Action]) -> list[str]:
    return [str(a) for a in actions]


# -- layout ------------------------------------------------------------------------------


def test_names_are_upstreams() -> None:
    assert p.namespace_name(ROUTER) == NS
    assert p.router_of(NS) == ROUTER
    assert p.router_of("qdhcp-x") is None
    assert p.tap_name(IF_PORT) == TAP_QR


def test_router_spec_devices_addresses_routes_and_floating_ips() -> None:
    r = router(fips=[fip("172.24.4.76", "10.0.0.117", "f1"), fip("172.24.4.80", None, "f2")])
    r["routes"] = [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.5"}]
    s = spec(r)
    assert s.namespace == NS
    assert s.devices == {
        QR: p.DeviceSpec(QR, TAP_QR, IF_PORT, QR_MAC, 1450, frozenset({"10.0.0.1/24"})),
        QG: p.DeviceSpec(QG, TAP_QG, GW_PORT, QG_MAC, 1500,
                         frozenset({"172.24.4.67/24", "172.24.4.76/32"}), gateway=True)}
    assert s.routes == {("0.0.0.0/0", "172.24.4.1"), ("192.168.0.0/16", "10.0.0.5")}
    assert s.floating_ips == ("f1",)
    assert s.nat is not None and dict(s.nat.mappings) == {"172.24.4.76": "10.0.0.117"}


def test_dual_stack_interfaces_and_ipv6_default_route() -> None:
    r = router(interfaces=[interface(fixed("10.0.0.1", "10.0.0.0/24"),
                                     fixed("2001:db8:1::1", "2001:db8:1::/64"))])
    r["gateway"]["fixed_ips"].append(fixed("2001:db8:ff::5", "2001:db8:ff::/64",
                                           "2001:db8:ff::1"))
    s = spec(r)
    assert s.devices[QR].addresses == {"10.0.0.1/24", "2001:db8:1::1/64"}
    assert s.devices[QG].addresses == {"172.24.4.67/24", "2001:db8:ff::5/64"}
    assert s.routes == {("0.0.0.0/0", "172.24.4.1"), ("::/0", "2001:db8:ff::1")}


def test_extra_routes_normalised_and_overriding_the_default() -> None:
    r = router()
    r["routes"] = [{"destination": "192.168.1.7/16", "nexthop": "10.0.0.5"},
                   {"destination": "0.0.0.0/0", "nexthop": "10.0.0.254"}]
    assert spec(r).routes == {("192.168.0.0/16", "10.0.0.5"), ("0.0.0.0/0", "10.0.0.254")}


def test_gateway_without_subnet_gateway_has_no_default_route() -> None:
    r = router()
    r["gateway"]["fixed_ips"][0]["gateway_ip"] = None
    assert spec(r).routes == frozenset()


def test_layout_skips_admin_down_and_internal_only_when_told() -> None:
    up, down, internal = router(), router(), router(gateway=None)
    down["id"], down["admin_state_up"] = "down", False
    internal["id"] = "internal"
    desired = {"routers": [up, down, internal]}
    layout = p.layout(desired, SETTINGS)
    assert sorted(layout.routers) == sorted([ROUTER, "internal"])
    assert layout.skipped == {"down": "admin_state_up is false"}
    no_internal = p.Settings(handle_internal_only_routers=False)
    layout = p.layout(desired, no_internal)
    assert sorted(layout.routers) == [ROUTER]
    assert "handle_internal_only_routers" in layout.skipped["internal"]


def test_stale_namespaces_are_router_namespaces_without_a_router() -> None:
    layout = p.layout({"routers": [router()]}, SETTINGS)
    present = [NS, "qrouter-gone", "qdhcp-x", "other"]
    assert p.stale_namespaces(layout, present) == ["qrouter-gone"]


# -- plan ---------------------------------------------------------------------------------


def test_from_nothing_everything_in_order() -> None:
    s = spec()
    assert ops(p.plan_router(s, p.RouterSnapshot())) == [
        f"create_namespace {NS}",
        f"add_veth {QG} tap={TAP_QG}",
        f"set_link {QG} mac={QG_MAC} mtu=1500",
        f"set_link {QG} up=True",
        f"set_tap {TAP_QG} mtu=1500 up=True",
        f"add_veth {QR} tap={TAP_QR}",
        f"set_link {QR} mac={QR_MAC} mtu=1450",
        f"set_link {QR} up=True",
        f"set_tap {TAP_QR} mtu=1450 up=True",
        f"add_address {QG} address=172.24.4.67/24",
        f"add_address {QR} address=10.0.0.1/24",
        "add_route 0.0.0.0/0 via=172.24.4.1"]


def test_converged_namespace_needs_nothing() -> None:
    s = spec(router(fips=[fip("172.24.4.76", "10.0.0.117")]))
    assert p.plan_router(s, converged(s)) == []


def test_a_port_gone_loses_its_link_only() -> None:
    s = spec()
    have = converged(s)
    have.links["qr-00000000-00"] = link("qr-00000000-00")
    have.links["eth9"] = link("eth9")  # not ours
    assert ops(p.plan_router(s, have)) == ["delete_link qr-00000000-00"]


def test_half_made_pair_is_made_anew_and_its_addresses_and_routes_follow() -> None:
    s = spec()
    have = converged(s)
    del have.taps[TAP_QG]
    assert ops(p.plan_router(s, have)) == [
        f"add_veth {QG} tap={TAP_QG}",
        f"set_link {QG} mac={QG_MAC} mtu=1500",
        f"set_link {QG} up=True",
        f"set_tap {TAP_QG} mtu=1500 up=True",
        f"add_address {QG} address=172.24.4.67/24",
        "add_route 0.0.0.0/0 via=172.24.4.1"]


def test_mac_mtu_and_down_links_are_corrected_in_place() -> None:
    s = spec()
    have = converged(s)
    have.links[QR] = link(QR, "fa:16:3e:ff:ff:ff", 1500, up=False)
    have.taps[TAP_QR] = link(TAP_QR, None, 1450, up=False)
    assert ops(p.plan_router(s, have)) == [
        f"set_link {QR} mac={QR_MAC} mtu=1450", f"set_link {QR} up=True",
        f"set_tap {TAP_QR} up=True"]


def test_floating_ip_addresses_come_and_go_without_touching_routes() -> None:
    before = spec(router(fips=[fip("172.24.4.76", "10.0.0.117")]))
    after = spec(router(fips=[fip("172.24.4.77", "10.0.0.118")]))
    actions = p.plan_router(after, converged(before))
    assert ops(actions) == [
        f"delete_address {QG} address=172.24.4.76/32",
        f"add_address {QG} address=172.24.4.77/32",
        # An address went: the routes are put back (replace) in case they went too.
        "add_route 0.0.0.0/0 via=172.24.4.1"]
    added = p.plan_router(spec(router(fips=[fip("172.24.4.76", "10.0.0.117")])),
                          converged(spec()))
    assert ops(added) == [f"add_address {QG} address=172.24.4.76/32"]


def test_routes_removed_and_added() -> None:
    s = spec()
    have = converged(s)
    have.routes = {("0.0.0.0/0", "172.24.4.254"), ("10.9.0.0/16", "10.0.0.9")}
    assert ops(p.plan_router(s, have)) == [
        "delete_route 0.0.0.0/0 via=172.24.4.254", "delete_route 10.9.0.0/16 via=10.0.0.9",
        "add_route 0.0.0.0/0 via=172.24.4.1"]


def test_gateway_removed_takes_link_and_routes() -> None:
    s = spec(router(gateway=None))
    have = converged(spec())
    assert ops(p.plan_router(s, have)) == [f"delete_link {QG}",
                                           "delete_route 0.0.0.0/0 via=172.24.4.1"]


octets = st.integers(2, 250)


@settings(max_examples=60, deadline=None)
@given(st.lists(octets, max_size=6, unique=True), st.lists(octets, max_size=6, unique=True),
       st.booleans())
def test_planning_from_any_router_reaches_the_wanted_one(a: list, b: list,
                                                         snat: bool) -> None:
    """Applied to the snapshot, the plan's address and route actions give exactly
    the wanted ones, and nothing is left to do afterwards."""
    def make(octs: list) -> p.RouterSpec:
        return spec(router(snat=snat, fips=[fip(f"172.24.4.{o}", f"10.0.0.{o}")
                                            for o in octs]))
    want, have = make(b), converged(make(a))
    for action in p.plan_router(want, have):
        address = action.kwargs().get("address")
        if action.op == "add_address":
            have.addresses[action.name].add(str(address))
        elif action.op == "delete_address":
            have.addresses[action.name].discard(str(address))
    assert have.addresses == {name: set(d.addresses) for name, d in want.devices.items()}
    assert p.plan_router(want, have) == []


# -- gratuitous ARP and statuses ------------------------------------------------------------


def test_announcements_are_ipv4_addresses_added_on_the_gateway() -> None:
    s = spec(router(fips=[fip("172.24.4.76", "10.0.0.117")]))
    done = p.plan_router(s, p.RouterSnapshot()) + [
        p.Action("add_address", QG, (("address", "2001:db8::5/64"),))]
    assert p.announcements(s, done) == [(QG, "172.24.4.67", QG_MAC),
                                        (QG, "172.24.4.76", QG_MAC)]
    assert p.announcements(s, []) == []


def test_floatingip_statuses_report_only_changes() -> None:
    carried = router(fips=[fip("172.24.4.76", "10.0.0.117", "f1"),
                           {**fip("172.24.4.77", "10.0.0.118", "f2"), "status": "ACTIVE"}])
    down = router(fips=[{**fip("172.24.4.78", "10.0.0.119", "f3"), "status": "ACTIVE"},
                        fip("172.24.4.79", "10.0.0.120", "f4")])
    down["id"], down["admin_state_up"] = "down", False
    failed = router(fips=[fip("172.24.4.81", "10.0.0.121", "f5")])
    failed["id"] = "failed"
    desired = {"routers": [carried, down, failed]}
    layout = p.layout(desired, SETTINGS)
    assert p.floatingip_statuses(desired, layout, failed=["failed"]) == {
        ROUTER: {"f1": "ACTIVE"}, "down": {"f3": "DOWN"}}
    assert p.floatingip_statuses(desired, layout) == {
        ROUTER: {"f1": "ACTIVE"}, "down": {"f3": "DOWN"}, "failed": {"f5": "ACTIVE"}}
