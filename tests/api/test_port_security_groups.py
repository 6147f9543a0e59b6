"""Security groups of ports over HTTP: the project's default group, explicit groups,
updates, validation and the `security_groups` list filter."""

from __future__ import annotations

import uuid

import pytest

from server import UNKNOWN, Api, error_of, post_port, put_port


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def new_group(api: Api, name: str) -> str:
    response = api.post("security-groups", {"security_group": {"name": name}})
    assert response.status_code == 201, response.text
    return response.json()["security_group"]["id"]


def test_default_group_per_project(api: Api) -> None:
    net = api.network()
    first = api.port(net["id"])
    second = api.port(net["id"])
    assert len(first["security_groups"]) == 1
    assert first["security_groups"] == second["security_groups"]
    listed = api.get("security-groups", params={"name": "default",
                                                "project_id": net["project_id"]}).json()
    assert [g["id"] for g in listed["security_groups"]] == first["security_groups"]
    # Another project's port gets that project's default group.
    other_project = f"p-{uuid.uuid4().hex}"
    other = api.as_project(other_project)
    other_net = other.network()
    theirs = other.port(other_net["id"])
    assert len(theirs["security_groups"]) == 1
    assert theirs["security_groups"] != first["security_groups"]
    # An admin creating a port for another project: the port's project's group.
    made = api.port(net["id"], project_id=other_project)
    assert made["security_groups"] == theirs["security_groups"]


def test_explicit_groups_and_duplicates(api: Api) -> None:
    net = api.network()
    web, db = new_group(api, "web"), new_group(api, "db")
    port = api.port(net["id"], security_groups=[web, db])
    assert port["security_groups"] == sorted([web, db])
    assert api.get(f"ports/{port['id']}").json()["port"]["security_groups"] == sorted([web, db])
    # The same group twice is refused (upstream's uuid_list), on create and update.
    duplicate = {"type": "HTTPBadRequest", "detail": "",
                 "message": f"Invalid input for security_groups. Reason: Duplicate items in "
                            f"the list: '{web}'."}
    response = post_port(api, net["id"], name="twice", security_groups=[web, db, web])
    assert response.status_code == 400 and error_of(response) == duplicate
    assert api.get(f"ports?network_id={net['id']}&name=twice").json()["ports"] == []
    response = put_port(api, port["id"], security_groups=[web, web.upper()])
    assert response.status_code == 400
    assert api.get(f"ports/{port['id']}").json()["port"]["security_groups"] == sorted([web, db])
    port = api.port(net["id"], security_groups=[])
    assert port["security_groups"] == []
    port = api.port(net["id"], security_groups=None)
    assert len(port["security_groups"]) == 1  # null: the default


def test_stateful_and_stateless_groups_not_on_one_port(api: Api) -> None:
    net = api.network()
    stateful = new_group(api, "stateful")
    response = api.post("security-groups", {"security_group": {"name": "stateless",
                                                               "stateful": False}})
    stateless = response.json()["security_group"]["id"]
    conflict = {"type": "SecurityGroupConflict", "detail": "",
                "message": "Error Cannot apply both stateful and stateless security groups "
                           "on the same port at the same time. while attempting the "
                           "operation."}
    response = post_port(api, net["id"], name="mixed", security_groups=[stateful, stateless])
    assert response.status_code == 409 and error_of(response) == conflict
    assert api.get(f"ports?network_id={net['id']}&name=mixed").json()["ports"] == []
    port = api.port(net["id"], security_groups=[stateless])
    response = put_port(api, port["id"], security_groups=[stateless, stateful])
    assert response.status_code == 409 and error_of(response) == conflict
    assert api.get(f"ports/{port['id']}").json()["port"]["security_groups"] == [stateless]


def test_unknown_and_foreign_groups_not_found(api: Api) -> None:
    net = api.network()
    response = post_port(api, net["id"], security_groups=[UNKNOWN])
    assert response.status_code == 404
    assert error_of(response) == {"type": "SecurityGroupNotFound",
                                  "message": f"Security group {UNKNOWN} does not exist",
                                  "detail": ""}
    other = api.as_project(f"p-{uuid.uuid4().hex}")
    foreign = other.port(other.network()["id"])["security_groups"][0]
    member = api.as_project(net["project_id"])
    response = post_port(member, net["id"], security_groups=[foreign])
    assert response.status_code == 404
    assert error_of(response)["message"] == f"Security group {foreign} does not exist"
    port = member.port(net["id"])
    response = put_port(member, port["id"], security_groups=[foreign])
    assert response.status_code == 404


def test_malformed_ids(api: Api) -> None:
    net = api.network()
    response = post_port(api, net["id"], security_groups=["nope"])
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "InvalidInput",
        "message": "Invalid input for operation: 'nope' is not an integer or uuid.",
        "detail": ""}
    response = post_port(api, net["id"], security_groups="nope")
    assert response.status_code == 400


def test_update_replaces_the_set(api: Api) -> None:
    net = api.network()
    web, db = new_group(api, "web"), new_group(api, "db")
    port = api.port(net["id"])
    default = port["security_groups"]
    response = put_port(api, port["id"], security_groups=[web, db])
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert body["security_groups"] == sorted([web, db])
    assert body["revision_number"] > port["revision_number"]
    response = put_port(api, port["id"], security_groups=[db])
    assert response.json()["port"]["security_groups"] == [db]
    response = put_port(api, port["id"], name="renamed")
    assert response.json()["port"]["security_groups"] == [db]
    response = put_port(api, port["id"], security_groups=default + [db])
    assert response.json()["port"]["security_groups"] == sorted(default + [db])
    response = put_port(api, port["id"], security_groups=None)
    assert response.status_code == 200, response.text
    assert response.json()["port"]["security_groups"] == []
    assert api.get(f"ports/{port['id']}").json()["port"]["security_groups"] == []


def test_filter_by_group(api: Api) -> None:
    net = api.network()
    web, db = new_group(api, "web"), new_group(api, "db")
    a = api.port(net["id"], security_groups=[web])
    b = api.port(net["id"], security_groups=[web, db])
    c = api.port(net["id"], security_groups=[db])
    api.port(net["id"])

    def ids(params: list[tuple[str, str]]) -> set[str]:
        response = api.get("ports", params=params)
        assert response.status_code == 200, response.text
        return {p["id"] for p in response.json()["ports"]}

    assert ids([("security_groups", web)]) == {a["id"], b["id"]}
    assert ids([("security_groups", db)]) == {b["id"], c["id"]}
    assert ids([("security_groups", web), ("security_groups", db)]) == {
        a["id"], b["id"], c["id"]}
    assert ids([("security_groups", UNKNOWN)]) == set()
    response = api.get("ports", params={"security_groups": web, "fields": "id"})
    assert {p["id"] for p in response.json()["ports"]} == {a["id"], b["id"]}


def test_bulk_create(api: Api) -> None:
    net = api.network()
    response = api.post("ports", {"ports": [
        {"network_id": net["id"]}, {"network_id": net["id"], "port_security_enabled": False}]})
    assert response.status_code == 201, response.text
    first, second = response.json()["ports"]
    assert len(first["security_groups"]) == 1 and first["port_security_enabled"] is True
    assert second["security_groups"] == [] and second["port_security_enabled"] is False
