"""The L3 scenario as a user of openstacksdk writes it: network, subnet, router with
a gateway and an interface, a server-like port with a floating IP (no Nova: the
"VM" is plugged with neutrino-vif), waiting on the statuses as clients do; the
floating IP then reaches the VM from outside, and the VM reaches outside."""

from __future__ import annotations

from collections.abc import Iterator

import openstack
import pytest

from dataplane.l3_world import EXT_GATEWAY, INTERNET, PORT, L3World, l3_world, who_within
from dataplane.test_linuxbridge_e2e import vif
from server import ServerProcess


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> Iterator[L3World]:
    with l3_world(server) as made:
        yield made


@pytest.fixture
def sdk(world: L3World) -> Iterator[openstack.connection.Connection]:
    connection = openstack.connect(auth_type="none", auth={"endpoint": world.server.url})
    try:
        yield connection
    finally:
        connection.close()


def test_openstacksdk_router_floating_ip_scenario(world: L3World,
                                                  sdk: openstack.connection.Connection
                                                  ) -> None:
    net = sdk.network.create_network(name="sdk-private")
    subnet = sdk.network.create_subnet(network_id=net.id, cidr="10.88.0.0/24",
                                       ip_version=4, name="sdk-subnet")
    ext = sdk.network.find_network(world.ext["id"])
    assert ext.is_router_external
    router = sdk.network.create_router(name="sdk-router",
                                       external_gateway_info={"network_id": ext.id})
    world.routers.append(router.id)  # cleaned up with the world's
    sdk.network.add_interface_to_router(router, subnet_id=subnet.id)
    group = sdk.network.create_security_group(name="sdk-open")
    for protocol in ("icmp", "tcp"):
        sdk.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", ethertype="IPv4",
            protocol=protocol, remote_ip_prefix="0.0.0.0/0")
    port = sdk.network.create_port(network_id=net.id, name="server-port",
                                   security_group_ids=[group.id])

    # What Nova would do: plug the port on the host.
    namespace = f"{world.topo.prefix}vm-sdk"
    world.topo.namespaces.append(namespace)
    vif("plug", port.id, "--url", world.server.url, "--host", world.name,
        "--host-netns", world.host, "--netns", namespace)
    world.serve(namespace, "server")
    port = sdk.network.wait_for_status(sdk.network.get_port(port.id), status="ACTIVE",
                                       failures=["ERROR"], interval=0.5, wait=30)
    assert port.binding_host_id == world.name

    fip = sdk.network.create_ip(floating_network_id=ext.id, port_id=port.id)
    fip = sdk.network.wait_for_status(fip, status="ACTIVE", failures=["ERROR"],
                                      interval=0.5, wait=30)
    assert fip.fixed_ip_address == port.fixed_ips[0]["ip_address"]
    for router_port in sdk.network.ports(device_id=router.id):
        sdk.network.wait_for_status(router_port, status="ACTIVE", failures=["ERROR"],
                                    interval=0.5, wait=30)

    assert who_within(world.outside, fip.floating_ip_address, port=PORT) == \
        f"server {EXT_GATEWAY}"
    world.serve(world.outside, "outside", port=PORT + 1)
    assert who_within(namespace, INTERNET, port=PORT + 1) == \
        f"outside {fip.floating_ip_address}"

    sdk.network.delete_ip(fip)
    sdk.network.remove_interface_from_router(router, subnet_id=subnet.id)
    sdk.network.delete_router(router)
    assert world.wait_namespace_gone(router.id)
