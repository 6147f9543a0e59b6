"""Security group logging (``logging``): log objects and loggable resources over
HTTP against every backend: defaults, validation, errors and policy as upstream's."""

from __future__ import annotations

import uuid

import pytest

from server import Api, assert_error

LOGS = "log/logs"


def _log(api: Api, **attrs: object) -> dict:
    response = api.post(LOGS, {"log": {"resource_type": "security_group", **attrs}})
    assert response.status_code == 201, response.text
    return response.json()["log"]


def _group(api: Api) -> dict:
    response = api.post("security-groups", {"security_group": {"name": "lg"}})
    assert response.status_code == 201, response.text
    return response.json()["security_group"]


def _port(api: Api, groups: list[str]) -> dict:
    net = api.post("networks", {"network": {"name": "ln"}}).json()["network"]
    response = api.post("ports", {"port": {"network_id": net["id"],
                                           "security_groups": groups}})
    assert response.status_code == 201, response.text
    return response.json()["port"]


def test_extension_and_loggable_resources(api: Api) -> None:
    # Listed now that the Linux bridge agent writes the logs (docs/agents.md).
    extensions = {e["alias"]: e for e in api.get("extensions").json()["extensions"]}
    assert extensions["logging"] == {
        "alias": "logging", "name": "Logging API Extension",
        # neutron-lib's api-def text (the plugin lists its alias only).
        "description": "Provides a logging API for resources such as security group "
                       "and firewall.",
        "updated": "2017-01-01T10:00:00-00:00", "links": []}
    assert api.get("extensions/logging").json()["extension"] == extensions["logging"]
    response = api.get("log/loggable-resources")
    assert response.status_code == 200
    assert response.json() == {"loggable_resources": [{"type": "security_group"}]}
    assert api.post("log/loggable-resources", {}).status_code == 405


def test_create_show_list_update_delete(own_project_admin: Api) -> None:
    api = own_project_admin
    project = api.client.headers["X-Project-Id"]
    log = _log(api, name="all")
    assert log == {
        "id": log["id"], "name": "all", "description": "", "project_id": project,
        "tenant_id": project, "resource_type": "security_group", "resource_id": None,
        "target_id": None, "event": "ALL", "enabled": True,
        "created_at": log["created_at"], "updated_at": log["updated_at"],
        "revision_number": 0}
    assert api.get(f"{LOGS}/{log['id']}").json()["log"] == log
    assert api.get(f"{LOGS}?id={log['id']}").json()["logs"] == [log]
    dropped = _log(api, event="DROP", enabled=False)
    assert api.get(f"{LOGS}?enabled=false&project_id={project}&fields=event").json() \
        == {"logs": [{"event": "DROP"}]}
    assert dropped["enabled"] is False
    updated = api.put(f"{LOGS}/{log['id']}", {"log": {
        "name": "n", "description": "d", "enabled": False}})
    assert updated.status_code == 200, updated.text
    body = updated.json()["log"]
    assert (body["name"], body["description"], body["enabled"]) == ("n", "d", False)
    assert body["revision_number"] == 1
    # Only name, description and enabled change.
    for attr, value in (("event", "DROP"), ("resource_id", str(uuid.uuid4())),
                        ("target_id", str(uuid.uuid4())),
                        ("resource_type", "security_group")):
        assert_error(api.put(f"{LOGS}/{log['id']}", {"log": {attr: value}}), 400,
                     "HTTPBadRequest")
    assert api.delete(f"{LOGS}/{log['id']}").status_code == 204
    assert_error(api.get(f"{LOGS}/{log['id']}"), 404, "LogResourceNotFound",
                 f"Log resource {log['id']} could not be found.")
    assert_error(api.delete(f"{LOGS}/{log['id']}"), 404, "LogResourceNotFound")


def test_group_and_port(own_project_admin: Api) -> None:
    api = own_project_admin
    group = _group(api)
    other = _group(api)
    port = _port(api, [group["id"]])
    log = _log(api, resource_id=group["id"], target_id=port["id"], event="ACCEPT")
    assert (log["resource_id"], log["target_id"], log["event"]) == (
        group["id"], port["id"], "ACCEPT")
    assert _log(api, resource_id=other["id"])["target_id"] is None
    assert _log(api, target_id=port["id"])["resource_id"] is None
    assert_error(api.post(LOGS, {"log": {
        "resource_type": "security_group", "resource_id": other["id"],
        "target_id": port["id"]}}), 400, "InvalidResourceConstraint",
        f"Invalid resource constraint between resource (security_group {other['id']}) "
        f"and target resource (port {port['id']}).")
    missing = str(uuid.uuid4())
    assert_error(api.post(LOGS, {"log": {"resource_type": "security_group",
                                         "resource_id": missing}}),
                 404, "ResourceNotFound", f"Resource {missing} could not be found.")
    assert_error(api.post(LOGS, {"log": {"resource_type": "security_group",
                                         "target_id": missing}}),
                 404, "TargetResourceNotFound",
                 f"Target resource {missing} could not be found.")


@pytest.mark.parametrize(("body", "status", "type_"), [
    ({}, 400, "HTTPBadRequest"),  # resource_type is required
    ({"resource_type": "firewall_group"}, 400, "InvalidLogResourceType"),
    ({"resource_type": "security_group", "event": "REJECT"}, 400, "HTTPBadRequest"),
    ({"resource_type": "security_group", "resource_id": "x"}, 400, "HTTPBadRequest"),
    ({"resource_type": "security_group", "target_id": 5}, 400, "HTTPBadRequest"),
    ({"resource_type": "security_group", "enabled": "maybe"}, 400, "InvalidInput"),
])
def test_validation(own_project_admin: Api, body: dict, status: int, type_: str) -> None:
    response = own_project_admin.post(LOGS, {"log": body})
    error = assert_error(response, status, type_)
    if type_ == "InvalidLogResourceType":
        assert error["message"] == "Invalid log resource_type: firewall_group."


def test_admin_only_policy(api: Api, own_project_admin: Api) -> None:
    project = f"p-{uuid.uuid4().hex}"
    member = api.as_project(project, ["member"])
    log = _log(own_project_admin)
    assert_error(member.post(LOGS, {"log": {"resource_type": "security_group"}}), 403,
                 "PolicyNotAuthorized")
    assert member.get(LOGS).json()["logs"] == []
    assert_error(member.get(f"{LOGS}/{log['id']}"), 404, "LogResourceNotFound")
    assert_error(member.put(f"{LOGS}/{log['id']}", {"log": {"name": "x"}}), 404,
                 "LogResourceNotFound")
    assert_error(member.delete(f"{LOGS}/{log['id']}"), 404, "LogResourceNotFound")
    assert_error(member.get("log/loggable-resources"), 403, "PolicyNotAuthorized")
    # An administrator may create a log for another project.
    assert _log(api, project_id=project)["project_id"] == project


def test_bulk_create_is_all_or_nothing(own_project_admin: Api) -> None:
    api = own_project_admin
    project = api.client.headers["X-Project-Id"]
    good = {"resource_type": "security_group", "name": "bulk"}
    bad = {"resource_type": "security_group", "resource_id": str(uuid.uuid4())}
    assert_error(api.post(LOGS, {"logs": [good, bad]}), 404, "ResourceNotFound")
    assert api.get(f"{LOGS}?project_id={project}").json()["logs"] == []



def test_deleting_the_group_deletes_its_logs(own_project_admin: Api) -> None:
    """As upstream (neutron-tempest-plugin's test_log_deleted_with_corresponding_
    security_group): the group's logs go with it; others stay."""
    api = own_project_admin
    group, other = _group(api), _group(api)
    log, kept = _log(api, resource_id=group["id"]), _log(api, resource_id=other["id"])
    unbound = _log(api)
    assert api.delete(f"security-groups/{group['id']}").status_code == 204
    assert_error(api.get(f"{LOGS}/{log['id']}"), 404, "LogResourceNotFound")
    assert api.get(f"{LOGS}/{kept['id']}").status_code == 200
    assert api.get(f"{LOGS}/{unbound['id']}").status_code == 200
