"""``neutrino trace A B [--protocol tcp --port 22]``: fetches from the API what the
decision needs (the two ports, their networks and subnets, the routers on those
subnets and their interfaces, floating IPs, security groups, the L2 agents of the
binding hosts) and prints `trace_logic.trace`'s hops. ``--live`` (root, on the host a
port is bound to) adds what this host's kernel shows (live.py)."""

from __future__ import annotations

import argparse
import ipaddress
import socket
from typing import Any

from rich.text import Text

from neutrino.cli import trace_logic as logic
from neutrino.cli.client import ApiError, Client
from neutrino.cli.output import Output

STYLE = {logic.OK: "green", logic.WARN: "yellow", logic.BLOCKED: "bold red"}


def resolve(client: Client, given: str) -> logic.Endpoint:
    """A port id or name, a fixed IP, a floating IP, or an address outside Neutrino."""
    try:
        ipaddress.ip_address(given)
    except ValueError:
        return _port_endpoint(given, _port_by_id_or_name(client, given))
    fips = client.list("floatingips", params={"floating_ip_address": given})
    if len(fips) > 1:
        # The same address can be floating on several external networks.
        raise ApiError(f"{given} is the floating IP of {len(fips)} ports (on different "
                       f"external networks): name the port "
                       f"({', '.join(f['port_id'] or f['id'] for f in fips)})")
    if fips:
        fip = fips[0]
        if not fip.get("port_id"):
            raise ApiError(f"floating IP {given} is associated with no port")
        port = client.show("port", "ports", fip["port_id"])
        return logic.Endpoint(given, fip["fixed_ip_address"], port, fip)
    ports = client.list("ports", params={"fixed_ips": f"ip_address={given}"})
    if len(ports) > 1:
        raise ApiError(f"{given} is the address of {len(ports)} ports (in different "
                       f"networks): name the port ({', '.join(p['id'] for p in ports)})")
    if ports:
        return logic.Endpoint(given, given, ports[0])
    return logic.Endpoint(given, given, None)


def _port_by_id_or_name(client: Client, given: str) -> dict[str, Any]:
    try:
        return client.show("port", "ports", given)
    except ApiError as error:
        if error.status != 404:
            raise
    ports = client.list("ports", params={"name": given})
    if len(ports) != 1:
        raise ApiError(f"no port {given}" if not ports else
                       f"{len(ports)} ports are named {given}: use an id")
    return ports[0]


def _port_endpoint(given: str, port: dict[str, Any]) -> logic.Endpoint:
    ips = [f["ip_address"] for f in port.get("fixed_ips") or []]
    if not ips:
        raise ApiError(f"port {given} has no fixed IP")
    v4 = [ip for ip in ips if ipaddress.ip_address(ip).version == 4]
    return logic.Endpoint(given, (v4 or ips)[0], port)


def fetch_world(client: Client, ends: list[logic.Endpoint]) -> logic.World:
    ports = [e.port for e in ends if e.port is not None]
    network_ids = {p["network_id"] for p in ports}
    fips = [e.floatingip for e in ends if e.floatingip is not None]
    for port in ports:
        fips += client.list("floatingips", params={"port_id": port["id"]})
    network_ids |= {f["floating_network_id"] for f in fips}
    subnets = {s["id"]: s for net in sorted(network_ids)
               for s in client.list("subnets", params={"network_id": net})}
    # Only routers' interfaces: an external network may hold thousands of ports.
    router_ports = client.list("ports", params={"network_id": sorted(network_ids),
                                                "device_owner": list(logic.ROUTER_OWNERS)})
    router_ids = {p["device_id"] for p in router_ports} | {
        f["router_id"] for f in fips if f.get("router_id")}
    routers = {r: client.show("router", "routers", r) for r in sorted(router_ids)}
    for router in routers.values():
        gateway = router.get("external_gateway_info") or {}
        if gateway.get("network_id"):
            network_ids.add(gateway["network_id"])
    networks = {n: client.show("network", "networks", n) for n in sorted(network_ids)}
    groups = {g: client.show("security_group", "security-groups", g)
              for g in sorted({g for p in ports for g in p.get("security_groups") or []})}
    address_group_ids = {r["remote_address_group_id"] for g in groups.values()
                         for r in g.get("security_group_rules") or []
                         if r.get("remote_address_group_id")}
    address_groups = {a: client.show("address_group", "address-groups", a)
                      for a in sorted(address_group_ids)}
    hosts = sorted({str(p["binding:host_id"]) for p in ports if p.get("binding:host_id")})
    agents = [a for host in hosts
              for a in client.list("agents", params={"host": host})]
    unique_fips = list({f["id"]: f for f in fips}.values())
    return logic.World(networks, subnets, routers, router_ports, unique_fips, groups,
                       agents, address_groups)


def render(out: Output, src: logic.Endpoint, dst: logic.Endpoint, flow: logic.Flow,
           result: logic.Trace, live: list[logic.Hop] | None) -> None:
    verdict = Text("ALLOWED", style="bold green") if result.allowed else Text(
        "DENIED", style="bold red")
    out.print(Text.assemble(f"{src.describe()} → {dst.describe()} {flow.describe()}: ",
                            verdict))
    rows = [[h.step, Text(h.verdict, style=STYLE[h.verdict]), h.detail]
            for h in result.hops + (live or [])]
    out.table("hops", ["step", "verdict", "why"], rows)


def run(args: argparse.Namespace, client: Client, out: Output) -> int:
    flow = logic.Flow(args.protocol, args.port if args.port is not None else (
        8 if args.protocol == "icmp" else None))
    src, dst = resolve(client, args.source), resolve(client, args.destination)
    world = fetch_world(client, [src, dst])
    result = logic.trace(src, dst, flow, world)
    live_hops = None
    if args.live:
        from neutrino.cli import live
        live_hops = live.check(src, dst, result, world, args.host, args.host_netns)
    if out.json:
        out.document({"source": _end(src), "destination": _end(dst),
                      "flow": flow.__dict__, **result.to_dict(),
                      "live": [h.__dict__ for h in live_hops] if live_hops is not None
                      else None})
    else:
        render(out, src, dst, flow, result, live_hops)
    differs = any(h.verdict != logic.OK for h in live_hops or [])
    return 0 if result.allowed and not differs else 1


def _end(endpoint: logic.Endpoint) -> dict[str, Any]:
    return {"given": endpoint.given, "address": endpoint.address,
            "port_id": endpoint.port["id"] if endpoint.port else None,
            "floating_ip": endpoint.floatingip["floating_ip_address"]
            if endpoint.floatingip else None}


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "trace", parents=[common], help="why A can or cannot reach B",
        description="Explain, hop by hop from the API's data, whether traffic from A to "
                    "B is allowed: ports' admin state, binding and agent liveness, same "
                    "subnet or a router between them (gateways, host routes), NAT or a "
                    "floating IP on the way, each side's security groups (the rule that "
                    "allows it, or that none does), port security. A and B: a port id "
                    "or name, a fixed IP, a floating IP (reach the port through it), or "
                    "an address outside. Exit status 0 when allowed.")
    cmd.add_argument("source", help="port id/name, fixed IP, floating IP or address")
    cmd.add_argument("destination", help="port id/name, fixed IP, floating IP or address")
    cmd.add_argument("--protocol", default="icmp",
                     help="tcp, udp, icmp (default; echo request), a number or any")
    cmd.add_argument("--port", type=int, default=None,
                     help="destination port (tcp/udp), or ICMP type")
    cmd.add_argument("--live", action="store_true",
                     help="also check this host's realised state (root): bridges, "
                          "firewall chains and sets, NAT, and where they differ")
    cmd.add_argument("--host", default=socket.gethostname(),
                     help="--live: the ports bound to this host are checked (default: "
                          "this machine's name)")
    cmd.add_argument("--host-netns", default=None,
                     help="--live: read the host's state in this namespace (a host "
                          "played by a namespace, as neutrino-vif --host-netns)")
    cmd.set_defaults(func=run)
