"""get_metadata_instance over RabbitMQ, answered from a real server's database after
API calls: (network or router) + address → the one instance port, its project and
what the built-in upstream serves; anything else None (the agent's 404)."""

from __future__ import annotations

from rpc_helpers import PluginClient, unique
from server import Api


def ip_of(port: dict) -> str:
    return port["fixed_ips"][0]["ip_address"]


def test_instance_by_network_or_router_and_address(admin: Api,
                                                   plugin: PluginClient) -> None:
    alice, bob = admin.as_project(unique("alice")), admin.as_project(unique("bob"))
    net_a = alice.network(name="a")
    sub_a = alice.subnet(net_a["id"], "10.61.0.0/24", dns_nameservers=["192.0.2.53"])
    vm_a = alice.port(net_a["id"], name="web-1", device_id=unique("inst"),
                      device_owner="compute:nova",
                      fixed_ips=[{"subnet_id": sub_a["id"], "ip_address": "10.61.0.10"}])
    no_device = alice.port(net_a["id"])
    # Bob's network has the same CIDR and a VM with the same address.
    net_b = bob.network(name="b")
    sub_b = bob.subnet(net_b["id"], "10.61.0.0/24")
    vm_b = bob.port(net_b["id"], device_id=unique("inst"), device_owner="compute:nova",
                    fixed_ips=[{"subnet_id": sub_b["id"], "ip_address": "10.61.0.10"}])

    def ask(address: str, **where: str) -> dict | None:
        return plugin.call("get_metadata_instance", ip_address=address, **where)

    found = ask("10.61.0.10", network_id=net_a["id"])
    assert found is not None
    assert (found["instance_id"], found["project_id"]) == (vm_a["device_id"],
                                                          vm_a["project_id"])
    port = found["port"]
    assert (port["id"], port["name"], port["mac_address"]) == (
        vm_a["id"], "web-1", vm_a["mac_address"])
    assert port["fixed_ips"] == [{"subnet_id": sub_a["id"], "ip_address": "10.61.0.10"}]
    assert port["hostname"] == "host-10-61-0-10"
    assert port["fqdn"] == "host-10-61-0-10.openstacklocal"
    assert found["network"] == {"id": net_a["id"], "name": "a", "mtu": net_a["mtu"]}
    [subnet] = found["subnets"]
    assert (subnet["id"], subnet["cidr"], subnet["gateway_ip"], subnet["enable_dhcp"],
            subnet["dns_nameservers"]) == (sub_a["id"], "10.61.0.0/24", "10.61.0.1", True,
                                           ["192.0.2.53"])
    assert found["floating_ips"] == []

    # The same address on Bob's network is Bob's instance, never Alice's.
    other = ask("10.61.0.10", network_id=net_b["id"])
    assert (other["instance_id"], other["project_id"]) == (vm_b["device_id"],
                                                          vm_b["project_id"])
    # Unknown: no port has it, a port without device_id, a malformed address, an
    # unknown network.
    assert ask("10.61.0.99", network_id=net_a["id"]) is None
    assert ask(ip_of(no_device), network_id=net_a["id"]) is None
    assert ask("not-an-address", network_id=net_a["id"]) is None
    assert ask("10.61.0.10", network_id=unique("no-such-net")) is None
    assert ask("10.61.0.10") is None  # neither network nor router


def test_router_networks_and_floating_ip(admin: Api, plugin: PluginClient) -> None:
    carol = admin.as_project(unique("carol"))
    ext = admin.network(name=unique("public"), **{"router:external": True})
    admin.subnet(ext["id"], "198.51.100.0/24", enable_dhcp=False)
    net = carol.network(name="inside")
    sub = carol.subnet(net["id"], "10.62.0.0/24")
    unrouted = carol.network(name="aside")
    sub_unrouted = carol.subnet(unrouted["id"], "10.63.0.0/24")
    vm = carol.port(net["id"], device_id=unique("inst"), device_owner="compute:nova")
    lone = carol.port(unrouted["id"], device_id=unique("inst"), device_owner="compute:nova",
                      fixed_ips=[{"subnet_id": sub_unrouted["id"]}])
    router = carol.create("router", name="r", external_gateway_info={"network_id": ext["id"]})
    response = carol.put(f"routers/{router['id']}/add_router_interface",
                         {"subnet_id": sub["id"]})
    assert response.status_code == 200, response.text
    fip = carol.create("floatingip", floating_network_id=ext["id"], port_id=vm["id"])

    def ask(address: str) -> dict | None:
        return plugin.call("get_metadata_instance", ip_address=address,
                           router_id=router["id"])

    found = ask(ip_of(vm))
    assert found["instance_id"] == vm["device_id"]
    assert found["floating_ips"] == [fip["floating_ip_address"]]
    # The router's own interface address is no instance; a network the router has no
    # interface on is not searched (nor its external network: the gateway's address).
    assert ask("10.62.0.1") is None
    assert ask(ip_of(lone)) is None
    gateway = carol.get(f"routers/{router['id']}").json()["router"]
    gw_ip = gateway["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    assert ask(gw_ip) is None
    assert plugin.call("get_metadata_instance", ip_address=ip_of(vm),
                       router_id=unique("no-router")) is None
