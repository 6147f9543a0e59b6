"""Why can (or can't) A reach B: the decision, from the API's data alone.

Pure: `trace(src, dst, flow, world)` takes the two endpoints (a Neutron port and the
address it uses, or an address outside Neutrino) and the API dicts around them (a
`World`), and returns the hops in order with a verdict each:

    source port        admin state, binding, the host's L2 agent alive, port status
    destination port   the same
    path               same subnet (L2) | a router between the subnets (gateway or
                       host route each way) | out through a router's gateway (SNAT
                       or the source's floating IP) | in through a floating IP (DNAT)
    egress             source's security groups: the rule that lets the packet out
    ingress            destination's security groups: the rule that lets it in,
                       matched against the source address as the destination sees it
                       (after NAT)

"blocked" on any hop denies the flow; "warn" says something may stop it that the API
cannot settle (a port DOWN, a gateway that is not the router, a stateless group).
Fetching the world is `trace.py`'s business; this module does no I/O.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

OK, WARN, BLOCKED = "ok", "warn", "blocked"

ROUTER_OWNERS = ("network:router_interface", "network:router_interface_distributed",
                 "network:ha_router_replicated_interface")
L2_AGENT_TYPES = ("Linux bridge agent", "Open vSwitch agent")

# Protocol names of security group rules, as numbers.
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132,
             "dccp": 33, "udplite": 136, "gre": 47, "esp": 50, "ah": 51, "vrrp": 112}
PORT_PROTOCOLS = (6, 17, 33, 132, 136)
ICMP_PROTOCOLS = (1, 58)


@dataclass(frozen=True)
class Flow:
    protocol: str = "icmp"     # a name of PROTOCOLS, a number, or "any"
    port: int | None = None    # destination port (tcp/udp/...) or ICMP type

    def describe(self) -> str:
        if self.port is None:
            return self.protocol
        return f"{self.protocol}/{self.port}"


@dataclass
class Endpoint:
    given: str                           # what the operator named
    address: str                         # the fixed (or outside) address it uses
    port: dict[str, Any] | None = None   # None: an address outside Neutrino
    # Set when the endpoint was named by its floating IP: reach it through that.
    floatingip: dict[str, Any] | None = None

    def describe(self) -> str:
        if self.port is None:
            return f"{self.address} (outside)"
        name = self.port.get("name") or self.port["id"]
        return f"port {name} {self.address}"


@dataclass
class World:
    networks: dict[str, dict[str, Any]]
    subnets: dict[str, dict[str, Any]]
    routers: dict[str, dict[str, Any]]
    router_ports: list[dict[str, Any]]         # routers' interface ports
    floatingips: list[dict[str, Any]]
    security_groups: dict[str, dict[str, Any]]  # with security_group_rules
    agents: list[dict[str, Any]]
    address_groups: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Hop:
    step: str
    verdict: str
    detail: str
    rule_id: str | None = None    # the security group rule that allows, if one does


@dataclass
class Trace:
    allowed: bool
    hops: list[Hop]

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "hops": [h.__dict__ for h in self.hops]}


@dataclass
class _Path:
    hops: list[Hop]
    sent_to: str = ""                    # the destination address the source sends to
    seen_from: str = ""                  # the source address the destination sees
    reachable: bool = True


def trace(src: Endpoint, dst: Endpoint, flow: Flow, world: World) -> Trace:
    hops: list[Hop] = []
    for role, endpoint in (("source", src), ("destination", dst)):
        if endpoint.port is not None:
            hops.extend(port_checks(role, endpoint.port, world))
    path = find_path(src, dst, world)
    hops.extend(path.hops)
    if path.reachable:
        if src.port is not None:
            peer = dst.port if path.sent_to == dst.address else None
            hops.append(security_check("egress", src.port, path.sent_to, peer, flow, world))
        if dst.port is not None:
            peer = src.port if path.seen_from == src.address else None
            hops.append(security_check("ingress", dst.port, path.seen_from, peer, flow,
                                       world))
    return Trace(not any(h.verdict == BLOCKED for h in hops), hops)


# -- the ports ------------------------------------------------------------------------

def port_checks(role: str, port: dict[str, Any], world: World) -> list[Hop]:
    step = f"{role} port {port.get('name') or port['id']}"
    hops: list[Hop] = []
    network = world.networks.get(port["network_id"], {})
    if not port.get("admin_state_up", True):
        hops.append(Hop(step, BLOCKED, f"port {port['id']} is administratively down "
                                       "(admin_state_up false)"))
    if network and not network.get("admin_state_up", True):
        hops.append(Hop(step, BLOCKED, f"network {_name(network)} is administratively "
                                       "down"))
    hops.extend(binding_checks(step, port, world))
    status = port.get("status")
    # A port that cannot be wired is DOWN anyway: say why, not that.
    if status != "ACTIVE" and not hops:
        hops.append(Hop(step, WARN, f"port status {status}: its host has not (yet) "
                                    "wired it up"))
    if not hops or all(h.verdict == OK for h in hops):
        hops.append(Hop(step, OK, f"up, ACTIVE, bound to {port.get('binding:host_id')}"))
    return hops


def binding_checks(step: str, port: dict[str, Any], world: World) -> list[Hop]:
    host = port.get("binding:host_id") or ""
    vif_type = port.get("binding:vif_type") or "unbound"
    if not host:
        return [Hop(step, BLOCKED, "not bound to any host (binding:host_id empty): "
                                   "nothing plugs it")]
    if vif_type in ("binding_failed", "unbound"):
        return [Hop(step, BLOCKED, f"binding on host {host} is {vif_type}: no mechanism "
                                   "driver could bind it there")]
    agents = [a for a in world.agents
              if a.get("host") == host and a.get("agent_type") in L2_AGENT_TYPES]
    if not agents:
        return [Hop(step, BLOCKED, f"no L2 agent on host {host}")]
    alive = [a for a in agents if a.get("alive")]
    if not alive:
        last = max(str(a.get("heartbeat_timestamp")) for a in agents)
        return [Hop(step, BLOCKED, f"{agents[0]['agent_type']} on host {host} is DOWN "
                                   f"(last heartbeat {last}): nothing on that host "
                                   "applies changes")]
    if not any(a.get("admin_state_up", True) for a in alive):
        return [Hop(step, WARN, f"the L2 agent on host {host} is administratively down")]
    return []


# -- the path -------------------------------------------------------------------------

def find_path(src: Endpoint, dst: Endpoint, world: World) -> _Path:
    if src.port is None and dst.port is None:
        return _Path([Hop("path", BLOCKED, "neither end is a Neutrino port")],
                     reachable=False)
    if dst.floatingip is not None:
        return _via_floating_ip(src, dst, world)
    if dst.port is None:
        return _out_through_gateway(src, dst.address, world)
    if src.port is None:
        return _from_outside_to_fixed(src, dst, world)
    s_subnet, d_subnet = subnet_of(src, world), subnet_of(dst, world)
    if s_subnet and d_subnet and s_subnet["id"] == d_subnet["id"]:
        return _Path([Hop("path", OK, f"same subnet {_name(s_subnet)} {s_subnet['cidr']} "
                                      f"on network {_net_name(s_subnet, world)}: L2, no "
                                      "router")], dst.address, src.address)
    if s_subnet is None or d_subnet is None:
        return _Path([Hop("path", BLOCKED, "an address is in none of its port's subnets")],
                     reachable=False)
    router = router_between(s_subnet, d_subnet, world)
    if router is not None:
        return _routed(src, dst, s_subnet, d_subnet, router, world)
    if dst.port["network_id"] in _external_ids_of_routers(s_subnet, world):
        return _out_through_gateway(src, dst.address, world, dst_port=True)
    if src.port["network_id"] in _external_ids_of_routers(d_subnet, world):
        return _from_outside_to_fixed(src, dst, world)  # in from the gateway's side
    return _Path([Hop("path", BLOCKED,
                      f"no router connects subnet {_name(s_subnet)} {s_subnet['cidr']} "
                      f"(network {_net_name(s_subnet, world)}) and subnet "
                      f"{_name(d_subnet)} {d_subnet['cidr']} (network "
                      f"{_net_name(d_subnet, world)})")], reachable=False)


def _routed(src: Endpoint, dst: Endpoint, s_subnet: dict[str, Any],
            d_subnet: dict[str, Any], router: dict[str, Any], world: World) -> _Path:
    hops = [_router_state(router)]
    s_ip = interface_ip(router, s_subnet, world)
    d_ip = interface_ip(router, d_subnet, world)
    hops.append(_route_hop("route there", s_subnet, dst.address, s_ip, router))
    hops.append(_route_hop("route back", d_subnet, src.address, d_ip, router))
    hops.append(Hop("path", OK, f"router {_name(router)} between {s_subnet['cidr']} "
                                f"({s_ip}) and {d_subnet['cidr']} ({d_ip}); no NAT between "
                                "a router's internal subnets"))
    return _Path(hops, dst.address, src.address,
                 reachable=hops[0].verdict != BLOCKED)


def _route_hop(step: str, subnet: dict[str, Any], to: str, router_ip: str | None,
               router: dict[str, Any]) -> Hop:
    if subnet.get("gateway_ip") and subnet["gateway_ip"] == router_ip:
        return Hop(step, OK, f"{subnet['cidr']}: default route via gateway {router_ip} "
                             f"(router {_name(router)})")
    for route in subnet.get("host_routes") or []:
        if _contains(route["destination"], to) and route["nexthop"] == router_ip:
            return Hop(step, OK, f"{subnet['cidr']}: host route {route['destination']} "
                                 f"via {router_ip} (router {_name(router)})")
    gateway = subnet.get("gateway_ip") or "none"
    return Hop(step, WARN, f"{subnet['cidr']}: gateway {gateway} is not router "
                           f"{_name(router)}'s interface {router_ip} and no host route to "
                           f"{to} goes there: the guest needs its own route")


def _out_through_gateway(src: Endpoint, address: str, world: World,
                         dst_port: bool = False) -> _Path:
    """From a port behind a router out through the router's external gateway."""
    assert src.port is not None
    s_subnet = subnet_of(src, world)
    if s_subnet is None:
        return _Path([Hop("path", BLOCKED, "the source address is in none of its "
                                           "port's subnets")], reachable=False)
    if src.port["network_id"] in _external_network_ids(world) and not dst_port:
        return _Path([Hop("path", OK, f"{src.address} is on external network "
                                      f"{_net_name(s_subnet, world)}: {address} is "
                                      "beyond it")], address, src.address)
    routers = [r for r in routers_on_subnet(s_subnet, world)
               if r.get("external_gateway_info")]
    if not routers:
        return _Path([Hop("path", BLOCKED, f"no router with an external gateway has an "
                                           f"interface on subnet {s_subnet['cidr']}: "
                                           f"{address} is unreachable")], reachable=False)
    router = routers[0]
    gateway = router["external_gateway_info"]
    hops = [_router_state(router), _route_hop("route there", s_subnet, address,
                                              interface_ip(router, s_subnet, world),
                                              router)]
    seen, nat = _source_nat(src, router, world)
    hops.append(nat)
    ext = world.networks.get(gateway["network_id"], {"id": gateway["network_id"]})
    hops.append(Hop("path", OK, f"out through router {_name(router)}'s gateway on "
                                f"external network {_name(ext)} to {address}"))
    return _Path(hops, address, seen, reachable=hops[0].verdict != BLOCKED)


def _source_nat(src: Endpoint, router: dict[str, Any], world: World) -> tuple[str, Hop]:
    """The source address after the router: its floating IP, the gateway's (SNAT), or
    unchanged."""
    assert src.port is not None
    gateway = router["external_gateway_info"]
    for fip in world.floatingips:
        if fip.get("port_id") == src.port["id"] and \
                fip.get("floating_network_id") == gateway["network_id"]:
            return fip["floating_ip_address"], Hop(
                "nat", OK, f"source {src.address} leaves as its floating IP "
                           f"{fip['floating_ip_address']} (router {_name(router)})")
    if gateway.get("enable_snat", True):
        ips = [f["ip_address"] for f in gateway.get("external_fixed_ips") or []
               if _same_version(f["ip_address"], src.address)]
        if ips:
            return ips[0], Hop("nat", OK, f"SNAT: source {src.address} leaves as the "
                                          f"router's gateway address {ips[0]}")
        return src.address, Hop("nat", BLOCKED, f"router {_name(router)} has no gateway "
                                                f"address of {src.address}'s IP version")
    return src.address, Hop("nat", WARN, f"router {_name(router)} does no SNAT "
                                         "(enable_snat false): the source leaves as "
                                         f"{src.address}; replies need a route back to it "
                                         "on the external network")


def _via_floating_ip(src: Endpoint, dst: Endpoint, world: World) -> _Path:
    """To a port by its floating IP: to the external network, then DNAT on the
    floating IP's router."""
    fip = dst.floatingip
    assert fip is not None and dst.port is not None
    router = world.routers.get(fip.get("router_id") or "")
    address = fip["floating_ip_address"]
    if router is None:
        return _Path([Hop("path", BLOCKED, f"floating IP {address} is on no router")],
                     reachable=False)
    hops = [_router_state(router)]
    if fip.get("status") not in ("ACTIVE", None):
        hops.append(Hop("nat", WARN, f"floating IP {address} status {fip.get('status')}"))
    hops.append(Hop("nat", OK, f"DNAT on router {_name(router)}: floating IP {address} → "
                               f"{fip.get('fixed_ip_address')}"))
    if src.port is None:
        hops.append(Hop("path", OK, f"from {src.address} on the external network to "
                                    f"{address}"))
        return _Path(hops, address, src.address, reachable=hops[0].verdict != BLOCKED)
    if src.port["network_id"] == fip["floating_network_id"]:
        hops.append(Hop("path", OK, "source is on the floating IP's network "
                                    f"{_network_name(src.port['network_id'], world)}"))
        return _Path(hops, address, src.address, reachable=hops[0].verdict != BLOCKED)
    out = _out_through_gateway(src, address, world)
    if out.reachable:
        gw_net = _gateway_network_of(src, world)
        if gw_net is not None and gw_net != fip["floating_network_id"]:
            out.hops.append(Hop("path", BLOCKED, "the source's router has its gateway on "
                                                 "another network than the floating IP"))
            out.reachable = False
    return _Path(out.hops + hops, address, out.seen_from,
                 reachable=out.reachable and hops[0].verdict != BLOCKED)


def _from_outside_to_fixed(src: Endpoint, dst: Endpoint, world: World) -> _Path:
    assert dst.port is not None
    if dst.port["network_id"] in _external_network_ids(world):
        return _Path([Hop("path", OK, f"{dst.address} is on external network "
                                      f"{_net_name(subnet_of(dst, world) or {}, world)}: "
                                      "directly reachable from it")], dst.address,
                     src.address)
    return _Path([Hop("path", BLOCKED, f"{dst.address} is a fixed address behind a "
                                       "router: from outside only a floating IP reaches "
                                       "it (name the floating IP)")], reachable=False)


def _router_state(router: dict[str, Any]) -> Hop:
    if not router.get("admin_state_up", True):
        return Hop("router", BLOCKED, f"router {_name(router)} is administratively down")
    status = router.get("status")
    if status not in ("ACTIVE", None):
        return Hop("router", WARN, f"router {_name(router)} status {status}")
    return Hop("router", OK, f"router {_name(router)} up")


# -- security groups ------------------------------------------------------------------

def security_check(direction: str, port: dict[str, Any], remote: str,
                   peer: dict[str, Any] | None, flow: Flow, world: World) -> Hop:
    """Whether `port`'s groups let the flow out (egress, `remote` = where it goes) or
    in (ingress, `remote` = where it comes from, after NAT). `peer` is the other
    port when `remote` is its fixed address (remote-group rules match only that)."""
    step = f"{direction} on port {port.get('name') or port['id']}"
    if port.get("port_security_enabled") is False:
        return Hop(step, OK, "port security off: no security groups, no filtering")
    groups = [world.security_groups.get(g) for g in port.get("security_groups") or []]
    if not groups:
        return Hop(step, BLOCKED, "port security on and no security group: every packet "
                                  "is dropped")
    for group in groups:
        if group is None:
            continue
        for rule in group.get("security_group_rules") or []:
            if rule_matches(rule, direction, remote, peer, flow, world):
                stateless = group.get("stateful") is False
                return Hop(step, WARN if stateless else OK,
                           f"rule {rule['id']} of group {_name(group)} allows "
                           f"{describe_rule(rule)}"
                           + ("; the group is stateless: the reply needs a rule too"
                              if stateless else ""), rule["id"])
    names = ", ".join(_name(g) for g in groups if g is not None)
    way = "to" if direction == "egress" else "from"
    return Hop(step, BLOCKED, f"no rule allows {direction} {flow.describe()} {way} "
                              f"{remote} on port {port['id']} (groups: {names})")


def rule_matches(rule: dict[str, Any], direction: str, remote: str,
                 peer: dict[str, Any] | None, flow: Flow, world: World) -> bool:
    if rule.get("direction") != direction:
        return False
    version = ipaddress.ip_address(remote).version
    if rule.get("ethertype", "IPv4") != f"IPv{version}":
        return False
    if not protocol_matches(rule, flow, version):
        return False
    return remote_matches(rule, remote, peer, world)


def protocol_number(name: str | int | None, version: int = 4) -> int | None:
    """None for any protocol."""
    if name is None or name in ("", "any"):
        return None
    text = str(name).lower()
    if text == "icmp" and version == 6:
        return 58
    if text.isdigit():
        return int(text)
    return PROTOCOLS.get(text, -1)


def protocol_matches(rule: dict[str, Any], flow: Flow, version: int) -> bool:
    wanted = protocol_number(rule.get("protocol"), version)
    if wanted is None:
        return True
    if wanted != protocol_number(flow.protocol, version):
        return False
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if wanted in PORT_PROTOCOLS:
        if low is None and high is None:
            return True
        # No --port given: only a rule for every port settles it.
        return flow.port is not None and (low or 0) <= flow.port <= (high or 65535)
    if wanted in ICMP_PROTOCOLS and low is not None:
        return flow.port is not None and flow.port == low
    return True


def remote_matches(rule: dict[str, Any], remote: str, peer: dict[str, Any] | None,
                   world: World) -> bool:
    if rule.get("remote_ip_prefix"):
        return _contains(rule["remote_ip_prefix"], remote)
    if rule.get("remote_group_id"):
        return peer is not None and rule["remote_group_id"] in (
            peer.get("security_groups") or [])
    if rule.get("remote_address_group_id"):
        group = world.address_groups.get(rule["remote_address_group_id"], {})
        return any(_contains(a, remote) for a in group.get("addresses") or [])
    return True


def describe_rule(rule: dict[str, Any]) -> str:
    protocol = rule.get("protocol") or "any protocol"
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    ports = "" if low is None else (f"/{low}" if high in (None, low) else f"/{low}-{high}")
    if rule.get("remote_ip_prefix"):
        remote = rule["remote_ip_prefix"]
    elif rule.get("remote_group_id"):
        remote = f"members of group {rule['remote_group_id']}"
    elif rule.get("remote_address_group_id"):
        remote = f"address group {rule['remote_address_group_id']}"
    else:
        remote = "anywhere"
    way = "from" if rule.get("direction") == "ingress" else "to"
    return f"{rule.get('direction')} {rule.get('ethertype')} {protocol}{ports} {way} {remote}"


# -- helpers --------------------------------------------------------------------------

def subnet_of(endpoint: Endpoint, world: World) -> dict[str, Any] | None:
    if endpoint.port is None:
        return None
    for fixed in endpoint.port.get("fixed_ips") or []:
        if fixed["ip_address"] == endpoint.address:
            return world.subnets.get(fixed["subnet_id"])
    return None


def routers_on_subnet(subnet: dict[str, Any], world: World) -> list[dict[str, Any]]:
    ids = [p["device_id"] for p in world.router_ports
           if any(f["subnet_id"] == subnet["id"] for f in p.get("fixed_ips") or [])]
    return [world.routers[i] for i in dict.fromkeys(ids) if i in world.routers]


def router_between(a: dict[str, Any], b: dict[str, Any], world: World
                   ) -> dict[str, Any] | None:
    on_b = {r["id"] for r in routers_on_subnet(b, world)}
    for router in routers_on_subnet(a, world):
        if router["id"] in on_b:
            return router
    return None


def interface_ip(router: dict[str, Any], subnet: dict[str, Any], world: World
                 ) -> str | None:
    for port in world.router_ports:
        if port.get("device_id") != router["id"]:
            continue
        for fixed in port.get("fixed_ips") or []:
            if fixed["subnet_id"] == subnet["id"]:
                return str(fixed["ip_address"])
    return None


def _external_ids_of_routers(subnet: dict[str, Any], world: World) -> set[str]:
    return {r["external_gateway_info"]["network_id"] for r in routers_on_subnet(subnet, world)
            if r.get("external_gateway_info")}


def _gateway_network_of(src: Endpoint, world: World) -> str | None:
    subnet = subnet_of(src, world)
    ids = sorted(_external_ids_of_routers(subnet, world)) if subnet else []
    return ids[0] if ids else None


def _external_network_ids(world: World) -> set[str]:
    return {i for i, n in world.networks.items() if n.get("router:external")}


def _contains(prefix: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False


def _same_version(a: str, b: str) -> bool:
    return ipaddress.ip_address(a).version == ipaddress.ip_address(b).version


def _name(item: dict[str, Any]) -> str:
    return str(item.get("name") or item.get("id") or "?")


def _net_name(subnet: dict[str, Any], world: World) -> str:
    return _network_name(subnet.get("network_id", ""), world)


def _network_name(network_id: str, world: World) -> str:
    return _name(world.networks.get(network_id, {"id": network_id}))
