"""``neutrino topology [--project P]``: networks (their subnets and ports), routers
(gateway, interfaces) and floating IPs as a tree. The model is `neutrino.topology`
(pure, shared with the server's topology page): `build` turns API dicts into nested
nodes; here `fetch` reads them over HTTP and `render` draws them with rich."""

from __future__ import annotations

import argparse
from typing import Any

from rich.tree import Tree

from neutrino.cli.client import Client
from neutrino.cli.output import Output
from neutrino.topology import COLLECTIONS, Item, Node, build, external_network_ids

__all__ = ["Node", "build", "fetch", "render", "run"]

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
        for net_id in external_network_ids(data):
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
