"""Small port attributes over HTTP: propagate_uplink_status, device_profile, trusted
(uplink-status-propagation, port-device-profile, port-trusted-vif), MAC address
regeneration (port-mac-address-regenerate) and tags in bulk port creates
(tag-ports-during-bulk-creation)."""

from __future__ import annotations

import re
import uuid

import pytest

from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
from server import Api, assert_error, error_of, post_port, put_port

MAC_RE = re.compile(r"^fa:16:3e(:[0-9a-f]{2}){3}$")


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


@pytest.fixture
def net(api: Api) -> dict:
    net = api.network()
    api.subnet(net["id"], "10.31.0.0/24")
    return net


def show(api: Api, port_id: str) -> dict:
    response = api.get(f"ports/{port_id}")
    assert response.status_code == 200, response.text
    return response.json()["port"]


# -- extensions -------------------------------------------------------------------

@pytest.mark.parametrize("alias", ["uplink-status-propagation", "port-device-profile",
                                   "port-trusted-vif", "port-mac-address-regenerate",
                                   "tag-ports-during-bulk-creation"])
def test_extensions_listed(api: Api, alias: str) -> None:
    assert api.get(f"extensions/{alias}").status_code == 200


# -- defaults ---------------------------------------------------------------------

def test_defaults(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    assert port["propagate_uplink_status"] is False
    assert port["device_profile"] is None
    assert port["trusted"] is None
    assert "trusted" not in port["binding:profile"]
    assert {k: show(api, port["id"])[k] for k in
            ("propagate_uplink_status", "device_profile", "trusted")} == {
        "propagate_uplink_status": False, "device_profile": None, "trusted": None}


# -- propagate_uplink_status --------------------------------------------------------

@pytest.mark.parametrize("given,stored", [(True, True), (False, False), ("true", True),
                                          ("False", False)])
def test_propagate_uplink_status_at_create(api: Api, net: dict, given: object,
                                           stored: bool) -> None:
    port = api.port(net["id"], propagate_uplink_status=given)
    assert port["propagate_uplink_status"] is stored
    assert show(api, port["id"])["propagate_uplink_status"] is stored
    listed = api.get("ports", params={"network_id": net["id"]}).json()["ports"]
    assert [p["propagate_uplink_status"] for p in listed if p["id"] == port["id"]] == [stored]


def test_propagate_uplink_status_invalid(api: Api, net: dict) -> None:
    response = post_port(api, net["id"], propagate_uplink_status="maybe")
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: 'maybe' cannot be converted to boolean.")


def test_propagate_uplink_status_not_updatable(api: Api, net: dict) -> None:
    port = api.port(net["id"], propagate_uplink_status=True)
    response = put_port(api, port["id"], propagate_uplink_status=False)
    assert_error(response, 400, "HTTPBadRequest",
                 "Cannot update read-only attribute propagate_uplink_status")
    assert show(api, port["id"])["propagate_uplink_status"] is True


# -- device_profile ---------------------------------------------------------------

def test_device_profile(api: Api, net: dict) -> None:
    port = api.port(net["id"], device_profile="gpu-profile")
    assert port["device_profile"] == "gpu-profile"
    assert show(api, port["id"])["device_profile"] == "gpu-profile"
    assert api.port(net["id"], device_profile=None)["device_profile"] is None


@pytest.mark.parametrize("value", [5, "x" * 256, ["a"]])
def test_device_profile_invalid(api: Api, net: dict, value: object) -> None:
    response = post_port(api, net["id"], device_profile=value)
    assert response.status_code == 400, response.text
    assert error_of(response)["message"].startswith("Invalid input for device_profile.")


def test_device_profile_not_updatable(api: Api, net: dict) -> None:
    port = api.port(net["id"], device_profile="a")
    assert put_port(api, port["id"], device_profile="b").status_code == 400
    assert show(api, port["id"])["device_profile"] == "a"


# -- trusted ---------------------------------------------------------------------

def test_trusted_create_update_and_binding_profile(api: Api, net: dict) -> None:
    port = api.port(net["id"], trusted=True)
    assert port["trusted"] is True
    assert port["binding:profile"] == {"trusted": True}
    shown = show(api, port["id"])
    assert shown["trusted"] is True and shown["binding:profile"] == {"trusted": True}
    updated = put_port(api, port["id"], trusted=False).json()["port"]
    assert updated["trusted"] is False
    assert updated["binding:profile"] == {"trusted": False}
    assert show(api, port["id"])["trusted"] is False
    # Only binding:profile asked: it still says whether the VIF is trusted.
    only = api.get(f"ports/{port['id']}", params={"fields": "binding:profile"}).json()
    assert only["port"] == {"binding:profile": {"trusted": False}}


def test_trusted_set_later_on_port_without_it(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    updated = put_port(api, port["id"], trusted=True).json()["port"]
    assert updated["trusted"] is True
    assert show(api, port["id"])["trusted"] is True


@pytest.mark.parametrize("value", ["maybe", None, 7])
def test_trusted_invalid(api: Api, net: dict, value: object) -> None:
    assert_error(post_port(api, net["id"], trusted=value), 400, "InvalidInput")


def test_trusted_is_for_admins(api: Api) -> None:
    project = f"p-{uuid.uuid4().hex}"
    member = api.as_project(project, ["member"])
    net = member.network()
    assert_error(post_port(member, net["id"], trusted=True), 403, "PolicyNotAuthorized")
    port = member.port(net["id"])
    assert port["trusted"] is None
    assert_error(put_port(member, port["id"], trusted=True), 403, "PolicyNotAuthorized")
    assert show(api, port["id"])["trusted"] is None


def test_not_filters_or_sort_keys(api: Api) -> None:
    for name in ("propagate_uplink_status", "device_profile", "trusted"):
        assert_error(api.get("ports", params={name: "x"}), 400, "HTTPBadRequest",
                     f"['{name}'] is invalid attribute for filtering")
        assert_error(api.get("ports", params={"sort_key": name, "sort_dir": "asc"}), 400,
                     "HTTPBadRequest", f"['{name}'] is invalid attribute for sort_keys")


def test_deleting_port_deletes_attributes(api: Api, net: dict) -> None:
    port = api.port(net["id"], trusted=True, device_profile="p",
                    propagate_uplink_status=True)
    assert api.delete(f"ports/{port['id']}").status_code == 204
    assert api.get(f"ports/{port['id']}").status_code == 404


def test_bulk_create_with_attributes_and_tags(api: Api, net: dict) -> None:
    body = {"ports": [
        {"network_id": net["id"], "tags": ["red", "blue"], "trusted": True,
         "propagate_uplink_status": True},
        {"network_id": net["id"], "tags": ["green"], "device_profile": "dp"},
    ]}
    response = api.post("ports", body)
    assert response.status_code == 201, response.text
    first, second = response.json()["ports"]
    assert first["tags"] == ["blue", "red"] and second["tags"] == ["green"]
    assert (first["trusted"], first["propagate_uplink_status"]) == (True, True)
    assert (second["trusted"], second["device_profile"]) == (None, "dp")
    assert show(api, first["id"])["tags"] == ["blue", "red"]
    tagged = api.get("ports", params={"tags": "green"}).json()["ports"]
    assert [p["id"] for p in tagged] == [second["id"]]


def test_bulk_create_with_bad_tag_creates_nothing(api: Api, net: dict) -> None:
    body = {"ports": [{"network_id": net["id"], "tags": ["ok"]},
                      {"network_id": net["id"], "tags": [""]}]}
    assert api.post("ports", body).status_code == 400
    assert api.get("ports", params={"network_id": net["id"]}).json()["ports"] == []


# -- MAC address regeneration --------------------------------------------------------

def test_regenerate_mac(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    response = put_port(api, port["id"], mac_address=None)
    assert response.status_code == 200, response.text
    new_mac = response.json()["port"]["mac_address"]
    assert MAC_RE.match(new_mac) and new_mac != port["mac_address"]
    shown = show(api, port["id"])
    assert shown["mac_address"] == new_mac
    assert shown["revision_number"] == port["revision_number"] + 1


def test_null_mac_at_create_is_generated(api: Api, net: dict) -> None:
    port = api.port(net["id"], mac_address=None)
    assert MAC_RE.match(port["mac_address"])


def test_regenerate_mac_is_admin_only(api: Api) -> None:
    member = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    net = member.network()
    port = member.port(net["id"])
    assert_error(put_port(member, port["id"], mac_address=None), 403, "PolicyNotAuthorized")
    assert show(api, port["id"])["mac_address"] == port["mac_address"]


def test_bound_port_keeps_its_mac(api: Api, net: dict, server_db: Database) -> None:
    # A Linux bridge agent reports through the real endpoint (the session server's
    # in-process bus cannot be reached from the test process).
    host = f"compute-{uuid.uuid4().hex[:10]}"
    state = {"agent_type": "Linux bridge agent", "binary": "neutrino-linuxbridge-agent",
             "topic": "N/A", "host": host, "start_flag": True,
             "configurations": {"tunnel_types": ["vxlan"], "tunneling_ip": "192.0.2.10"}}
    AgentStateEndpoint(server_db, 75).report_state({}, agent_state={"agent_state": state})
    port = api.port(net["id"], **{"binding:host_id": host})
    assert port["binding:vif_type"] == "bridge"
    for mac in (None, "fa:16:3e:00:11:22"):
        response = put_port(api, port["id"], mac_address=mac)
        error = assert_error(response, 409, "PortBound")
        assert error["message"].startswith(
            f"Unable to complete operation on port {port['id']}, port is already bound, "
            f"port type: bridge, old_mac {port['mac_address']}, new_mac ")
    assert show(api, port["id"])["mac_address"] == port["mac_address"]
    # Unbound again, it may change.
    put_port(api, port["id"], **{"binding:host_id": None})
    assert put_port(api, port["id"], mac_address=None).status_code == 200
