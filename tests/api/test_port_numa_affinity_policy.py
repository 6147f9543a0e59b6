"""numa_affinity_policy on ports (port-numa-affinity-policy and its "socket" value,
port-numa-affinity-policy-socket): null, required, preferred, legacy or socket;
stored, writable on create and update, not a filter or sort key."""

from __future__ import annotations

import uuid

import pytest

from server import Api, assert_error, error_of, post_port, put_port


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


@pytest.fixture
def net(api: Api) -> dict:
    return api.network()


def show(api: Api, port_id: str) -> dict:
    response = api.get(f"ports/{port_id}")
    assert response.status_code == 200, response.text
    return response.json()["port"]


@pytest.mark.parametrize("alias,name", [
    ("port-numa-affinity-policy", "Port NUMA affinity policy"),
    ("port-numa-affinity-policy-socket", 'Port NUMA affinity policy "socket"')])
def test_extensions_listed(api: Api, alias: str, name: str) -> None:
    response = api.get(f"extensions/{alias}")
    assert response.status_code == 200
    assert response.json()["extension"]["name"] == name


def test_default_is_null(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    assert port["numa_affinity_policy"] is None
    assert show(api, port["id"])["numa_affinity_policy"] is None


@pytest.mark.parametrize("policy", ["required", "preferred", "legacy", "socket"])
def test_create_show_list(api: Api, net: dict, policy: str) -> None:
    port = api.port(net["id"], numa_affinity_policy=policy)
    assert port["numa_affinity_policy"] == policy
    assert show(api, port["id"])["numa_affinity_policy"] == policy
    listed = api.get("ports", params={"id": port["id"]}).json()["ports"]
    assert [p["numa_affinity_policy"] for p in listed] == [policy]


def test_update_and_clear(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    for policy in ("legacy", "socket", None, "required"):
        response = put_port(api, port["id"], numa_affinity_policy=policy)
        assert response.status_code == 200, response.text
        assert response.json()["port"]["numa_affinity_policy"] == policy
        assert show(api, port["id"])["numa_affinity_policy"] == policy


@pytest.mark.parametrize("value", ["strict", "", 1, True, ["required"]])
def test_invalid_value_refused(api: Api, net: dict, value: object) -> None:
    response = post_port(api, net["id"], numa_affinity_policy=value)
    error = assert_error(response, 400, "HTTPBadRequest")
    assert error["message"].startswith("Invalid input for numa_affinity_policy. Reason: ")
    assert api.get("ports", params={"network_id": net["id"]}).json()["ports"] == []
    port = api.port(net["id"], numa_affinity_policy="preferred")
    assert put_port(api, port["id"], numa_affinity_policy=value).status_code == 400
    assert show(api, port["id"])["numa_affinity_policy"] == "preferred"


def test_project_member_may_set_it(api: Api) -> None:
    member = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    net = member.network()
    port = member.port(net["id"], numa_affinity_policy="required")
    assert port["numa_affinity_policy"] == "required"
    assert put_port(member, port["id"], numa_affinity_policy="legacy").json()[
        "port"]["numa_affinity_policy"] == "legacy"


def test_not_a_filter_or_sort_key(api: Api) -> None:
    response = api.get("ports", params={"numa_affinity_policy": "required"})
    assert error_of(response)["message"] == (
        "['numa_affinity_policy'] is invalid attribute for filtering")
    response = api.get("ports", params={"sort_key": "numa_affinity_policy",
                                        "sort_dir": "asc"})
    assert response.status_code == 400


def test_bulk_create_and_delete(api: Api, net: dict) -> None:
    response = api.post("ports", {"ports": [
        {"network_id": net["id"], "numa_affinity_policy": "socket"},
        {"network_id": net["id"]}]})
    assert response.status_code == 201, response.text
    first, second = response.json()["ports"]
    assert (first["numa_affinity_policy"], second["numa_affinity_policy"]) == (
        "socket", None)
    assert api.delete(f"ports/{first['id']}").status_code == 204
    assert api.get(f"ports/{first['id']}").status_code == 404
