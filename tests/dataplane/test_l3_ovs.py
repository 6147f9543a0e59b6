"""The L3 agent on an Open vSwitch host (interface_driver = openvswitch): a real
server with the openvswitch mechanism driver, the OVS agent with a private
ovs-vswitchd (datapath netdev, the OpenFlow firewall on) and the L3 agent in one
host namespace (ovs_l3_world.py); VMs plugged with ``neutrino-vif --mode ovs``.

Shown: the router's ``qr-`` and ``qg-`` taps are ports of br-int with their
iface-id, ACTIVE and tagged; two VMs on two project networks behind one router
ping each other through it; SNAT (the outside sees the router's gateway address);
a floating IP reaches its VM from the outside; the router deleted, its taps' rows
leave br-int."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dataplane.l3_world import (
    EXT_GATEWAY,
    INTERNET,
    L3World,
    Vm,
    reachable,
    run_in,
    who_within,
)
from dataplane.ovs_host import OvsHost
from dataplane.ovs_l3_world import iface_ids, ovs_l3_world
from dataplane.topology import wait_for
from neutrino.agent.l3 import reconciler as l3_reconciler
from server import Api, ServerProcess

World = tuple[L3World, OvsHost, dict, list[Vm], Api]


@pytest.fixture(scope="module")
def routed(ovs_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
           ) -> Iterator[World]:
    """One router with a gateway and two project networks, a VM on each."""
    with ovs_l3_world(ovs_server, tmp_path_factory.mktemp("ovs-l3") / "ovs") as (world, ovs):
        api = world.project()
        net_a, sub_a = world.network(api, "10.61.1.0/24")
        net_b, sub_b = world.network(api, "10.61.2.0/24")
        router = world.router(api, sub_a, sub_b)
        group = world.open_group(api)
        vms = [world.vm(api, net_a, group, "vm-a", fixed_ips=[{"subnet_id": sub_a["id"]}]),
               world.vm(api, net_b, group, "vm-b", fixed_ips=[{"subnet_id": sub_b["id"]}])]
        for vm, subnet in zip(vms, (sub_a, sub_b), strict=True):
            # Static addressing (no DHCP agent here): the default route via the router.
            run_in(vm.namespace, "ip", "route", "replace", "default", "via",
                   subnet["gateway_ip"])
        yield world, ovs, router, vms, api


def test_router_ports_are_on_br_int(routed: World) -> None:
    world, ovs, router, _, _ = routed
    ports = world.router_ports(router["id"])
    assert len(ports) == 3
    assert wait_for(lambda: {world.status("port", p["id"]) for p in
                             world.router_ports(router["id"])} == {"ACTIVE"}, 30), \
        [(p["device_owner"], world.status("port", p["id"])) for p in ports]
    on_br_int = iface_ids(ovs)
    for port in ports:
        tap = "tap" + port["id"][:11]
        assert tap in on_br_int, (port["device_owner"], sorted(on_br_int))
        ids = on_br_int[tap]
        assert ids["iface-id"] == port["id"]
        assert ids[l3_reconciler.ROUTER_KEY] == router["id"]
        bound = world.api.get(f"ports/{port['id']}").json()["port"]
        assert bound["binding:vif_type"] == "ovs", port["device_owner"]
    # The gateway's network leaves through br-ex (bridge_mappings public:br-ex).
    assert "phy-br-ex" in ovs.vsctl("list-ports", "br-ex").split()


def test_two_networks_route_through_the_router(routed: World) -> None:
    world, _, _, (vm_a, vm_b), _ = routed
    assert reachable(vm_a.namespace, vm_b.ip, within=20), "no route between the networks"
    assert reachable(vm_b.namespace, vm_a.ip, within=5)
    # Not NATed between internal networks: vm-b sees vm-a's own address.
    assert who_within(vm_a.namespace, vm_b.ip) == f"vm-b {vm_a.ip}"


def test_snat_and_floating_ip(routed: World) -> None:
    world, _, router, (vm_a, vm_b), api = routed
    gateway = world.gateway_ip(router)
    # SNAT: the outside sees the router's gateway address.
    world.serve(world.outside, "internet")
    assert who_within(vm_b.namespace, INTERNET) == f"internet {gateway}"
    # A floating IP reaches vm-a from the outside; vm-a goes out with it.
    address = world.floatingip(api, vm_a)["floating_ip_address"]
    assert reachable(world.outside, address, within=20), "floating IP not reachable"
    assert who_within(world.outside, address) == f"vm-a {EXT_GATEWAY}"
    assert who_within(vm_a.namespace, INTERNET) == f"internet {address}"


def test_restarted_agent_replugs_nothing(routed: World) -> None:
    """OVSDB is the record: a new L3 agent finds its taps by their marks, plugs
    none again, unplugs none, and routing goes on."""
    world, ovs, router, (vm_a, vm_b), _ = routed
    before = iface_ids(ovs)
    world.l3.stop()
    world.l3 = world.new_l3_agent().start()
    assert wait_for(lambda: world.l3.counts is not None, within=30)
    actions = world.l3.counts.actions
    assert not [a for a in actions if "plug" in a], actions
    assert iface_ids(ovs) == before
    assert reachable(vm_a.namespace, vm_b.ip, within=10)


def test_router_deleted_leaves_br_int(routed: World) -> None:
    """Last in the module: the router goes, and with it its taps' rows on br-int
    (the namespace took the veths; the agent sweeps the rows it marked)."""
    world, ovs, router, _, _ = routed
    taps = {"tap" + p["id"][:11] for p in world.router_ports(router["id"])}
    world.delete_router(router["id"])
    assert world.wait_namespace_gone(router["id"], within=20)
    assert wait_for(lambda: not taps & set(iface_ids(ovs)), within=20), \
        sorted(taps & set(iface_ids(ovs)))
