"""Port forwarding as a user of openstacksdk writes it (every backend): a floating
IP without a port forwards a TCP port to a server's port; shown, listed, updated,
deleted through the sdk's proxy calls."""

from __future__ import annotations

import uuid

import pytest

pytestmark = [pytest.mark.filterwarnings("ignore::openstack.warnings.OpenStackDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning")]


def test_sdk_port_forwarding(conn) -> None:  # noqa: ANN001 - sdk connection
    name = f"sdk-pf-{uuid.uuid4().hex[:8]}"
    made: list = []
    try:
        ext = conn.network.create_network(name=f"{name}-ext", is_router_external=True)
        made.append(("network", ext))
        conn.network.create_subnet(network_id=ext.id, cidr="198.18.0.0/24", ip_version=4,
                                   is_dhcp_enabled=False)
        net = conn.network.create_network(name=name)
        made.append(("network", net))
        subnet = conn.network.create_subnet(network_id=net.id, cidr="10.78.0.0/24",
                                            ip_version=4)
        router = conn.network.create_router(name=name,
                                            external_gateway_info={"network_id": ext.id})
        made.insert(0, ("router", router))
        conn.network.add_interface_to_router(router, subnet_id=subnet.id)
        port = conn.network.create_port(network_id=net.id, name=f"{name}-server")
        address = port.fixed_ips[0]["ip_address"]
        fip = conn.network.create_ip(floating_network_id=ext.id)
        made.insert(0, ("ip", fip))

        pf = conn.network.create_port_forwarding(
            floatingip_id=fip.id, internal_port_id=port.id, internal_ip_address=address,
            internal_port=22, external_port=2222, protocol="tcp", description="ssh")
        assert (pf.internal_port, pf.external_port, pf.protocol) == (22, 2222, "tcp")
        assert pf.internal_ip_address == address and pf.description == "ssh"
        got = conn.network.get_port_forwarding(pf, fip.id)
        assert got.id == pf.id and got.internal_port_id == port.id
        assert [p.id for p in conn.network.port_forwardings(fip.id)] == [pf.id]
        assert [p.id for p in conn.network.port_forwardings(fip.id, protocol="udp")] == []
        updated = conn.network.update_port_forwarding(pf, fip.id, external_port=2200)
        assert updated.external_port == 2200
        shown = conn.network.get_ip(fip.id)
        assert shown.router_id == router.id
        assert [p["external_port"] for p in shown.port_forwardings] == [2200]
        conn.network.delete_port_forwarding(pf, fip.id)
        assert list(conn.network.port_forwardings(fip.id)) == []
        assert conn.network.get_ip(fip.id).router_id is None
    finally:
        for kind, resource in made:
            if kind == "ip":
                for left in conn.network.port_forwardings(resource.id):
                    conn.network.delete_port_forwarding(left, resource.id)
                conn.network.delete_ip(resource, ignore_missing=True)
            elif kind == "router":
                conn.network.remove_interface_from_router(resource, subnet_id=subnet.id)
                conn.network.delete_router(resource, ignore_missing=True)
            else:
                for p in conn.network.ports(network_id=resource.id):
                    conn.network.delete_port(p, ignore_missing=True)
                conn.network.delete_network(resource, ignore_missing=True)
