"""Allowed address pairs over HTTP (and through openstacksdk)."""

from __future__ import annotations

import openstack
import pytest

from server import Api, error_of, post_port, put_port

# The sdk warns about its own future API changes; they are not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::openstack.warnings.OpenStackDeprecationWarning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning")]


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def test_create_show_list(api: Api) -> None:
    net = api.network()
    port = api.port(net["id"], allowed_address_pairs=[
        {"ip_address": "10.0.0.5"},
        {"ip_address": "10.1.0.0/24", "mac_address": "FA:16:3E:00:00:01"},
        {"ip_address": "2001:db8::7"}])
    mac = port["mac_address"]
    expected = sorted([{"ip_address": "10.0.0.5", "mac_address": mac},
                       {"ip_address": "10.1.0.0/24", "mac_address": "fa:16:3e:00:00:01"},
                       {"ip_address": "2001:db8::7", "mac_address": mac}],
                      key=lambda p: (p["ip_address"], p["mac_address"]))
    assert port["allowed_address_pairs"] == expected
    assert api.get(f"ports/{port['id']}").json()["port"]["allowed_address_pairs"] == expected
    listed = api.get("ports", params={"network_id": net["id"]}).json()["ports"]
    assert listed[0]["allowed_address_pairs"] == expected


def test_update_replaces(api: Api) -> None:
    net = api.network()
    port = api.port(net["id"], allowed_address_pairs=[{"ip_address": "10.0.0.5"}])
    response = put_port(api, port["id"], allowed_address_pairs=[{"ip_address": "10.0.0.6"}])
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert body["allowed_address_pairs"] == [{"ip_address": "10.0.0.6",
                                              "mac_address": port["mac_address"]}]
    assert body["revision_number"] > port["revision_number"]
    response = put_port(api, port["id"], name="x")
    assert response.json()["port"]["allowed_address_pairs"] == body["allowed_address_pairs"]
    response = put_port(api, port["id"], allowed_address_pairs=[])
    assert response.json()["port"]["allowed_address_pairs"] == []
    assert api.get(f"ports/{port['id']}").json()["port"]["allowed_address_pairs"] == []


def test_at_most_the_maximum(api: Api) -> None:
    net = api.network()
    pairs = [{"ip_address": f"10.0.0.{i}"} for i in range(11)]
    response = post_port(api, net["id"], allowed_address_pairs=pairs)
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "AllowedAddressPairExhausted",
        "message": "The number of allowed address pair exceeds the maximum 10.",
        "detail": ""}
    response = post_port(api, net["id"], allowed_address_pairs=pairs[:10])
    assert response.status_code == 201, response.text
    port = response.json()["port"]
    response = put_port(api, port["id"], allowed_address_pairs=pairs)
    assert response.status_code == 400
    assert len(api.get(f"ports/{port['id']}").json()["port"]["allowed_address_pairs"]) == 10


def test_duplicates(api: Api) -> None:
    net = api.network()
    response = post_port(api, net["id"], allowed_address_pairs=[
        {"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5"}])
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "DuplicateAddressPairInRequest",
        "message": "Request contains duplicate address pair: mac_address None "
                   "ip_address 10.0.0.5.", "detail": ""}
    mac = "fa:16:3e:12:34:56"
    response = post_port(api, net["id"], mac_address=mac, allowed_address_pairs=[
        {"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5", "mac_address": mac}])
    assert response.status_code == 400
    assert error_of(response)["message"] == (
        f"Request contains duplicate address pair: mac_address {mac} ip_address 10.0.0.5.")
    assert api.get("ports", params={"network_id": net["id"]}).json()["ports"] == []


@pytest.mark.parametrize(("pairs", "error_type", "message"), [
    ("10.0.0.5", "HTTPBadRequest", "Allowed address pairs must be a list."),
    ([{"ip_address": "10.0.0.300"}], "HTTPBadRequest", "'10.0.0.300' is not a valid IP address"),
    ([{"ip_address": "10.0.0.0/33"}], "HTTPBadRequest", "'10.0.0.0/33' is not a valid IP subnet"),
    ([{"ip_address": "10.0.0.5", "mac_address": "nope"}], "HTTPBadRequest",
     "'nope' is not a valid MAC address"),
    ([{"mac_address": "fa:16:3e:00:00:01"}], "AllowedAddressPairsMissingIP",
     "AllowedAddressPair must contain ip_address"),
    ([{"ip_address": "10.0.0.5", "color": "red"}], "HTTPBadRequest",
     "Unrecognized attribute(s) 'color'"),
])
def test_validation(api: Api, pairs: object, error_type: str, message: str) -> None:
    net = api.network()
    response = post_port(api, net["id"], allowed_address_pairs=pairs)
    assert response.status_code == 400, response.text
    assert error_of(response) == {"type": error_type, "message": message, "detail": ""}
    port = api.port(net["id"])
    response = put_port(api, port["id"], allowed_address_pairs=pairs)
    assert response.status_code == 400, response.text
    assert error_of(response)["type"] == error_type


def test_member_on_shared_network_may_not(api: Api) -> None:
    net = api.network(shared=True)
    other = api.as_project("p-aap-member")
    response = post_port(other, net["id"], allowed_address_pairs=[{"ip_address": "10.0.0.5"}])
    assert response.status_code == 403, response.text


# -- openstacksdk -------------------------------------------------------------

def test_sdk_port_security_flow(conn: openstack.connection.Connection) -> None:
    net = conn.network.create_network(name="sdk-aap")
    try:
        conn.network.create_subnet(network_id=net.id, cidr="10.88.0.0/24", ip_version=4)
        port = conn.network.create_port(
            network_id=net.id, allowed_address_pairs=[{"ip_address": "10.88.1.0/24"}],
            extra_dhcp_opts=[{"opt_name": "bootfile-name", "opt_value": "pxelinux.0"}])
        assert port.is_port_security_enabled is True
        assert len(port.security_group_ids) == 1
        assert port.allowed_address_pairs == [{"ip_address": "10.88.1.0/24",
                                               "mac_address": port.mac_address}]
        assert port.extra_dhcp_opts == [{"opt_name": "bootfile-name",
                                         "opt_value": "pxelinux.0", "ip_version": 4}]
        with pytest.raises(openstack.exceptions.ConflictException):
            conn.network.update_port(port, port_security_enabled=False)
        port = conn.network.update_port(port, port_security_enabled=False,
                                        security_group_ids=[], allowed_address_pairs=[])
        assert port.is_port_security_enabled is False
        assert port.security_group_ids == [] and port.allowed_address_pairs == []
        bare = conn.network.create_port(network_id=net.id, port_security_enabled=False,
                                        security_group_ids=[])
        assert bare.is_port_security_enabled is False and bare.security_group_ids == []
        found = list(conn.network.ports(network_id=net.id))
        assert {p.id for p in found} == {port.id, bare.id}
        assert all(p.is_port_security_enabled is False for p in found)
    finally:
        for p in conn.network.ports(network_id=net.id):
            conn.network.delete_port(p)
        conn.network.delete_network(net)
