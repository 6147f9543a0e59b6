"""port-security over HTTP: `port_security_enabled` on networks and ports, and what
a port without port security may not have (security groups, address pairs)."""

from __future__ import annotations

import uuid

import pytest

from server import Api, error_of, post_port, put_port


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def test_network_default_and_explicit(api: Api) -> None:
    net = api.network(name="ps")
    assert net["port_security_enabled"] is True
    off = api.network(name="ps-off", port_security_enabled=False)
    assert off["port_security_enabled"] is False
    assert api.get(f"networks/{off['id']}").json()["network"]["port_security_enabled"] is False
    listed = api.get("networks", params={"port_security_enabled": "false"}).json()["networks"]
    assert {n["id"] for n in listed} >= {off["id"]}
    assert net["id"] not in {n["id"] for n in listed}
    response = api.put(f"networks/{net['id']}", {"network": {"port_security_enabled": False}})
    assert response.status_code == 200, response.text
    updated = response.json()["network"]
    assert updated["port_security_enabled"] is False
    assert updated["revision_number"] > net["revision_number"]


def test_port_inherits_network_value(api: Api) -> None:
    on = api.network()
    port = api.port(on["id"])
    assert port["port_security_enabled"] is True
    assert len(port["security_groups"]) == 1
    assert port["allowed_address_pairs"] == [] and port["extra_dhcp_opts"] == []
    off = api.network(port_security_enabled=False)
    port = api.port(off["id"])
    assert port["port_security_enabled"] is False
    assert port["security_groups"] == []
    shown = api.get(f"ports/{port['id']}").json()["port"]
    assert shown["port_security_enabled"] is False and shown["security_groups"] == []
    # An explicit value wins over the network's.
    port = api.port(off["id"], port_security_enabled=True)
    assert port["port_security_enabled"] is True and len(port["security_groups"]) == 1


def test_port_without_port_security_gets_no_group(api: Api) -> None:
    net = api.network()
    port = api.port(net["id"], port_security_enabled=False)
    assert port["port_security_enabled"] is False
    assert port["security_groups"] == []
    listed = api.get("ports", params={"network_id": net["id"],
                                      "port_security_enabled": "False"}).json()["ports"]
    assert [p["id"] for p in listed] == [port["id"]]


def test_network_device_ports_have_no_port_security(api: Api) -> None:
    net = api.network()
    for owner in ("network:dhcp", "network:router_interface"):
        port = api.port(net["id"], device_owner=owner)
        assert port["port_security_enabled"] is False, owner
        assert port["security_groups"] == [], owner


def test_groups_without_port_security_refused(api: Api) -> None:
    net = api.network()
    group = api.port(net["id"])["security_groups"][0]
    response = post_port(api, net["id"], port_security_enabled=False, security_groups=[group])
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "PortSecurityAndIPRequiredForSecurityGroups",
        "message": "Port security must be enabled and port must have an IP address in "
                   "order to use security groups.", "detail": ""}
    # An empty list is no group: fine.
    response = post_port(api, net["id"], port_security_enabled=False, security_groups=[])
    assert response.status_code == 201, response.text


def test_address_pairs_without_port_security_refused(api: Api) -> None:
    net = api.network(port_security_enabled=False)
    response = post_port(api, net["id"], allowed_address_pairs=[{"ip_address": "10.0.0.9"}])
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "AddressPairAndPortSecurityRequired",
        "message": "Port Security must be enabled in order to have allowed address "
                   "pairs on a port.", "detail": ""}
    response = post_port(api, net["id"], allowed_address_pairs=[])
    assert response.status_code == 201, response.text


def test_disable_needs_groups_removed_in_same_request(api: Api) -> None:
    net = api.network()
    port = api.port(net["id"])
    response = put_port(api, port["id"], port_security_enabled=False)
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "PortSecurityPortHasSecurityGroup",
        "message": "Port has security group associated. Cannot disable port security "
                   "or IP address until security group is removed.", "detail": ""}
    shown = api.get(f"ports/{port['id']}").json()["port"]
    assert shown["port_security_enabled"] is True
    assert shown["security_groups"] == port["security_groups"]
    assert shown["revision_number"] == port["revision_number"]

    response = put_port(api, port["id"], port_security_enabled=False, security_groups=[])
    assert response.status_code == 200, response.text
    updated = response.json()["port"]
    assert updated["port_security_enabled"] is False and updated["security_groups"] == []
    assert updated["revision_number"] > port["revision_number"]
    assert api.get(f"ports/{port['id']}").json()["port"] == updated

    # Groups cannot come back while port security is off...
    response = put_port(api, port["id"], security_groups=port["security_groups"])
    assert response.status_code == 400
    assert error_of(response)["type"] == "PortSecurityAndIPRequiredForSecurityGroups"
    # ... but can with it.
    response = put_port(api, port["id"], port_security_enabled=True,
                        security_groups=port["security_groups"])
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert body["port_security_enabled"] is True
    assert body["security_groups"] == port["security_groups"]


def test_disable_needs_address_pairs_removed(api: Api) -> None:
    net = api.network()
    port = api.port(net["id"], allowed_address_pairs=[{"ip_address": "10.1.0.0/24"}])
    response = put_port(api, port["id"], port_security_enabled=False, security_groups=[])
    assert response.status_code == 409
    assert error_of(response)["type"] == "AddressPairAndPortSecurityRequired"
    response = put_port(api, port["id"], port_security_enabled=False, security_groups=[],
                        allowed_address_pairs=[])
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert body["allowed_address_pairs"] == [] and body["port_security_enabled"] is False
    response = put_port(api, port["id"], allowed_address_pairs=[{"ip_address": "10.0.0.1"}])
    assert response.status_code == 409


def test_reenabling_keeps_no_groups(api: Api) -> None:
    net = api.network()
    port = api.port(net["id"], port_security_enabled=False)
    response = put_port(api, port["id"], port_security_enabled=True)
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert body["port_security_enabled"] is True and body["security_groups"] == []


def test_bad_value(api: Api) -> None:
    net = api.network()
    response = post_port(api, net["id"], port_security_enabled="maybe")
    assert response.status_code == 400
    assert error_of(response)["type"] == "InvalidInput"
    response = api.post("networks", {"network": {"port_security_enabled": "maybe"}})
    assert response.status_code == 400


def test_policy_on_shared_network(api: Api) -> None:
    """Only the network's owner (or an admin) may choose port security."""
    net = api.network(shared=True)
    other = api.as_project(f"p-{uuid.uuid4().hex}")
    response = post_port(other, net["id"], port_security_enabled=False)
    assert response.status_code == 403, response.text
    response = post_port(other, net["id"])
    assert response.status_code == 201, response.text
    port = response.json()["port"]
    assert port["port_security_enabled"] is True
    response = put_port(other, port["id"], port_security_enabled=False, security_groups=[])
    assert response.status_code == 403, response.text
    owner = api.as_project(net["project_id"])
    response = post_port(owner, net["id"], port_security_enabled=False)
    assert response.status_code == 201, response.text
