"""The topology of a cloud or a project, as pure data: networks (subnets, ports),
routers (gateway, interfaces) and floating IPs, from the dicts the API returns.

Two views of the same rules, shared by the CLI (`neutrino topology`, a client of the
API) and the server's topology page (`/topology`, fed by ``GET
/v2.0/neutrino/topology``): `build` nests them into a tree for the terminal, `graph`
lists nodes and the edges between them for a drawing. No I/O here: a neutral leaf that
both sides may import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Item = dict[str, Any]  # a resource as the API shows it

COLLECTIONS = ("networks", "subnets", "ports", "routers", "floatingips")
ROUTER_OWNERS = ("network:router_interface", "network:router_interface_distributed",
                 "network:ha_router_replicated_interface")
# Ports drawn under their router or floating IP rather than as plain ports.
HIDDEN_OWNERS = (*ROUTER_OWNERS, "network:router_gateway", "network:floatingip")


@dataclass
class Node:
    kind: str
    id: str
    label: str
    status: str | None = None
    children: list[Node] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "label": self.label,
                "status": self.status, "children": [c.to_dict() for c in self.children]}


def _name(item: dict[str, Any]) -> str:
    return str(item.get("name") or item["id"])


def _ips(port: dict[str, Any]) -> str:
    return ", ".join(f["ip_address"] for f in port.get("fixed_ips") or []) or "no IP"


def build(data: dict[str, list[Item]]) -> list[Node]:
    """Networks first (subnets, then ports), then routers (gateway, interfaces,
    floating IPs)."""
    subnets_by_net: dict[str, list[Item]] = {}
    for subnet in data["subnets"]:
        subnets_by_net.setdefault(subnet["network_id"], []).append(subnet)
    ports_by_net: dict[str, list[Item]] = {}
    for port in data["ports"]:
        ports_by_net.setdefault(port["network_id"], []).append(port)
    fips_by_port = {f["port_id"]: f for f in data["floatingips"] if f.get("port_id")}
    networks = {n["id"]: n for n in data["networks"]}
    subnets = {s["id"]: s for s in data["subnets"]}
    nodes = [_network(n, subnets_by_net.get(n["id"], []), ports_by_net.get(n["id"], []),
                      fips_by_port) for n in sorted(data["networks"], key=_name)]
    ports = {p["id"]: p for p in data["ports"]}
    for router in sorted(data["routers"], key=_name):
        nodes.append(_router(router, data["ports"], networks, subnets,
                             [f for f in data["floatingips"]
                              if f.get("router_id") == router["id"]], ports))
    unassociated = [f for f in data["floatingips"] if not f.get("router_id")]
    if unassociated:
        nodes.append(Node("floatingips", "", "floating IPs not associated", None, [
            Node("floatingip", f["id"], f"{f['floating_ip_address']} (from network "
                 f"{_name(networks.get(f['floating_network_id'], {'id': '?'}))})",
                 f.get("status")) for f in unassociated]))
    return nodes


def _network(net: dict[str, Any], subnets: list[Item], ports: list[Item],
             fips_by_port: dict[str, Item]) -> Node:
    flags = [flag for flag, on in (("external", net.get("router:external")),
                                   ("shared", net.get("shared"))) if on]
    kind = net.get("provider:network_type")
    label = f"network {_name(net)}" + (f" [{kind}]" if kind else "") + (
        f" ({', '.join(flags)})" if flags else "")
    node = Node("network", net["id"], label, net.get("status"))
    for subnet in sorted(subnets, key=lambda s: s["cidr"]):
        gateway = subnet.get("gateway_ip") or "no gateway"
        node.children.append(Node("subnet", subnet["id"],
                                  f"subnet {_name(subnet)} {subnet['cidr']} gw {gateway}"
                                  + ("" if subnet.get("enable_dhcp", True) else " no DHCP")))
    for port in sorted(ports, key=lambda p: (p.get("device_owner") or "", _name(p))):
        if (port.get("device_owner") or "") in HIDDEN_OWNERS:
            continue
        owner = port.get("device_owner") or "no owner"
        host = port.get("binding:host_id")
        label = f"port {_name(port)} {_ips(port)} ({owner}" + (
            f" on {host})" if host else ", unbound)")
        fip = fips_by_port.get(port["id"])
        if fip:
            label += f" ← floating IP {fip['floating_ip_address']}"
        if not port.get("admin_state_up", True):
            label += " admin down"
        node.children.append(Node("port", port["id"], label, port.get("status")))
    return node


def _router(router: Item, ports: list[Item], networks: dict[str, Item],
            subnets: dict[str, Item], fips: list[Item], by_id: dict[str, Item]) -> Node:
    node = Node("router", router["id"], f"router {_name(router)}"
                + ("" if router.get("admin_state_up", True) else " admin down"),
                router.get("status"))
    gateway = router.get("external_gateway_info") or None
    if gateway:
        ext = networks.get(gateway["network_id"], {"id": gateway["network_id"]})
        ips = ", ".join(f["ip_address"] for f in gateway.get("external_fixed_ips") or [])
        snat = "SNAT" if gateway.get("enable_snat", True) else "no SNAT"
        node.children.append(Node("gateway", gateway["network_id"],
                                  f"gateway → {_name(ext)} {ips} ({snat})"))
    for port in ports:
        if port.get("device_id") != router["id"] or port.get("device_owner") not in \
                ROUTER_OWNERS:
            continue
        for fixed in port.get("fixed_ips") or []:
            subnet = subnets.get(fixed["subnet_id"], {"id": fixed["subnet_id"], "cidr": "?"})
            node.children.append(Node("interface", port["id"],
                                      f"interface {fixed['ip_address']} on subnet "
                                      f"{_name(subnet)} {subnet['cidr']}", port.get("status")))
    for fip in sorted(fips, key=lambda f: f["floating_ip_address"]):
        target = by_id.get(fip.get("port_id") or "", {})
        label = f"floating IP {fip['floating_ip_address']} → {fip.get('fixed_ip_address')}"
        if target:
            label += f" (port {_name(target)})"
        node.children.append(Node("floatingip", fip["id"], label, fip.get("status")))
    return node


def external_network_ids(data: dict[str, list[Item]]) -> list[str]:
    """Networks that the routers' gateways and the floating IPs use but that `data`
    lacks (another project's external networks): they belong in a project's picture."""
    wanted = {(r.get("external_gateway_info") or {}).get("network_id")
              for r in data["routers"]} | {f.get("floating_network_id")
                                            for f in data["floatingips"]}
    have = {n["id"] for n in data["networks"]}
    return sorted(i for i in wanted - have if i)


# -- the graph: what the topology page draws ---------------------------------------------
#
# nodes: {"kind": network|router|port|floatingip, "id", "name", "status", ...details}
# edges: {"kind", "from", "to", "label", "status"}, kinds:
#   port       port -> network          a port on its network (label: its addresses)
#   interface  router -> network        a router interface (label: address, subnet)
#   gateway    router -> network        the external gateway (label: addresses, SNAT)
#   nat        floatingip -> port       the fixed address a floating IP translates to
#   via        floatingip -> router     the router doing that translation
#   pool       floatingip -> network    the external network it is allocated from
# Nodes and edges are sorted, so an unchanged topology is the same document (its ETag).


def graph(data: dict[str, list[Item]]) -> dict[str, list[dict[str, Any]]]:
    networks = {n["id"]: n for n in data["networks"]}
    subnets = {s["id"]: s for s in data["subnets"]}
    ports = {p["id"]: p for p in data["ports"]}
    routers = {r["id"]: r for r in data["routers"]}
    nodes = [_network_node(n, [s for s in data["subnets"] if s["network_id"] == n["id"]])
             for n in networks.values()]
    nodes += [_router_node(r) for r in routers.values()]
    nodes += [_port_node(p) for p in ports.values()
              if (p.get("device_owner") or "") not in HIDDEN_OWNERS]
    nodes += [_floatingip_node(f) for f in data["floatingips"]]
    shown = {n["id"] for n in nodes}
    edges = [e for e in _edges(data, subnets, routers) if e["from"] in shown
             and e["to"] in shown]
    nodes.sort(key=lambda n: (KINDS.index(n["kind"]), n["name"], n["id"]))
    edges.sort(key=lambda e: (e["kind"], e["from"], e["to"], e["label"]))
    return {"nodes": nodes, "edges": edges}


KINDS = ("network", "router", "port", "floatingip")


def _network_node(net: Item, subnets: list[Item]) -> dict[str, Any]:
    return {"kind": "network", "id": net["id"], "name": _name(net),
            "status": net.get("status"), "admin_state_up": net.get("admin_state_up", True),
            "external": bool(net.get("router:external")), "shared": bool(net.get("shared")),
            "network_type": net.get("provider:network_type"),
            "subnets": [{"id": s["id"], "name": s.get("name") or "", "cidr": s["cidr"],
                         "gateway_ip": s.get("gateway_ip")}
                        for s in sorted(subnets, key=lambda s: (s["cidr"], s["id"]))]}


def _router_node(router: Item) -> dict[str, Any]:
    return {"kind": "router", "id": router["id"], "name": _name(router),
            "status": router.get("status"),
            "admin_state_up": router.get("admin_state_up", True)}


def _port_node(port: Item) -> dict[str, Any]:
    return {"kind": "port", "id": port["id"], "name": _name(port),
            "status": port.get("status"), "admin_state_up": port.get("admin_state_up", True),
            "network_id": port["network_id"], "addresses": _addresses(port),
            "device_owner": port.get("device_owner") or "",
            "host": port.get("binding:host_id") or ""}


def _floatingip_node(fip: Item) -> dict[str, Any]:
    return {"kind": "floatingip", "id": fip["id"], "name": fip["floating_ip_address"],
            "status": fip.get("status"), "fixed_ip_address": fip.get("fixed_ip_address"),
            "port_id": fip.get("port_id"), "router_id": fip.get("router_id")}


def _edges(data: dict[str, list[Item]], subnets: dict[str, Item],
           routers: dict[str, Item]) -> list[dict[str, Any]]:
    edges = []
    for port in data["ports"]:
        owner = port.get("device_owner") or ""
        if owner not in HIDDEN_OWNERS:
            edges.append(_edge("port", port["id"], port["network_id"],
                               ", ".join(_addresses(port)), port.get("status")))
        elif owner in ROUTER_OWNERS and port.get("device_id") in routers:
            for fixed in port.get("fixed_ips") or []:
                cidr = subnets.get(fixed["subnet_id"], {}).get("cidr", "?")
                edges.append(_edge("interface", port["device_id"], port["network_id"],
                                   f"{fixed['ip_address']} ({cidr})", port.get("status")))
    for router in routers.values():
        gateway = router.get("external_gateway_info") or None
        if gateway:
            ips = [f["ip_address"] for f in gateway.get("external_fixed_ips") or []]
            snat = "SNAT" if gateway.get("enable_snat", True) else "no SNAT"
            edges.append(_edge("gateway", router["id"], gateway["network_id"],
                               ", ".join([*ips, snat]), router.get("status")))
    for fip in data["floatingips"]:
        if fip.get("port_id"):
            edges.append(_edge("nat", fip["id"], fip["port_id"],
                               fip.get("fixed_ip_address") or "", fip.get("status")))
        if fip.get("router_id"):
            edges.append(_edge("via", fip["id"], fip["router_id"], "", fip.get("status")))
        edges.append(_edge("pool", fip["id"], fip["floating_network_id"], "",
                           fip.get("status")))
    return edges


def _edge(kind: str, source: str, target: str, label: str, status: str | None
          ) -> dict[str, Any]:
    return {"kind": kind, "from": source, "to": target, "label": label, "status": status}


def _addresses(port: Item) -> list[str]:
    return [f["ip_address"] for f in port.get("fixed_ips") or []]
