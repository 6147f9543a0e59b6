"""When a DHCP namespace serves metadata, and what the guests are told (option 121 and
249): upstream's rules for enable_isolated_metadata, force_metadata and
enable_metadata_network."""

from __future__ import annotations

from dataclasses import replace

from neutrino.agent.dhcp import metadata as m
from neutrino.agent.dhcp import render as r

NET = "11111111-2222-3333-4444-555555555555"
SUB4 = "aaaaaaaa-0000-0000-0000-000000000004"
SUB4B = "bbbbbbbb-0000-0000-0000-000000000004"
SUB6 = "cccccccc-0000-0000-0000-000000000006"
ROUTER = "99999999-0000-0000-0000-000000000001"

OFF = r.Settings()
ISOLATED = replace(OFF, enable_isolated_metadata=True)
FORCED = replace(OFF, force_metadata=True)
META_NET = replace(OFF, enable_isolated_metadata=True, enable_metadata_network=True)


def subnet(sid: str = SUB4, cidr: str = "10.0.0.0/24", gateway: str | None = "10.0.0.1",
           **extra) -> dict:
    return {"id": sid, "cidr": cidr, "ip_version": 6 if ":" in cidr else 4,
            "gateway_ip": gateway, "enable_dhcp": True, "dns_nameservers": [],
            "host_routes": [], "allocation_pools": [], "ipv6_ra_mode": None,
            "ipv6_address_mode": None, "revision_number": 1, **extra}


def port(owner: str, *ips: tuple[str, str], device_id: str = "x") -> dict:
    return {"id": owner + ips[0][1], "mac_address": "fa:16:3e:00:00:01",
            "device_owner": owner, "device_id": device_id, "extra_dhcp_opts": [],
            "revision_number": 1,
            "fixed_ips": [{"subnet_id": s, "ip_address": a} for s, a in ips]}


DHCP = port("network:dhcp", (SUB4, "10.0.0.2"), (SUB4B, "10.1.0.2"))


def network(*subnets: dict, ports: tuple = ()) -> dict:
    return {"id": NET, "revision_number": 1, "mtu": 1450, "admin_state_up": True,
            "subnets": list(subnets) or [subnet()],
            "ports": [DHCP, port("compute:nova", (SUB4, "10.0.0.5")), *ports],
            "dhcp_port": DHCP}


def router_interface(subnet_id: str, address: str) -> dict:
    return port("network:router_interface", (subnet_id, address), device_id=ROUTER)


def test_a_subnet_is_isolated_unless_a_router_interface_holds_its_gateway() -> None:
    assert m.isolated_subnets(network()) == {SUB4: True}
    routed = network(ports=(router_interface(SUB4, "10.0.0.1"),))
    assert m.isolated_subnets(routed) == {SUB4: False}
    # A router on another address of the subnet is not its gateway.
    elsewhere = network(ports=(router_interface(SUB4, "10.0.0.254"),))
    assert m.isolated_subnets(elsewhere) == {SUB4: True}
    # A compute port holding the gateway address routes nothing.
    assert m.isolated_subnets(network(ports=(port("compute:nova", (SUB4, "10.0.0.1")),))) \
        == {SUB4: True}
    assert m.isolated_subnets(network(subnet(gateway=None))) == {SUB4: True}


def test_proxy_needed_per_option() -> None:
    isolated = network()
    routed = network(ports=(router_interface(SUB4, "10.0.0.1"),))
    assert m.proxy_target(isolated, OFF) is None
    assert m.proxy_target(isolated, ISOLATED) == ("network", NET)
    assert m.proxy_target(routed, ISOLATED) is None
    assert m.proxy_target(routed, FORCED) == ("network", NET)
    # One isolated subnet of two is enough.
    two = network(subnet(), subnet(SUB4B, "10.1.0.0/24", "10.1.0.1"),
                  ports=(router_interface(SUB4, "10.0.0.1"),))
    assert m.proxy_target(two, ISOLATED) == ("network", NET)
    # Only IPv4 subnets with DHCP count.
    v6 = network(subnet(SUB6, "2001:db8::/64", "2001:db8::1"))
    assert m.proxy_target(v6, ISOLATED) is None and m.proxy_target(v6, FORCED) is None
    no_dhcp = network(subnet(enable_dhcp=False))
    assert m.proxy_target(no_dhcp, ISOLATED) is None


def test_metadata_network_serves_for_its_router() -> None:
    meta = network(subnet(cidr="169.254.0.0/16", gateway="169.254.0.1"),
                   ports=(router_interface(SUB4, "169.254.0.1"),))
    assert m.proxy_target(meta, META_NET) == ("router", ROUTER)
    # Without a router yet: for the network; without enable_metadata_network: the
    # subnet is routed, so nothing.
    alone = network(subnet(cidr="169.254.0.0/16", gateway="169.254.0.1"))
    assert m.proxy_target(alone, META_NET) == ("network", NET)
    assert m.proxy_target(meta, ISOLATED) is None
    assert m.route(meta, meta["subnets"][0], META_NET) is None  # reached via the router


def opts(net: dict, settings: r.Settings) -> list[str]:
    return r.opts_file(net, settings).splitlines()


def test_isolated_subnet_gets_the_route_via_the_dhcp_port_with_its_other_routes() -> None:
    net = network(subnet(host_routes=[{"destination": "192.168.0.0/16",
                                       "nexthop": "10.0.0.254"}]))
    routes = "192.168.0.0/16,10.0.0.254,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1"
    assert f"tag:subnet-{SUB4},option:classless-static-route,{routes}" in opts(net, ISOLATED)
    assert f"tag:subnet-{SUB4},249,{routes}" in opts(net, ISOLATED)
    # Off: what there was before (no metadata route).
    assert f"tag:subnet-{SUB4},option:classless-static-route,192.168.0.0/16,10.0.0.254," \
           "0.0.0.0/0,10.0.0.1" in opts(net, OFF)


def test_isolated_subnet_without_other_routes_still_gets_its_default_route() -> None:
    lines = opts(network(), ISOLATED)
    assert f"tag:subnet-{SUB4},option:classless-static-route,169.254.169.254/32,10.0.0.2," \
           "0.0.0.0/0,10.0.0.1" in lines
    assert f"tag:subnet-{SUB4},option:router,10.0.0.1" in lines
    assert not any("classless" in line for line in opts(network(), OFF))
    # No gateway: the metadata route alone, and an empty router option.
    lines = opts(network(subnet(gateway=None)), ISOLATED)
    assert f"tag:subnet-{SUB4},option:classless-static-route,169.254.169.254/32,10.0.0.2" \
        in lines
    assert f"tag:subnet-{SUB4},option:router" in lines


def test_routed_subnet_gets_the_route_via_its_gateway_unless_forced() -> None:
    routed = network(ports=(router_interface(SUB4, "10.0.0.1"),))
    assert f"tag:subnet-{SUB4},option:classless-static-route,169.254.169.254/32,10.0.0.1," \
           "0.0.0.0/0,10.0.0.1" in opts(routed, ISOLATED)
    assert f"tag:subnet-{SUB4},option:classless-static-route,169.254.169.254/32,10.0.0.2," \
           "0.0.0.0/0,10.0.0.1" in opts(routed, FORCED)
    assert not any("classless" in line for line in opts(routed, OFF))


def test_no_route_without_a_dhcp_address_on_the_subnet() -> None:
    net = network()
    net["dhcp_port"] = dict(DHCP, fixed_ips=[])
    assert m.route(net, net["subnets"][0], ISOLATED) is None
