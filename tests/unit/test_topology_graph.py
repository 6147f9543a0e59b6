"""neutrino.topology.graph: what the topology page draws, from the API's dicts (pure)."""

from __future__ import annotations

import random

from neutrino import topology

EXT, NET, OTHER = "ext-net", "net-a", "net-gone"
ROUTER, VM, DHCP, FIP = "router-1", "port-vm", "port-dhcp", "fip-1"


def data() -> dict[str, list[dict]]:
    return {
        "networks": [
            {"id": EXT, "name": "public", "status": "ACTIVE", "router:external": True},
            {"id": NET, "name": "net-a", "status": "ACTIVE", "admin_state_up": False,
             "provider:network_type": "vxlan"}],
        "subnets": [
            {"id": "sub-ext", "network_id": EXT, "cidr": "198.51.100.0/24",
             "gateway_ip": "198.51.100.1"},
            {"id": "sub-a", "network_id": NET, "cidr": "10.0.0.0/24", "name": "a",
             "gateway_ip": "10.0.0.1"}],
        "ports": [
            {"id": VM, "name": "vm", "network_id": NET, "status": "DOWN",
             "device_owner": "compute:nova", "binding:host_id": "cmp-1",
             "fixed_ips": [{"subnet_id": "sub-a", "ip_address": "10.0.0.5"}]},
            {"id": DHCP, "name": "", "network_id": NET, "status": "ACTIVE",
             "device_owner": "network:dhcp",
             "fixed_ips": [{"subnet_id": "sub-a", "ip_address": "10.0.0.2"}]},
            {"id": "port-ri", "network_id": NET, "status": "ACTIVE", "device_id": ROUTER,
             "device_owner": "network:router_interface",
             "fixed_ips": [{"subnet_id": "sub-a", "ip_address": "10.0.0.1"}]},
            {"id": "port-gw", "network_id": EXT, "status": "ACTIVE", "device_id": ROUTER,
             "device_owner": "network:router_gateway",
             "fixed_ips": [{"subnet_id": "sub-ext", "ip_address": "198.51.100.7"}]},
            {"id": "port-fip", "network_id": EXT, "device_id": FIP,
             "device_owner": "network:floatingip",
             "fixed_ips": [{"subnet_id": "sub-ext", "ip_address": "198.51.100.9"}]},
            # An interface on a network the caller cannot see: no node, no edge.
            {"id": "port-ri2", "network_id": OTHER, "status": "ACTIVE", "device_id": ROUTER,
             "device_owner": "network:router_interface",
             "fixed_ips": [{"subnet_id": "sub-gone", "ip_address": "10.9.0.1"}]}],
        "routers": [
            {"id": ROUTER, "name": "r1", "status": "ACTIVE",
             "external_gateway_info": {"network_id": EXT, "enable_snat": False,
                                       "external_fixed_ips": [
                                           {"subnet_id": "sub-ext",
                                            "ip_address": "198.51.100.7"}]}}],
        "floatingips": [
            {"id": FIP, "floating_ip_address": "198.51.100.9", "status": "ACTIVE",
             "floating_network_id": EXT, "port_id": VM, "router_id": ROUTER,
             "fixed_ip_address": "10.0.0.5"},
            {"id": "fip-loose", "floating_ip_address": "198.51.100.20", "status": "DOWN",
             "floating_network_id": EXT, "port_id": None, "router_id": None}],
    }


def test_nodes_are_networks_routers_ports_and_floating_ips() -> None:
    nodes = topology.graph(data())["nodes"]
    assert [(n["kind"], n["name"]) for n in nodes] == [
        ("network", "net-a"), ("network", "public"), ("router", "r1"),
        ("port", DHCP), ("port", "vm"),  # a port without a name is shown by its id
        ("floatingip", "198.51.100.20"), ("floatingip", "198.51.100.9")]
    by_id = {n["id"]: n for n in nodes}
    assert by_id[NET]["admin_state_up"] is False
    assert by_id[NET]["network_type"] == "vxlan"
    assert by_id[NET]["subnets"] == [{"id": "sub-a", "name": "a", "cidr": "10.0.0.0/24",
                                      "gateway_ip": "10.0.0.1"}]
    assert by_id[EXT]["external"] is True and by_id[NET]["external"] is False
    assert by_id[VM]["addresses"] == ["10.0.0.5"]
    assert (by_id[VM]["status"], by_id[VM]["host"]) == ("DOWN", "cmp-1")
    assert by_id[FIP]["fixed_ip_address"] == "10.0.0.5"


def test_edges_link_what_is_shown() -> None:
    edges = topology.graph(data())["edges"]
    assert [(e["kind"], e["from"], e["to"], e["label"]) for e in edges] == [
        ("gateway", ROUTER, EXT, "198.51.100.7, no SNAT"),
        ("interface", ROUTER, NET, "10.0.0.1 (10.0.0.0/24)"),
        ("nat", FIP, VM, "10.0.0.5"),
        ("pool", FIP, EXT, ""), ("pool", "fip-loose", EXT, ""),
        ("port", DHCP, NET, "10.0.0.2"), ("port", VM, NET, "10.0.0.5"),
        ("via", FIP, ROUTER, "")]
    assert {e["status"] for e in edges if e["from"] == VM} == {"DOWN"}


def test_the_same_topology_is_the_same_document() -> None:
    """The page's ETag relies on it: the order of the API's lists does not matter."""
    shuffled = data()
    for items in shuffled.values():
        random.Random(7).shuffle(items)
    assert topology.graph(shuffled) == topology.graph(data())


def test_external_networks_a_project_uses() -> None:
    project = data()
    project["networks"] = [n for n in project["networks"] if n["id"] != EXT]
    assert topology.external_network_ids(project) == [EXT]
    assert topology.external_network_ids(data()) == []
    assert topology.graph({c: [] for c in topology.COLLECTIONS}) == {"nodes": [],
                                                                       "edges": []}
