"""l3-port-ip-change-not-allowed: a port update cannot change the addresses of a
router's interface or gateway port (400); asking again for what it has is fine
(tempest's test_router_interface_port_update_with_fixed_ip)."""

from __future__ import annotations

import uuid

import pytest
from l3_setup import topology

from server import Api, assert_error, put_port


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def test_extension_listed(api: Api) -> None:
    body = api.get("extensions/l3-port-ip-change-not-allowed").json()["extension"]
    assert body["name"] == "Prevent L3 router ports IP address change extension"


def _ports(api: Api, router_id: str, owner: str) -> list[dict]:
    return api.get("ports", params={"device_id": router_id,
                                    "device_owner": owner}).json()["ports"]


@pytest.mark.parametrize("owner", ["network:router_interface", "network:router_gateway"])
def test_router_port_addresses_cannot_change(api: Api, owner: str) -> None:
    top = topology(api, api)
    port = _ports(api, top["router"]["id"], owner)[0]
    current = port["fixed_ips"][0]
    subnet_id = current["subnet_id"]
    base = current["ip_address"].rsplit(".", 1)[0]
    other = f"{base}.{200 if not current['ip_address'].endswith('.200') else 201}"
    for fixed_ips in ([{"subnet_id": subnet_id, "ip_address": other}],
                      [current, {"subnet_id": subnet_id}], []):
        response = put_port(api, port["id"], fixed_ips=fixed_ips)
        assert_error(response, 400, "BadRequest",
                     f"Bad ports request: IP updates for port {port['id']} are not "
                     "allowed.")
        assert api.get(f"ports/{port['id']}").json()["port"]["fixed_ips"] == port[
            "fixed_ips"]
    # The same addresses again, or the subnet alone: no change, allowed.
    for fixed_ips in ([current], [{"subnet_id": subnet_id}],
                      [{"ip_address": current["ip_address"]}]):
        response = put_port(api, port["id"], fixed_ips=fixed_ips)
        assert response.status_code == 200, response.text
        assert response.json()["port"]["fixed_ips"] == port["fixed_ips"]
    # Other attributes stay updatable.
    assert put_port(api, port["id"], name="renamed").status_code == 200


def test_other_ports_still_change_addresses(api: Api) -> None:
    member = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    net = member.network()
    subnet = member.subnet(net["id"], "10.101.0.0/24")
    port = member.port(net["id"], device_owner="compute:nova")
    response = put_port(member, port["id"], fixed_ips=[
        {"subnet_id": subnet["id"], "ip_address": "10.101.0.77"}])
    assert response.status_code == 200, response.text
    assert response.json()["port"]["fixed_ips"][0]["ip_address"] == "10.101.0.77"
