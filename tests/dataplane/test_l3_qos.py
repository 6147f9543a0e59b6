"""Floating IP and router gateway bandwidth limits end to end (qos-fip,
qos-gateway-ip): a real server on RabbitMQ, the Linux bridge and L3 agents of one
host namespace, an "outside" beyond the flat external network (l3_world.py).

Bounded TCP transfers (600 kB, loopback-only addresses in the test's namespaces)
are measured: through a floating IP in both directions with its policy's limits,
through the gateway's SNAT with the gateway's policy, and again once the policies
are gone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dataplane.l3_world import INTERNET, L3World, l3_world
from dataplane.test_qos import RECEIVER, SENDER, SIZE, in_ns
from dataplane.topology import wait_for
from neutrino.agent.l3 import qos as l3qos
from server import Api, ServerProcess

LIMIT_KBPS = 2000
BURST_KBPS = 100     # a small bucket: the transfer is measured at the rate, not the burst
TOLERANCE = 1.15     # tc's rate tables and the first bucket


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> Iterator[L3World]:
    with l3_world(server, enable_metadata_proxy=False) as made:
        yield made


def kbps(sender: str, receiver: str, address: str) -> float:
    """A SIZE-byte TCP transfer from namespace `sender` to `address` (where
    `receiver` listens on every address), in kbit/s as the receiver saw it."""
    proc = in_ns(receiver, RECEIVER, "0.0.0.0", str(SIZE))
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert in_ns(sender, SENDER, address, str(SIZE)).wait(timeout=60) == 0
        total, seconds = proc.stdout.readline().split()
        assert int(total) == SIZE
        return SIZE * 8 / 1000 / max(float(seconds), 1e-6)
    finally:
        proc.kill()
        proc.wait()


def limit_policy(admin: Api, *directions: str) -> dict:
    response = admin.post("qos/policies", {"policy": {"name": "limit", "shared": True}})
    assert response.status_code == 201, response.text
    made = response.json()["policy"]
    for direction in directions:
        response = admin.post(f"qos/policies/{made['id']}/bandwidth_limit_rules", {
            "bandwidth_limit_rule": {"max_kbps": LIMIT_KBPS, "max_burst_kbps": BURST_KBPS,
                                     "direction": direction}})
        assert response.status_code == 201, response.text
    return made


def qos_alias(world: L3World, router: dict) -> str | None:
    """The digest on the router's ifb: what the agent applied (None: nothing). The
    agent may replace the ifb between the listing and the read: read again then."""
    for _ in range(100):
        with world.router_kernel(router) as kernel:
            ifbs = [n for n in kernel.links() if n.startswith(l3qos.IFB_PREFIX)]
            try:
                return kernel.link_alias(ifbs[0]) if ifbs else None
            except LookupError:
                continue
    raise AssertionError("the router's ifb never held still")


def test_floating_ip_and_gateway_limits(world: L3World) -> None:
    api = world.project()
    net, subnet = world.network(api, "10.84.0.0/24")
    router = world.router(api, subnet)
    group = world.open_group(api)
    vm = world.vm(api, net, group, "vm1")
    snat_vm = world.vm(api, net, group, "vm2")
    fip = world.floatingip(api, vm)
    address = fip["floating_ip_address"]
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "ACTIVE", 30)

    free_in = kbps(world.outside, vm.namespace, address)
    assert free_in > 10 * LIMIT_KBPS, free_in

    policy = limit_policy(world.api, "ingress", "egress")
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {
        "qos_policy_id": policy["id"]}})
    assert response.status_code == 200, response.text
    assert wait_for(lambda: qos_alias(world, router) is not None, 15)
    limited_in = kbps(world.outside, vm.namespace, address)
    limited_out = kbps(vm.namespace, world.outside, INTERNET)
    assert limited_in < LIMIT_KBPS * TOLERANCE, limited_in
    assert limited_out < LIMIT_KBPS * TOLERANCE, limited_out
    assert limited_in > LIMIT_KBPS / 4 and limited_out > LIMIT_KBPS / 4
    # The other VM leaves through the gateway's SNAT: not limited by the floating IP's.
    assert kbps(snat_vm.namespace, world.outside, INTERNET) > 10 * LIMIT_KBPS

    # The gateway's policy limits what goes out through SNAT.
    gateway = world.api.get(f"routers/{router['id']}").json()["router"][
        "external_gateway_info"]
    before = qos_alias(world, router)
    response = api.put(f"routers/{router['id']}", {"router": {"external_gateway_info": {
        "network_id": gateway["network_id"], "qos_policy_id": policy["id"]}}})
    assert response.status_code == 200, response.text
    assert wait_for(lambda: qos_alias(world, router) not in (None, before), 15)
    snat_out = kbps(snat_vm.namespace, world.outside, INTERNET)
    assert snat_out < LIMIT_KBPS * TOLERANCE, snat_out
    print(f"kbit/s: free {free_in:.0f}, floating IP in {limited_in:.0f} out "
          f"{limited_out:.0f}, gateway SNAT out {snat_out:.0f} (limit {LIMIT_KBPS})")

    # Policies gone: nothing limited, the router's tc set-up removed.
    for path, body in ((f"floatingips/{fip['id']}", {"floatingip": {"qos_policy_id": None}}),
                       (f"routers/{router['id']}", {"router": {"external_gateway_info": {
                           "network_id": gateway["network_id"], "qos_policy_id": None}}})):
        response = api.put(path, body)
        assert response.status_code == 200, response.text
    assert wait_for(lambda: qos_alias(world, router) is None, 15)
    assert kbps(world.outside, vm.namespace, address) > 10 * LIMIT_KBPS
    assert kbps(snat_vm.namespace, world.outside, INTERNET) > 10 * LIMIT_KBPS
    assert world.api.delete(f"qos/policies/{policy['id']}").status_code == 204
