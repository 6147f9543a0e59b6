"""Floating IP port forwarding end to end (issue 14): a real server on RabbitMQ, the
Linux bridge and L3 agents of one host namespace, an "outside" beyond the flat
external network (l3_world.py). An outside host reaches a VM's TCP port through a
floating IP's port (single ports and an N:N range); the other ports of the floating
IP lead nowhere; deleting the forwarding cuts the open connection and new ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dataplane.l3_world import (
    EXT_GATEWAY,
    PORT,
    Conversation,
    L3World,
    l3_world,
    who,
    who_within,
)
from dataplane.topology import wait_for
from neutrino.agent.common import privileged
from neutrino.agent.firewall import conntrack
from neutrino.agent.l3 import nat
from server import ServerProcess

APPLY_WITHIN = 15.0


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> Iterator[L3World]:
    with l3_world(server, enable_metadata_proxy=False) as made:
        yield made


def test_outside_reaches_the_vm_through_the_forwarded_port(world: L3World) -> None:
    api = world.project()
    net, subnet = world.network(api, "10.83.0.0/24")
    router = world.router(api, subnet)
    group = world.open_group(api)
    vm = world.vm(api, net, group, "vm1")
    world.serve(vm.namespace, "vm1-b", PORT + 1)
    world.serve(vm.namespace, "vm1-c", PORT + 2)
    fip = world.floatingip(api)
    address = fip["floating_ip_address"]
    response = api.post(f"floatingips/{fip['id']}/port_forwardings", {"port_forwarding": {
        "internal_port_id": vm.port["id"], "internal_ip_address": vm.ip,
        "internal_port": PORT, "external_port": 8022, "protocol": "tcp"}})
    assert response.status_code == 201, response.text
    single = response.json()["port_forwarding"]
    response = api.post(f"floatingips/{fip['id']}/port_forwardings", {"port_forwarding": {
        "internal_port_id": vm.port["id"], "internal_ip_address": vm.ip,
        "internal_port_range": f"{PORT + 1}:{PORT + 2}", "external_port_range": "9000:9001",
        "protocol": "tcp"}})
    assert response.status_code == 201, response.text
    ranged = response.json()["port_forwarding"]

    # The outside reaches the VM's port through the floating IP's port; the VM sees
    # the outside's own address (DNAT only).
    assert who_within(world.outside, address, 30, 8022) == f"vm1 {EXT_GATEWAY}"
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "ACTIVE", 15)
    # N:N: each external port of the range goes to its own internal port.
    assert who_within(world.outside, address, APPLY_WITHIN, 9000) == f"vm1-b {EXT_GATEWAY}"
    assert who_within(world.outside, address, APPLY_WITHIN, 9001) == f"vm1-c {EXT_GATEWAY}"
    # Only the forwarded ports: the VM's port itself is not exposed.
    assert who(world.outside, address, PORT, timeout=2) is None

    # Deleted: the open connection is cut and new ones fail; the other one stays.
    namespace = world.namespace_of(router)
    talk = Conversation(world.outside, address, 8022)
    try:
        assert talk.greeting == f"vm1 {EXT_GATEWAY}"
        assert talk.say("hello") == "hello"
        response = api.delete(f"floatingips/{fip['id']}/port_forwardings/{single['id']}")
        assert response.status_code == 204, response.text

        def gone() -> bool:
            listing = privileged.nft_list_table(nat.FAMILY, nat.TABLE, namespace) or ""
            entries = conntrack.parse(privileged.conntrack_list(4, [address], namespace))
            return "dport 8022" not in listing and not any(
                e.dport == 8022 for e in entries)
        assert wait_for(gone, APPLY_WITHIN)
        assert talk.say("still there?") in ("timeout", "closed")
    finally:
        talk.close()
    assert who(world.outside, address, 8022, timeout=2) is None
    assert who_within(world.outside, address, APPLY_WITHIN, 9001) == f"vm1-c {EXT_GATEWAY}"

    # The last one gone: the floating IP has no router any more, nothing forwards.
    response = api.delete(f"floatingips/{fip['id']}/port_forwardings/{ranged['id']}")
    assert response.status_code == 204, response.text
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "DOWN", 15)
    # (the server sets DOWN at once; the agent's table follows)
    assert wait_for(lambda: address not in (privileged.nft_list_table(
        nat.FAMILY, nat.TABLE, namespace) or ""), APPLY_WITHIN)
    assert who(world.outside, address, 9000, timeout=2) is None
