"""``neutrino topology [--project P]``: networks (their subnets and ports), routers
(gateway, interfaces) and floating IPs as a tree. `build` is pure: API dicts in,
nested nodes out; `render` draws them with rich."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from rich.tree import Tree

from neutrino.cli.client import Client
from neutrino.cli.output import Output

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


STATUS_STYLE = {"ACTIVE": "green", "DOWN": "red", "ERROR": "bold red", "BUILD": "yellow"}


def render(out: Output, nodes: list[Node], title: str) -> None:
    tree = Tree(title)

    def add(parent: Tree, node: Node) -> None:
        status = f" [{STATUS_STYLE.get(node.status or '', 'white')}]{node.status}[/]" \
            if node.status else ""
        branch = parent.add(_escape(node.label) + status)
        for child in node.children:
            add(branch, child)
    for node in nodes:
        add(tree, node)
    out.print(tree)


def _escape(text: str) -> str:
    from rich.markup import escape
    return escape(text)


def fetch(client: Client, project: str | None, out: Output) -> dict[str, list[Item]]:
    params = {"project_id": project} if project else None
    data: dict[str, list[Item]] = {}
    with out.progress("fetching", len(COLLECTIONS)) as advance:
        for collection in COLLECTIONS:
            data[collection] = client.list(collection, params=params)
            advance()
    if project:
        # External networks of other projects that this project's routers and
        # floating IPs use belong in the picture.
        wanted = {(r.get("external_gateway_info") or {}).get("network_id")
                  for r in data["routers"]} | {f["floating_network_id"]
                                                for f in data["floatingips"]}
        have = {n["id"] for n in data["networks"]}
        for net_id in sorted(i for i in wanted - have if i):
            data["networks"].append(client.show("network", "networks", net_id))
            data["subnets"].extend(client.list("subnets", params={"network_id": net_id}))
    return data


def run(args: argparse.Namespace, client: Client, out: Output) -> int:
    data = fetch(client, args.project, out)
    nodes = build(data)
    if out.json:
        out.document({"project": args.project,
                      "tree": [n.to_dict() for n in nodes]})
    else:
        render(out, nodes, f"project {args.project}" if args.project
               else "all projects")
    return 0


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser("topology", parents=[common],
                         help="networks, subnets, routers, ports, floating IPs as a tree",
                         description="Networks with their subnets and ports, routers with "
                                     "their gateway, interfaces and floating IPs, drawn "
                                     "as a tree (statuses coloured). With --project, "
                                     "that project's resources (and the external "
                                     "networks they use).")
    cmd.set_defaults(func=run)
