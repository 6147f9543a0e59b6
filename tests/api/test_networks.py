"""Networks over HTTP: defaults, updates, deletes, in-use checks, bulk and If-Match."""

from __future__ import annotations

import uuid

import pytest

from server import TIME_RE, UNKNOWN, Api, ServerProcess, assert_error, error_of


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def show(api: Api, net_id: str) -> dict:
    response = api.get(f"networks/{net_id}")
    assert response.status_code == 200, response.text
    return response.json()["network"]


# -- create ----------------------------------------------------------------------


def test_create_defaults(api: Api) -> None:
    response = api.post("networks", {"network": {"name": "net1",
                                                 "description": "smoke net"}})
    assert response.status_code == 201, response.text
    net = response.json()["network"]
    assert uuid.UUID(net["id"])
    assert net["name"] == "net1"
    assert net["description"] == "smoke net"
    assert net["admin_state_up"] is True
    assert net["status"] == "ACTIVE"
    assert net["shared"] is False
    assert net["subnets"] == []
    assert net["tags"] == []
    assert isinstance(net["mtu"], int) and net["mtu"] > 0
    assert isinstance(net["revision_number"], int)
    assert net["project_id"] == net["tenant_id"] == api.client.headers["X-Project-Id"]
    assert TIME_RE.match(net["created_at"]), net["created_at"]
    assert TIME_RE.match(net["updated_at"]), net["updated_at"]
    # Upstream shows is_default in the create answer only (transcripts 005, 006),
    # and on external networks.
    assert net["is_default"] is False
    assert show(api, net["id"]) == without_is_default(net)


def without_is_default(net: dict) -> dict:
    return {k: v for k, v in net.items() if k != "is_default"}


def test_noauth_admin_creates_in_fake_project(server: ServerProcess, backend: str) -> None:
    """No X-Project-Id: admin in upstream's noauth project."""
    root = Api(server.url, backend=backend)
    net = root.network()
    assert net["project_id"] == net["tenant_id"] == "fake_project_id"
    assert root.delete(f"networks/{net['id']}").status_code == 204


def test_create_minimal_body_has_empty_name_and_description(api: Api) -> None:
    net = api.network()
    assert net["name"] == ""
    assert net["description"] == ""


def test_create_admin_state_down_and_shared(api: Api) -> None:
    net = api.network(name=unique("n"), admin_state_up=False, shared=True)
    assert net["admin_state_up"] is False
    assert net["shared"] is True


def test_create_with_tags(api: Api) -> None:
    net = api.network(tags=["b", "a"])
    assert sorted(net["tags"]) == ["a", "b"]


@pytest.mark.parametrize("attr", ["status", "id", "subnets"])
def test_create_read_only_attribute_is_refused(api: Api, attr: str) -> None:
    value = {"status": "DOWN", "id": str(uuid.uuid4()), "subnets": []}[attr]
    response = api.post("networks", {"network": {attr: value}})
    assert response.status_code == 400
    assert error_of(response)["type"] == "HTTPBadRequest"


def test_create_unknown_attribute(api: Api) -> None:
    response = api.post("networks", {"network": {"name": "bad", "foo": "bar"}})
    assert response.status_code == 400
    assert error_of(response) == {"type": "HTTPBadRequest",
                                  "message": "Unrecognized attribute(s) 'foo'",
                                  "detail": ""}


def test_create_bad_boolean(api: Api) -> None:
    response = api.post("networks", {"network": {"name": "bad",
                                                 "admin_state_up": "notabool"}})
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "InvalidInput",
        "message": "Invalid input for operation: 'notabool' cannot be converted to boolean.",
        "detail": ""}


def test_create_without_wrapper(api: Api) -> None:
    response = api.post("networks", {"name": "no-wrapper"})
    assert response.status_code == 400
    assert error_of(response)["message"] == "Unable to find 'network' in request body"


def test_create_invalid_json(api: Api) -> None:
    response = api.request("POST", "networks", content=b'{"network": {"name": ')
    assert response.status_code == 400
    assert error_of(response) == {"type": "HTTPBadRequest",
                                  "message": "Body contains invalid data", "detail": ""}


def test_create_name_too_long(api: Api) -> None:
    response = api.post("networks", {"network": {"name": "x" * 256}})
    assert response.status_code == 400
    assert error_of(response)["type"] == "HTTPBadRequest"


# -- bulk create -----------------------------------------------------------------


def test_bulk_create(api: Api) -> None:
    names = [unique("bulk"), unique("bulk")]
    response = api.post("networks", {"networks": [{"name": n} for n in names]})
    assert response.status_code == 201, response.text
    created = response.json()["networks"]
    assert [n["name"] for n in created] == names
    for net in created:
        assert show(api, net["id"])["name"] == net["name"]


def test_bulk_create_is_atomic(api: Api) -> None:
    good, also_good = unique("atomic"), unique("atomic")
    response = api.post("networks", {"networks": [
        {"name": good}, {"name": "bad", "admin_state_up": "notabool"},
        {"name": also_good}]})
    assert response.status_code == 400
    assert error_of(response)["type"] == "InvalidInput"
    for name in (good, also_good):
        assert api.get("networks", params={"name": name}).json()["networks"] == []


def test_bulk_create_empty_list(api: Api) -> None:
    response = api.post("networks", {"networks": []})
    assert response.status_code == 400
    assert error_of(response)["type"] == "HTTPBadRequest"


# -- show ------------------------------------------------------------------------


def test_show_unknown(api: Api) -> None:
    response = api.get(f"networks/{UNKNOWN}")
    assert response.status_code == 404
    assert error_of(response) == {
        "type": "NetworkNotFound",
        "message": f"Network {UNKNOWN} could not be found.", "detail": ""}


def test_show_malformed_id_is_404(api: Api) -> None:
    response = api.get("networks/not-a-uuid")
    assert response.status_code == 404
    assert error_of(response) == {"type": "NetworkNotFound",
                                  "message": "Network not-a-uuid could not be found.",
                                  "detail": ""}


def test_show_fields(api: Api) -> None:
    net = api.network(name=unique("f"))
    body = api.get(f"networks/{net['id']}", params=[("fields", "id"),
                                                     ("fields", "name")]).json()
    assert body == {"network": {"id": net["id"], "name": net["name"]}}


# -- update ----------------------------------------------------------------------


def test_update_name_description_admin_state(api: Api) -> None:
    net = api.network(name=unique("u"))
    response = api.put(f"networks/{net['id']}", {"network": {
        "name": "renamed", "description": "updated", "admin_state_up": False}})
    assert response.status_code == 200, response.text
    updated = response.json()["network"]
    assert updated["name"] == "renamed"
    assert updated["description"] == "updated"
    assert updated["admin_state_up"] is False
    assert updated["revision_number"] == net["revision_number"] + 1
    assert updated["created_at"] == net["created_at"]
    assert TIME_RE.match(updated["updated_at"])
    assert updated["updated_at"] >= net["updated_at"]
    assert show(api, net["id"]) == updated


def test_every_update_bumps_revision(api: Api) -> None:
    net = api.network()
    revision = net["revision_number"]
    for name in ("a", "b", "c"):
        updated = api.put(f"networks/{net['id']}", {"network": {"name": name}}).json()
        revision += 1
        assert updated["network"]["revision_number"] == revision


def test_update_shared(api: Api) -> None:
    net = api.network()
    updated = api.put(f"networks/{net['id']}", {"network": {"shared": True}}).json()
    assert updated["network"]["shared"] is True


@pytest.mark.parametrize("attr,value", [
    ("status", "DOWN"), ("id", "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50"),
    ("subnets", []), ("created_at", "2020-01-01T00:00:00Z"),
    ("revision_number", 7)])
def test_update_read_only_attribute(api: Api, attr: str, value: object) -> None:
    net = api.network()
    response = api.put(f"networks/{net['id']}", {"network": {attr: value}})
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "HTTPBadRequest",
        "message": f"Cannot update read-only attribute {attr}", "detail": ""}
    assert show(api, net["id"])["revision_number"] == net["revision_number"]


def test_update_unknown(api: Api) -> None:
    response = api.put(f"networks/{UNKNOWN}", {"network": {"name": "x"}})
    assert response.status_code == 404
    assert error_of(response)["type"] == "NetworkNotFound"


def test_update_bad_value_changes_nothing(api: Api) -> None:
    net = api.network(name="keep")
    response = api.put(f"networks/{net['id']}", {"network": {
        "name": "changed", "admin_state_up": "maybe"}})
    assert response.status_code == 400
    assert show(api, net["id"])["name"] == "keep"


# -- If-Match ----------------------------------------------------------------------


def test_if_match_revision(api: Api) -> None:
    net = api.network()
    revision = net["revision_number"]
    response = api.put(f"networks/{net['id']}", {"network": {"name": "x"}},
                       headers={"If-Match": f"revision_number={revision + 5}"})
    assert response.status_code == 412
    assert error_of(response) == {
        "type": "RevisionNumberConstraintFailed",
        "message": f"Constrained to {revision + 5}, but current revision is {revision}",
        "detail": ""}
    assert show(api, net["id"])["name"] == ""
    response = api.put(f"networks/{net['id']}", {"network": {"name": "x"}},
                       headers={"If-Match": f"revision_number={revision}"})
    assert response.status_code == 200, response.text
    assert response.json()["network"]["revision_number"] == revision + 1
    # The old revision no longer matches.
    response = api.put(f"networks/{net['id']}", {"network": {"name": "y"}},
                       headers={"If-Match": f"revision_number={revision}"})
    assert response.status_code == 412


def test_if_match_on_delete(api: Api) -> None:
    net = api.network()
    response = api.delete(f"networks/{net['id']}",
                          headers={"If-Match": f"revision_number={net['revision_number'] + 3}"})
    assert response.status_code == 412
    assert show(api, net["id"])["id"] == net["id"]


# -- delete ----------------------------------------------------------------------


def test_delete(api: Api) -> None:
    net = api.network()
    response = api.delete(f"networks/{net['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"networks/{net['id']}").status_code == 404
    response = api.delete(f"networks/{net['id']}")
    assert response.status_code == 404
    assert error_of(response)["type"] == "NetworkNotFound"


def test_delete_unknown(api: Api) -> None:
    response = api.delete(f"networks/{UNKNOWN}")
    assert response.status_code == 404
    assert error_of(response)["message"] == f"Network {UNKNOWN} could not be found."


def test_delete_with_subnets_removes_them(api: Api) -> None:
    net = api.network()
    subnet = api.subnet(net["id"], "10.20.0.0/24")
    assert api.delete(f"networks/{net['id']}").status_code == 204
    response = api.get(f"subnets/{subnet['id']}")
    assert response.status_code == 404
    assert error_of(response)["type"] == "SubnetNotFound"


def test_delete_in_use_lists_ports(api: Api) -> None:
    net = api.network()
    api.subnet(net["id"], "10.21.0.0/24")
    ports = [api.port(net["id"], name=f"p{i}")["id"] for i in range(3)]
    response = api.delete(f"networks/{net['id']}")
    assert response.status_code == 409
    error = error_of(response)
    assert error["type"] == "NetworkInUse"
    prefix = (f"Unable to complete operation on network {net['id']}. There are one or more "
              "ports still in use on the network, id for these ports is: ")
    assert error["message"].startswith(prefix)
    assert error["message"].endswith(".")
    listed = error["message"][len(prefix):-1].split(",")
    assert sorted(listed) == sorted(ports)
    # Nothing was removed.
    assert show(api, net["id"])["id"] == net["id"]
    for port_id in ports:
        assert api.get(f"ports/{port_id}").status_code == 200
    for port_id in ports:
        assert api.delete(f"ports/{port_id}").status_code == 204
    assert api.delete(f"networks/{net['id']}").status_code == 204


def test_dhcp_ports_do_not_block_delete_and_go_with_it(api: Api) -> None:
    net = api.network()
    subnet = api.subnet(net["id"], "10.22.0.0/24")
    dhcp = api.port(net["id"], device_owner="network:dhcp", device_id="dhcp-agent")
    assert dhcp["fixed_ips"][0]["subnet_id"] == subnet["id"]
    assert api.delete(f"networks/{net['id']}").status_code == 204
    response = api.get(f"ports/{dhcp['id']}")
    assert response.status_code == 404
    assert error_of(response)["type"] == "PortNotFound"


def test_dhcp_port_with_user_port_still_blocks(api: Api) -> None:
    net = api.network()
    api.port(net["id"], device_owner="network:dhcp")
    user = api.port(net["id"], device_owner="compute:nova")
    response = api.delete(f"networks/{net['id']}")
    assert response.status_code == 409
    assert error_of(response)["message"].endswith(f"is: {user['id']}.")


# -- subnets in the network ----------------------------------------------------------


def test_subnet_create_bumps_revision_and_lists_subnet(api: Api) -> None:
    net = api.network()
    first = api.subnet(net["id"], "10.23.0.0/24")
    after_one = show(api, net["id"])
    assert after_one["subnets"] == [first["id"]]
    assert after_one["revision_number"] > net["revision_number"]
    second = api.subnet(net["id"], "2001:db8:23::/64")
    after_two = show(api, net["id"])
    assert sorted(after_two["subnets"]) == sorted([first["id"], second["id"]])
    assert after_two["revision_number"] > after_one["revision_number"]
    assert api.delete(f"subnets/{first['id']}").status_code == 204
    after_delete = show(api, net["id"])
    assert after_delete["subnets"] == [second["id"]]
    assert after_delete["revision_number"] > after_two["revision_number"]


def test_list_filter_by_id_and_name(api: Api) -> None:
    name = unique("listed")
    net = api.network(name=name)
    body = api.get("networks", params={"name": name}).json()
    assert [n["id"] for n in body["networks"]] == [net["id"]]
    body = api.get("networks", params={"id": net["id"]}).json()
    assert body["networks"][0] == without_is_default(net)


def test_unshare_in_use_by_other_project(api: Api) -> None:
    net = api.network(shared=True)
    other = f"other-{uuid.uuid4().hex}"
    api.port(net["id"], project_id=other)
    response = api.put(f"networks/{net['id']}", {"network": {"shared": False}})
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "InvalidSharedSetting",
        "message": f"Unable to reconfigure sharing settings for network {net['id']}. "
                   "Multiple tenants are using it.",
        "detail": ""}
    assert show(api, net["id"])["shared"] is True


def test_unshare_used_only_by_owner(api: Api) -> None:
    net = api.network(shared=True)
    api.port(net["id"])
    response = api.put(f"networks/{net['id']}", {"network": {"shared": False}})
    assert response.status_code == 200
    assert response.json()["network"]["shared"] is False


def test_mtu_is_writable_up_to_the_physical_mtu(api: Api) -> None:
    net = api.network(mtu=1400)
    assert net["mtu"] == 1400
    response = api.put(f"networks/{net['id']}", {"network": {"mtu": 1280}})
    assert response.status_code == 200, response.text
    assert response.json()["network"]["mtu"] == 1280
    assert response.json()["network"]["revision_number"] == net["revision_number"] + 1


@pytest.mark.parametrize("mtu,message", [
    # vxlan project networks: 1500 - 50
    (9000, "Invalid input for operation: Requested MTU is too big, maximum is 1450."),
    (-1, "Invalid input for mtu. Reason: '-1' should be non-negative."),
    ("big", "Invalid input for operation: 'big' is not an integer."),
])
def test_mtu_out_of_range_is_refused(api: Api, mtu: object, message: str) -> None:
    net = api.network()
    response = api.put(f"networks/{net['id']}", {"network": {"mtu": mtu}})
    assert response.status_code == 400
    assert error_of(response)["message"] == message
    assert show(api, net["id"])["mtu"] == 1450
    assert api.post("networks", {"network": {"mtu": mtu}}).status_code == 400


def test_mtu_below_what_ip_needs_is_kept_until_a_subnet_needs_more(api: Api) -> None:
    """As upstream: any non-negative MTU; a subnet whose IP version needs more (IPv4
    68, IPv6 1280) is refused with 409 NetworkMTUSubnetConflict, and so is lowering
    the MTU under what the network's subnets need."""
    low = api.network(mtu=67)
    assert low["mtu"] == 67
    response = api.post("subnets", {"subnet": {"network_id": low["id"], "ip_version": 4,
                                               "cidr": "10.0.0.0/24"}})
    assert_error(response, 409, "NetworkMTUSubnetConflict",
                 f"MTU of {low['id']} is not valid, subnet requires a minimum of 68")
    v6 = api.network(mtu=1279)
    api.subnet(v6["id"], "10.0.1.0/24")
    response = api.post("subnets", {"subnet": {"network_id": v6["id"], "ip_version": 6,
                                               "cidr": "2001:db8:0:1::/64"}})
    assert_error(response, 409, "NetworkMTUSubnetConflict",
                 f"MTU of {v6['id']} is not valid, subnet requires a minimum of 1280")
    assert len(show(api, v6["id"])["subnets"]) == 1
    api.put(f"networks/{v6['id']}", {"network": {"mtu": 1280}})
    api.subnet(v6["id"], "2001:db8:0:1::/64")
    response = api.put(f"networks/{v6['id']}", {"network": {"mtu": 1279}})
    assert_error(response, 409, "NetworkMTUSubnetConflict",
                 f"MTU of {v6['id']} is not valid, subnet requires a minimum of 1280")
    assert show(api, v6["id"])["mtu"] == 1280
    v4 = api.network(mtu=1280)
    api.subnet(v4["id"], "10.0.2.0/24")
    response = api.put(f"networks/{v4['id']}", {"network": {"mtu": 67}})
    assert_error(response, 409, "NetworkMTUSubnetConflict")
    response = api.put(f"networks/{v4['id']}", {"network": {"mtu": 68}})
    assert response.status_code == 200, response.text
    assert response.json()["network"]["mtu"] == 68
