"""neutrino trace's decision (neutrino.cli.trace_logic), on hand-built API dicts: every
hop kind, allowed and denied, without a server."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from neutrino.cli import trace_logic as t

_ids = itertools.count(1)


def uid(prefix: str) -> str:
    return f"{prefix}-{next(_ids):04d}"


def rule(direction: str, protocol: str | None = None, low: int | None = None,
         high: int | None = None, prefix: str | None = None, group: str | None = None,
         address_group: str | None = None, ethertype: str = "IPv4") -> dict[str, Any]:
    return {"id": uid("rule"), "direction": direction, "protocol": protocol,
            "port_range_min": low, "port_range_max": high if high is not None else low,
            "remote_ip_prefix": prefix, "remote_group_id": group,
            "remote_address_group_id": address_group, "ethertype": ethertype}


EGRESS_ALL = rule("egress")


class Cloud:
    """A small world: builders for networks, subnets, ports, routers, floating IPs."""

    def __init__(self) -> None:
        self.world = t.World({}, {}, {}, [], [], {}, [])
        self.alive_host("compute-1")

    def alive_host(self, host: str, alive: bool = True) -> None:
        self.world.agents.append({"host": host, "agent_type": "Linux bridge agent",
                                  "alive": alive, "admin_state_up": True,
                                  "heartbeat_timestamp": "2026-12-07 04:00:00"})

    def group(self, *rules: dict[str, Any], stateful: bool = True) -> str:
        gid = uid("sg")
        self.world.security_groups[gid] = {"id": gid, "name": gid, "stateful": stateful,
                                           "security_group_rules": [EGRESS_ALL, *rules]}
        return gid

    def network(self, cidr: str, external: bool = False, gateway: str | None = "auto"
                ) -> dict[str, Any]:
        nid, sid = uid("net"), uid("subnet")
        self.world.networks[nid] = {"id": nid, "name": nid, "admin_state_up": True,
                                    "router:external": external}
        prefix = cidr.rsplit(".", 1)[0]
        subnet = {"id": sid, "name": sid, "network_id": nid, "cidr": cidr,
                  "gateway_ip": f"{prefix}.1" if gateway == "auto" else gateway,
                  "host_routes": []}
        self.world.subnets[sid] = subnet
        return subnet

    def port(self, subnet: dict[str, Any], ip: str, *groups: str, host: str = "compute-1",
             **attrs: Any) -> t.Endpoint:
        port = {"id": uid("port"), "name": "", "network_id": subnet["network_id"],
                "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": ip}],
                "admin_state_up": True, "status": "ACTIVE", "binding:host_id": host,
                "binding:vif_type": "bridge", "port_security_enabled": True,
                "security_groups": list(groups), **attrs}
        return t.Endpoint(port["id"], ip, port)

    def router(self, *interfaces: dict[str, Any], gateway: dict[str, Any] | None = None,
               gateway_ip: str = "203.0.113.10", snat: bool = True, **attrs: Any
               ) -> dict[str, Any]:
        rid = uid("router")
        router = {"id": rid, "name": rid, "admin_state_up": True, "status": "ACTIVE",
                  "external_gateway_info": None, **attrs}
        if gateway is not None:
            router["external_gateway_info"] = {
                "network_id": gateway["network_id"], "enable_snat": snat,
                "external_fixed_ips": [{"subnet_id": gateway["id"],
                                        "ip_address": gateway_ip}]}
        self.world.routers[rid] = router
        for subnet in interfaces:
            self.world.router_ports.append({
                "id": uid("rport"), "device_id": rid,
                "device_owner": "network:router_interface",
                "fixed_ips": [{"subnet_id": subnet["id"],
                               "ip_address": subnet["gateway_ip"]}]})
        return router

    def floating_ip(self, target: t.Endpoint, router: dict[str, Any],
                    external: dict[str, Any], address: str) -> t.Endpoint:
        assert target.port is not None
        fip = {"id": uid("fip"), "floating_ip_address": address,
               "floating_network_id": external["network_id"], "router_id": router["id"],
               "port_id": target.port["id"], "fixed_ip_address": target.address,
               "status": "ACTIVE"}
        self.world.floatingips.append(fip)
        return t.Endpoint(address, target.address, target.port, fip)

    def trace(self, src: t.Endpoint, dst: t.Endpoint, protocol: str = "tcp",
              port: int | None = 22) -> t.Trace:
        return t.trace(src, dst, t.Flow(protocol, port), self.world)


def blocked(result: t.Trace) -> list[str]:
    return [h.detail for h in result.hops if h.verdict == t.BLOCKED]


def verdict_of(result: t.Trace, step_start: str) -> str:
    return next(h.verdict for h in result.hops if h.step.startswith(step_start))


SSH = rule("ingress", "tcp", 22, 22, prefix="0.0.0.0/0")


@pytest.fixture
def cloud() -> Cloud:
    return Cloud()


def test_same_subnet_allowed_by_rule(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    web = cloud.group(SSH)
    a, b = cloud.port(net, "10.0.0.5", web), cloud.port(net, "10.0.0.6", web)
    result = cloud.trace(a, b)
    assert result.allowed, result.hops
    ingress = next(h for h in result.hops if h.step.startswith("ingress"))
    assert SSH["id"] in ingress.detail and "tcp/22" in ingress.detail
    assert any("same subnet" in h.detail for h in result.hops)


def test_denied_by_missing_rule_names_flow_and_port(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    web, bare = cloud.group(SSH), cloud.group()
    a, b = cloud.port(net, "10.0.0.5", web), cloud.port(net, "10.0.0.6", bare)
    result = cloud.trace(a, b)
    assert not result.allowed
    assert blocked(result) == [f"no rule allows ingress tcp/22 from 10.0.0.5 on port "
                               f"{b.port['id']} (groups: {bare})"]


@pytest.mark.parametrize(("flow", "allowed"), [
    (("tcp", 22), True), (("tcp", 23), False), (("tcp", None), False),
    (("udp", 22), False), (("icmp", 8), False), (("6", 22), True)])
def test_port_and_protocol_matching(cloud: Cloud, flow: tuple[str, int | None],
                                    allowed: bool) -> None:
    net = cloud.network("10.0.0.0/24")
    web = cloud.group(SSH)
    a, b = cloud.port(net, "10.0.0.5", web), cloud.port(net, "10.0.0.6", web)
    assert cloud.trace(a, b, *flow).allowed is allowed


@pytest.mark.parametrize(("the_rule", "allowed"), [
    (rule("ingress"), True),                                        # anything
    (rule("ingress", "tcp"), True),                                 # every tcp port
    (rule("ingress", "tcp", 20, 30), True),                         # a range
    (rule("ingress", "tcp", 23, 30), False),
    (rule("ingress", "tcp", 22, prefix="10.0.0.0/30"), False),      # 10.0.0.5 outside
    (rule("ingress", "tcp", 22, prefix="10.0.0.4/30"), True),
    (rule("ingress", "tcp", 22, prefix="10.0.0.5"), True),
    (rule("ingress", "tcp", 22, ethertype="IPv6"), False),
    (rule("egress", "tcp", 22), False),                             # wrong direction
    (rule("ingress", "udp", 22), False),
])
def test_rule_shapes(cloud: Cloud, the_rule: dict[str, Any], allowed: bool) -> None:
    net = cloud.network("10.0.0.0/24")
    a = cloud.port(net, "10.0.0.5", cloud.group())
    b = cloud.port(net, "10.0.0.6", cloud.group(the_rule))
    assert cloud.trace(a, b).allowed is allowed


def test_icmp_type(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    a = cloud.port(net, "10.0.0.5", cloud.group())
    b = cloud.port(net, "10.0.0.6", cloud.group(rule("ingress", "icmp", 8)))
    assert cloud.trace(a, b, "icmp", 8).allowed
    assert not cloud.trace(a, b, "icmp", 13).allowed


def test_remote_group_matches_members_only(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    default = cloud.group()
    cloud.world.security_groups[default]["security_group_rules"].append(
        rule("ingress", group=default))
    a, b = cloud.port(net, "10.0.0.5", default), cloud.port(net, "10.0.0.6", default)
    outsider = cloud.port(net, "10.0.0.7", cloud.group())
    assert cloud.trace(a, b).allowed
    assert not cloud.trace(outsider, b).allowed


def test_remote_address_group(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    cloud.world.address_groups["ag"] = {"id": "ag", "addresses": ["10.0.0.4/31"]}
    b = cloud.port(net, "10.0.0.6", cloud.group(rule("ingress", address_group="ag")))
    assert cloud.trace(cloud.port(net, "10.0.0.5", cloud.group()), b).allowed
    assert not cloud.trace(cloud.port(net, "10.0.0.9", cloud.group()), b).allowed


def test_egress_must_allow_too(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    gid = cloud.group()
    cloud.world.security_groups[gid]["security_group_rules"] = []   # no egress rule
    a, b = cloud.port(net, "10.0.0.5", gid), cloud.port(net, "10.0.0.6", cloud.group(SSH))
    result = cloud.trace(a, b)
    assert verdict_of(result, "egress") == t.BLOCKED
    assert "no rule allows egress tcp/22 to 10.0.0.6" in blocked(result)[0]


def test_port_security_off_allows_without_groups(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    a = cloud.port(net, "10.0.0.5", cloud.group())
    b = cloud.port(net, "10.0.0.6", port_security_enabled=False)
    result = cloud.trace(a, b)
    assert result.allowed
    assert "port security off" in next(h.detail for h in result.hops
                                       if h.step.startswith("ingress"))


def test_no_group_with_port_security_drops_everything(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    a, b = cloud.port(net, "10.0.0.5", cloud.group()), cloud.port(net, "10.0.0.6")
    assert "no security group" in blocked(cloud.trace(a, b))[0]


def test_stateless_group_warns(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    a = cloud.port(net, "10.0.0.5", cloud.group())
    b = cloud.port(net, "10.0.0.6", cloud.group(SSH, stateful=False))
    result = cloud.trace(a, b)
    assert result.allowed and verdict_of(result, "ingress") == t.WARN


def test_different_networks_without_router(cloud: Cloud) -> None:
    one, two = cloud.network("10.1.0.0/24"), cloud.network("10.2.0.0/24")
    a = cloud.port(one, "10.1.0.5", cloud.group(SSH))
    b = cloud.port(two, "10.2.0.5", cloud.group(SSH))
    result = cloud.trace(a, b)
    assert not result.allowed
    assert blocked(result)[0].startswith("no router connects subnet")
    # Security groups are not judged on a path that does not exist.
    assert not any(h.step.startswith(("egress", "ingress")) for h in result.hops)


def test_through_router(cloud: Cloud) -> None:
    one, two = cloud.network("10.1.0.0/24"), cloud.network("10.2.0.0/24")
    router = cloud.router(one, two)
    a = cloud.port(one, "10.1.0.5", cloud.group())
    b = cloud.port(two, "10.2.0.5", cloud.group(rule("ingress", "tcp", 22,
                                                     prefix="10.1.0.0/24")))
    result = cloud.trace(a, b)
    assert result.allowed, result.hops
    details = " | ".join(h.detail for h in result.hops)
    assert f"router {router['name']} between 10.1.0.0/24 (10.1.0.1)" in details
    assert "default route via gateway 10.1.0.1" in details
    assert "default route via gateway 10.2.0.1" in details


def test_router_down_blocks(cloud: Cloud) -> None:
    one, two = cloud.network("10.1.0.0/24"), cloud.network("10.2.0.0/24")
    cloud.router(one, two, admin_state_up=False)
    a = cloud.port(one, "10.1.0.5", cloud.group())
    b = cloud.port(two, "10.2.0.5", cloud.group(SSH))
    assert "administratively down" in blocked(cloud.trace(a, b))[0]


def test_gateway_elsewhere_warns_host_route_settles(cloud: Cloud) -> None:
    one, two = cloud.network("10.1.0.0/24", gateway="10.1.0.254"), \
        cloud.network("10.2.0.0/24")
    # The router's interface on `one` is 10.1.0.254 (gateway_ip), so move it away.
    cloud.router(one, two)
    cloud.world.router_ports[0]["fixed_ips"][0]["ip_address"] = "10.1.0.9"
    a = cloud.port(one, "10.1.0.5", cloud.group())
    b = cloud.port(two, "10.2.0.5", cloud.group(SSH))
    result = cloud.trace(a, b)
    assert result.allowed and verdict_of(result, "route there") == t.WARN
    one["host_routes"] = [{"destination": "10.2.0.0/24", "nexthop": "10.1.0.9"}]
    assert verdict_of(cloud.trace(a, b), "route there") == t.OK


def test_through_floating_ip_from_another_network(cloud: Cloud) -> None:
    ext = cloud.network("203.0.113.0/24", external=True)
    one, two = cloud.network("10.1.0.0/24"), cloud.network("10.2.0.0/24")
    r1 = cloud.router(one, gateway=ext, gateway_ip="203.0.113.10")
    r2 = cloud.router(two, gateway=ext, gateway_ip="203.0.113.20")
    a = cloud.port(one, "10.1.0.5", cloud.group())
    # Ingress allowed from r1's SNAT address only.
    b = cloud.port(two, "10.2.0.5", cloud.group(rule("ingress", "tcp", 22,
                                                     prefix="203.0.113.10/32")))
    fip = cloud.floating_ip(b, r2, ext, "203.0.113.50")
    result = cloud.trace(a, fip)
    assert result.allowed, result.hops
    details = " | ".join(h.detail for h in result.hops)
    assert "SNAT: source 10.1.0.5 leaves as the router's gateway address 203.0.113.10" \
        in details
    assert "DNAT on router" in details and "203.0.113.50 → 10.2.0.5" in details
    # Its fixed address is not reachable from the other network.
    assert not cloud.trace(a, b).allowed
    # With its own floating IP, the source is seen as that: the /32 rule no longer fits.
    cloud.floating_ip(a, r1, ext, "203.0.113.51")
    result = cloud.trace(a, fip)
    assert "no rule allows ingress tcp/22 from 203.0.113.51" in blocked(result)[0]


def test_floating_ip_from_outside(cloud: Cloud) -> None:
    ext = cloud.network("203.0.113.0/24", external=True)
    inner = cloud.network("10.1.0.0/24")
    router = cloud.router(inner, gateway=ext)
    b = cloud.port(inner, "10.1.0.5", cloud.group(SSH))
    fip = cloud.floating_ip(b, router, ext, "203.0.113.50")
    outside = t.Endpoint("198.51.100.7", "198.51.100.7")
    assert cloud.trace(outside, fip).allowed
    result = cloud.trace(outside, b)
    assert "only a floating IP reaches it" in blocked(result)[0]


def test_out_to_the_internet_needs_a_gateway(cloud: Cloud) -> None:
    ext = cloud.network("203.0.113.0/24", external=True)
    inner = cloud.network("10.1.0.0/24")
    a = cloud.port(inner, "10.1.0.5", cloud.group())
    internet = t.Endpoint("198.51.100.7", "198.51.100.7")
    assert "no router with an external gateway" in blocked(cloud.trace(a, internet))[0]
    cloud.router(inner, gateway=ext, snat=False)
    result = cloud.trace(a, internet)
    assert result.allowed and verdict_of(result, "nat") == t.WARN


def test_port_states(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    web = cloud.group(SSH)
    a = cloud.port(net, "10.0.0.5", web)
    cases = {
        "administratively down": {"admin_state_up": False},
        "not bound to any host": {"binding:host_id": ""},
        "binding on host compute-1 is binding_failed": {"binding:vif_type":
                                                        "binding_failed"},
        "no L2 agent on host compute-9": {"binding:host_id": "compute-9"},
    }
    for expected, attrs in cases.items():
        b = cloud.port(net, "10.0.0.6", web, **attrs)
        assert any(expected in d for d in blocked(cloud.trace(a, b))), expected
    down = cloud.port(net, "10.0.0.6", web, status="DOWN")
    result = cloud.trace(a, down)
    assert result.allowed and verdict_of(result, "destination port") == t.WARN


def test_agent_down(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    cloud.alive_host("compute-2", alive=False)
    web = cloud.group(SSH)
    a = cloud.port(net, "10.0.0.5", web)
    b = cloud.port(net, "10.0.0.6", web, host="compute-2")
    assert blocked(cloud.trace(a, b)) == [
        "Linux bridge agent on host compute-2 is DOWN (last heartbeat 2026-12-07 "
        "04:00:00): nothing on that host applies changes"]


def test_network_down_blocks(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    cloud.world.networks[net["network_id"]]["admin_state_up"] = False
    web = cloud.group(SSH)
    a, b = cloud.port(net, "10.0.0.5", web), cloud.port(net, "10.0.0.6", web)
    assert any("network" in d and "administratively down" in d
               for d in blocked(cloud.trace(a, b)))


def test_ipv6_icmp(cloud: Cloud) -> None:
    subnet = cloud.network("2001:db8::/64", gateway=None)
    gid = cloud.group(rule("ingress", "ipv6-icmp", ethertype="IPv6"))
    cloud.world.security_groups[gid]["security_group_rules"].append(
        rule("egress", ethertype="IPv6"))
    a, b = cloud.port(subnet, "2001:db8::5", gid), cloud.port(subnet, "2001:db8::6", gid)
    assert cloud.trace(a, b, "icmp", 128).allowed


@pytest.mark.parametrize(("name", "version", "number"), [
    ("tcp", 4, 6), ("TCP", 4, 6), ("icmp", 6, 58), ("icmp", 4, 1), ("17", 4, 17),
    (None, 4, None), ("any", 4, None), ("nonsense", 4, -1)])
def test_protocol_numbers(name: str | None, version: int, number: int | None) -> None:
    assert t.protocol_number(name, version) == number


def test_to_a_port_on_the_external_network_through_the_gateway(cloud: Cloud) -> None:
    ext = cloud.network("203.0.113.0/24", external=True)
    inner = cloud.network("10.1.0.0/24")
    cloud.router(inner, gateway=ext, gateway_ip="203.0.113.10")
    a = cloud.port(inner, "10.1.0.5", cloud.group())
    server = cloud.port(ext, "203.0.113.80", cloud.group(
        rule("ingress", "tcp", 22, prefix="203.0.113.10/32")))
    result = cloud.trace(a, server)
    assert result.allowed, result.hops
    assert "out through router" in " ".join(h.detail for h in result.hops)
    # Back the other way, the fixed address is out of reach.
    back = cloud.trace(server, a)
    assert "only a floating IP reaches it" in blocked(back)[0]


def test_from_outside_to_a_port_on_the_external_network(cloud: Cloud) -> None:
    ext = cloud.network("203.0.113.0/24", external=True)
    server = cloud.port(ext, "203.0.113.80", cloud.group(SSH))
    outside = t.Endpoint("198.51.100.7", "198.51.100.7")
    result = cloud.trace(outside, server)
    assert result.allowed and "directly reachable" in _path(result)


def test_floating_ip_on_a_router_that_is_down(cloud: Cloud) -> None:
    ext = cloud.network("203.0.113.0/24", external=True)
    inner = cloud.network("10.1.0.0/24")
    router = cloud.router(inner, gateway=ext, admin_state_up=False)
    b = cloud.port(inner, "10.1.0.5", cloud.group(SSH))
    fip = cloud.floating_ip(b, router, ext, "203.0.113.50")
    result = cloud.trace(t.Endpoint("198.51.100.7", "198.51.100.7"), fip)
    assert not result.allowed
    assert "administratively down" in blocked(result)[0]


def test_neither_end_in_neutrino(cloud: Cloud) -> None:
    outside = t.Endpoint("198.51.100.7", "198.51.100.7")
    assert blocked(cloud.trace(outside, outside)) == ["neither end is a Neutrino port"]


def test_to_the_result_dict(cloud: Cloud) -> None:
    net = cloud.network("10.0.0.0/24")
    web = cloud.group(SSH)
    a, b = cloud.port(net, "10.0.0.5", web), cloud.port(net, "10.0.0.6", web)
    doc = cloud.trace(a, b).to_dict()
    assert doc["allowed"] is True
    assert {h["rule_id"] for h in doc["hops"] if h["step"].startswith("ingress")} == \
        {SSH["id"]}


def _path(result: t.Trace) -> str:
    return " ".join(h.detail for h in result.hops if h.step == "path")
