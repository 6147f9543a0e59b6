"""IPv6 through the L3 agent (issue 12): router advertisements by radvd in the
router namespace, routing between IPv6 subnets and out through an IPv6 external
gateway (no NAT: the outside routes the project's prefix back to the router, as
upstream requires).

The world is l3_world.py's (a real server on RabbitMQ, the Linux bridge and L3
agents of one host namespace, an "outside" beyond the flat external network); the
VMs are plugged with ``neutrino-vif --ip-config none``: no address but what the
router's RA makes (SLAAC), as a guest with accept_ra on and forwarding off would.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplane.l3_world import L3World, Vm, l3_world, reachable
from dataplane.test_linuxbridge_e2e import vif
from dataplane.topology import wait_for
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.l3.radvd import Radvd
from server import Api, ServerProcess

EXT6_CIDR, EXT6_GATEWAY = "2001:db8:e6::/64", "2001:db8:e6::1"
INTERNET6 = "2001:db8:ffff::10"
# A VM's address appears within this (radvd answers its router solicitation; its
# unsolicited RAs come every 3-4 s here).
RA_WITHIN = 30.0
# What a guest kernel does with RAs: accept them, SLAAC, EUI-64 interface ids (so
# the address is the one the server gave the port), no privacy addresses.
GUEST_SYSCTLS = {
    "net/ipv6/conf/all/forwarding": "0",
    "net/ipv6/conf/default/forwarding": "0",
    "net/ipv6/conf/default/accept_ra": "1",
    "net/ipv6/conf/default/autoconf": "1",
    "net/ipv6/conf/default/use_tempaddr": "0",
    "net/ipv6/conf/default/addr_gen_mode": "0",
}


@pytest.fixture(scope="module")
def world(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[L3World]:
    ra_confs = str(tmp_path_factory.mktemp("ra"))
    with l3_world(server, ra_confs=ra_confs, min_rtr_adv_interval=3,
                  max_rtr_adv_interval=4) as made:
        # The external network's IPv6 side: its subnet (static, no RA), the
        # outside's gateway address on it and an "internet" address behind it.
        made.api.subnet(made.ext["id"], EXT6_CIDR, gateway_ip=EXT6_GATEWAY,
                        enable_dhcp=False)
        with Kernel(made.outside) as outside:
            outside.add_address("eth0", EXT6_GATEWAY, 64)
            outside.add_address("lo", INTERNET6, 128)
        yield made


def radvd_of(world: L3World) -> Radvd:
    return world.l3.reconciler.advertisements


def v6_group(api: Api) -> str:
    group = api.create("security_group", name="v6")
    api.create("security_group_rule", security_group_id=group["id"], direction="ingress",
               ethertype="IPv6", protocol="ipv6-icmp", remote_ip_prefix="::/0")
    return str(group["id"])


def guest(world: L3World, api: Api, net: dict, group: str) -> Vm:
    """A VM whose only IPv6 configuration is what router advertisements give it."""
    port = api.port(net["id"], security_groups=[group])
    namespace = f"{world.topo.prefix}vm6-{port['id'][:6]}"
    world.topo.namespaces.append(namespace)
    privileged.create_namespace(namespace)
    # Before eth0 exists: it takes the "default" values when it is made.
    privileged.ensure_sysctls(GUEST_SYSCTLS, namespace)
    vif("plug", port["id"], "--url", world.server.url, "--host", world.name,
        "--host-netns", world.host, "--netns", namespace, "--ip-config", "none")
    return Vm("vm", port, namespace)


def sysctl(namespace: str, name: str) -> str:
    values: list[str] = []

    def read() -> None:
        with open(f"/proc/sys/{name}") as handle:
            values.append(handle.read().strip())

    privileged.run_in_namespace(read, namespace)
    return values[0]


def global_addresses(namespace: str) -> set[str]:
    with Kernel(namespace) as kernel:
        return {a for a in kernel.addresses("eth0")
                if ipaddress.ip_interface(a).version == 6
                and not ipaddress.ip_interface(a).is_link_local}


def slaac_network(world: L3World, api: Api, cidr: str) -> tuple[dict, dict]:
    return world.network(api, cidr, ipv6_ra_mode="slaac", ipv6_address_mode="slaac")


def test_slaac_vms_get_addresses_from_radvd_and_route(world: L3World) -> None:
    api = world.project()
    net_a, subnet_a = slaac_network(world, api, "2001:db8:a1::/64")
    net_b, subnet_b = slaac_network(world, api, "2001:db8:b1::/64")
    router = world.router(api, subnet_a, subnet_b)
    group = v6_group(api)
    vm_a, vm_b = guest(world, api, net_a, group), guest(world, api, net_b, group)

    # The guests are what the brief promises: accept_ra on, forwarding off.
    for vm in (vm_a, vm_b):
        assert sysctl(vm.namespace, "net/ipv6/conf/eth0/accept_ra") == "1"
        assert sysctl(vm.namespace, "net/ipv6/conf/eth0/forwarding") == "0"

    # One radvd in the router namespace, its configuration under ra_confs.
    radvd = radvd_of(world)
    assert wait_for(lambda: radvd.running_pid(router["id"]) is not None, 15)
    config = Path(radvd.paths(router["id"]).config).read_text()
    assert "prefix 2001:db8:a1::/64" in config and "prefix 2001:db8:b1::/64" in config

    # SLAAC: each VM has the address the server gave its port (EUI-64 of its MAC),
    # from the router's RA alone.
    for vm in (vm_a, vm_b):
        want = f"{vm.ip}/64"
        assert wait_for(lambda vm=vm, want=want: want in global_addresses(vm.namespace),
                        RA_WITHIN), (want, global_addresses(vm.namespace))
        with Kernel(vm.namespace) as kernel:
            assert any(dest == "::/0" and via.startswith("fe80:")
                       for dest, via in kernel.gateway_routes()), kernel.gateway_routes()

    # Across the router, both ways.
    assert reachable(vm_a.namespace, vm_b.ip, within=15)
    assert reachable(vm_b.namespace, vm_a.ip, within=15)

    # One subnet removed from the router: radvd reloaded (same process), no longer
    # advertising it.
    pid = radvd.running_pid(router["id"])
    response = api.put(f"routers/{router['id']}/remove_router_interface",
                       {"subnet_id": subnet_b["id"]})
    assert response.status_code == 200, response.text
    assert wait_for(lambda: "2001:db8:b1::" not in Path(
        radvd.paths(router["id"]).config).read_text(), 15)
    assert radvd.running_pid(router["id"]) == pid

    # The router gone: its radvd and files with it.
    world.delete_router(router["id"])
    world.routers.remove(router["id"])
    assert world.wait_namespace_gone(router["id"])
    assert wait_for(lambda: privileged.process_cmdline(pid) is None, 10)  # type: ignore[arg-type]
    assert not os.path.exists(radvd.paths(router["id"]).config)


def test_ipv6_external_gateway_without_nat(world: L3World) -> None:
    api = world.project()
    net, subnet = slaac_network(world, api, "2001:db8:a2::/64")
    router = world.router(api, subnet)
    group = v6_group(api)
    vm = guest(world, api, net, group)

    info = world.api.get(f"routers/{router['id']}").json()["router"][
        "external_gateway_info"]
    [gateway6] = [f["ip_address"] for f in info["external_fixed_ips"]
                  if ipaddress.ip_address(f["ip_address"]).version == 6]
    # The outside routes the project's prefix to the router (no NAT for IPv6).
    with Kernel(world.outside) as outside:
        outside.add_route("2001:db8:a2::/64", gateway6)
    # The router's default route: via the external IPv6 subnet's gateway.
    with world.router_kernel(router) as inner:
        assert wait_for(lambda: ("::/0", EXT6_GATEWAY) in inner.gateway_routes(), 15), \
            inner.gateway_routes()

    assert wait_for(lambda: f"{vm.ip}/64" in global_addresses(vm.namespace), RA_WITHIN)
    assert reachable(vm.namespace, INTERNET6, within=15)
    # And the outside reaches the VM at its own address (no translation).
    assert reachable(world.outside, vm.ip, within=15)
