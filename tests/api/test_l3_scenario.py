"""The L3 path through openstacksdk, a real client: external network and subnet,
project network and subnet, router with gateway and interface, a port, a floating IP
associated, listed, disassociated and released; and the refusals the sdk surfaces."""

from __future__ import annotations

import uuid

import pytest
from openstack import exceptions as sdk_exc

pytestmark = [pytest.mark.filterwarnings("ignore::openstack.warnings.OpenStackDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning")]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_sdk_router_and_floating_ip(conn) -> None:  # noqa: ANN001 - sdk connection
    net = conn.network
    ext = net.create_network(name=unique("public"), is_router_external=True)
    assert ext.is_router_external is True
    ext_subnet = net.create_subnet(network_id=ext.id, cidr="172.24.4.0/24", ip_version=4,
                                   is_dhcp_enabled=False)
    private = net.create_network(name=unique("private"))
    subnet = net.create_subnet(network_id=private.id, cidr="10.0.0.0/24", ip_version=4)
    router = net.create_router(name=unique("router"),
                               external_gateway_info={"network_id": ext.id})
    assert router.external_gateway_info["network_id"] == ext.id
    assert router.external_gateway_info["enable_snat"] is True
    [gw_ip] = router.external_gateway_info["external_fixed_ips"]
    assert gw_ip["subnet_id"] == ext_subnet.id
    info = net.add_interface_to_router(router, subnet_id=subnet.id)
    assert info["subnet_id"] == subnet.id
    port = net.create_port(network_id=private.id, name=unique("vm"))
    fixed = port.fixed_ips[0]["ip_address"]

    fip = net.create_ip(floating_network_id=ext.id)
    assert fip.floating_ip_address.startswith("172.24.4.")
    assert fip.port_id is None and fip.router_id is None
    fip = net.update_ip(fip, port_id=port.id)
    assert fip.port_id == port.id and fip.fixed_ip_address == fixed
    assert fip.router_id == router.id
    assert [f.id for f in net.ips(port_id=port.id)] == [fip.id]
    # `port_id=` (what find_available_ip asks) lists the unassociated ones only.
    free = [f.id for f in net.ips(port_id="", floating_network_id=ext.id)]
    assert free == []
    fip = net.update_ip(fip, port_id=None)
    assert fip.port_id is None and fip.fixed_ip_address is None
    assert [f.id for f in net.ips(port_id="", floating_network_id=ext.id)] == [fip.id]

    # Refusals surface as the sdk's exceptions with upstream's messages.
    with pytest.raises(sdk_exc.ConflictException, match="still has ports"):
        net.delete_router(router)
    with pytest.raises(sdk_exc.BadRequestException, match="already has a port on subnet"):
        net.add_interface_to_router(router, subnet_id=subnet.id)
    interface_port = net.get_port(info["port_id"])
    with pytest.raises(sdk_exc.ConflictException, match="cannot be deleted directly"):
        net.delete_port(interface_port)
    lone = net.create_network(name=unique("lone"))
    lone_subnet = net.create_subnet(network_id=lone.id, cidr="10.9.9.0/24", ip_version=4)
    lone_port = net.create_port(network_id=lone.id)
    with pytest.raises(sdk_exc.NotFoundException, match="is not reachable from subnet"):
        net.update_ip(fip, port_id=lone_port.id)

    # Teardown in the order a user would, every step accepted.
    net.delete_ip(fip)
    with pytest.raises(sdk_exc.NotFoundException):
        net.get_ip(fip.id)
    net.remove_interface_from_router(router, subnet_id=subnet.id)
    net.update_router(router, external_gateway_info={})
    assert net.get_router(router.id).external_gateway_info is None
    net.delete_router(router)
    for p in (port, lone_port):
        net.delete_port(p)
    for s in (subnet, lone_subnet, ext_subnet):
        net.delete_subnet(s)
    for n in (private, lone, ext):
        net.delete_network(n)
