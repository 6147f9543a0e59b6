"""The L3 agent end to end (issue 12): a real server on RabbitMQ, the Linux bridge
agent and the L3 agent of one host namespace, an "outside" namespace beyond the
flat external network, VMs plugged with neutrino-vif (l3_world.py).

Each test makes its own project, networks and routers through the API and checks
what a user would: traffic through SNAT and floating IPs, the statuses clients
wait for, and what the host holds."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from dataplane.l3_world import (
    EXT_GATEWAY,
    INTERNET,
    PORT,
    Conversation,
    L3World,
    l3_world,
    reachable,
    run_in,
    who,
    who_within,
)
from dataplane.topology import wait_for
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.firewall import conntrack
from neutrino.agent.l3 import nat
from server import ServerProcess

# An API change reaches the router (notification, sync, apply) well within this.
APPLY_WITHIN = 10.0


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> Iterator[L3World]:
    with l3_world(server) as made:
        yield made


def nat_listing(world: L3World, router: dict) -> str:
    return privileged.nft_list_table(nat.FAMILY, nat.TABLE, world.namespace_of(router)) or ""


def tracked(world: L3World, router: dict, address: str) -> list:
    """The router namespace's tracked connections to `address`."""
    return conntrack.parse(privileged.conntrack_list(4, [address],
                                                     world.namespace_of(router)))


def test_snat_floating_ip_statuses_and_disassociation(world: L3World) -> None:
    api = world.project()
    net, subnet = world.network(api, "10.81.0.0/24")
    router = world.router(api, subnet)
    group = world.open_group(api)
    vm = world.vm(api, net, group, "vm1")
    gateway_ip = world.gateway_ip(router)

    # Out through SNAT: the outside sees the router's gateway address.
    world.serve(world.outside, "outside")
    assert who_within(vm.namespace, INTERNET, within=30) == f"outside {gateway_ip}"

    # The router's ports are bound to the host and ACTIVE once plugged.
    def port_states() -> list[tuple[str, str, str]]:
        return sorted((p["device_owner"], p["binding:host_id"], p["status"])
                      for p in world.router_ports(router["id"]))
    assert wait_for(lambda: {s for _, _, s in port_states()} == {"ACTIVE"}, 30), \
        port_states()
    assert {h for _, h, _ in port_states()} == {world.name}

    # In through a floating IP: the VM sees the outside's own address.
    fip = world.floatingip(api, vm)
    address = fip["floating_ip_address"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network("172.24.4.0/24")
    assert who_within(world.outside, address) == f"vm1 {EXT_GATEWAY}"
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "ACTIVE", 15)
    # ... and the VM's own traffic leaves from its floating IP.
    assert who_within(vm.namespace, INTERNET) == f"outside {address}"
    assert reachable(world.outside, address)

    # Disassociated: the open connection is cut, new ones fail, status DOWN.
    talk = Conversation(world.outside, address)
    try:
        assert talk.greeting == f"vm1 {EXT_GATEWAY}"
        assert talk.say("hello") == "hello"
        world.set_fip(api, fip, None)
        assert wait_for(lambda: address not in nat_listing(world, router)
                        and not tracked(world, router, address), APPLY_WITHIN)
        assert talk.say("still there?") in ("timeout", "closed")
    finally:
        talk.close()
    assert who(world.outside, address, timeout=2) is None
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "DOWN", 15)
    # Its traffic goes back to the router's address.
    assert who_within(vm.namespace, INTERNET) == f"outside {gateway_ip}"

    # Associated again: reachable again.
    world.set_fip(api, fip, vm)
    assert who_within(world.outside, address) == f"vm1 {EXT_GATEWAY}"
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "ACTIVE", 15)

    with Kernel(world.namespace_of(router)) as kernel:
        qg = [n for n in kernel.links() if n.startswith("qg-")]
        assert len(qg) == 1
        assert f"{address}/32" in kernel.addresses(qg[0])
    assert run_in(world.namespace_of(router), "sysctl", "-n", "net.ipv4.ip_forward"
                  ).strip() == "1"
    assert PORT  # the servers listen on it
