"""Security groups over HTTP (transcripts 025, 027, 029, 098; keystone/023)."""

from __future__ import annotations

import uuid

import openstack
import pytest

from server import UNKNOWN, Api, ServerProcess, error_of

pytestmark = [pytest.mark.filterwarnings("ignore::openstack.warnings.OpenStackDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning")]

GROUP_KEYS = {"id", "name", "stateful", "tenant_id", "project_id", "description", "shared",
              "security_group_rules", "tags", "created_at", "updated_at",
              "revision_number"}
RULE_KEYS = {"id", "project_id", "security_group_id", "ethertype", "direction", "protocol",
             "port_range_min", "port_range_max", "remote_ip_prefix",
             "remote_address_group_id", "normalized_cidr", "remote_group_id",
             "belongs_to_default_sg", "description", "created_at", "updated_at",
             "revision_number", "tenant_id"}


def group(api: Api, **attrs) -> dict:
    response = api.post("security-groups", {"security_group": attrs})
    assert response.status_code == 201, response.text
    return response.json()["security_group"]


def rule(api: Api, **attrs) -> dict:
    response = api.post("security-group-rules", {"security_group_rule": attrs})
    assert response.status_code == 201, response.text
    return response.json()["security_group_rule"]


def test_create_shape(own_project_admin: Api) -> None:  # transcript 025
    response = own_project_admin.post("security-groups", {"security_group": {
        "name": "sg1", "description": "smoke sg"}})
    assert response.status_code == 201, response.text
    sg = response.json()["security_group"]
    assert set(sg) == GROUP_KEYS
    assert (sg["name"], sg["description"], sg["stateful"], sg["shared"], sg["tags"],
            sg["revision_number"]) == ("sg1", "smoke sg", True, False, [], 1)
    rules = sg["security_group_rules"]
    assert sorted(r["ethertype"] for r in rules) == ["IPv4", "IPv6"]
    for rule in rules:
        assert set(rule) == RULE_KEYS | {"tags"}
        assert rule["direction"] == "egress"
        assert rule["security_group_id"] == sg["id"]
        assert rule["belongs_to_default_sg"] is False
        for key in ("protocol", "port_range_min", "port_range_max", "remote_ip_prefix",
                    "remote_group_id", "remote_address_group_id", "normalized_cidr"):
            assert rule[key] is None


def test_show_after_rule_bumps_revision(own_project_admin: Api) -> None:  # 026, 027
    api = own_project_admin
    sg = group(api, name="sg1")
    made = rule(api, security_group_id=sg["id"], direction="ingress", ethertype="IPv4",
                protocol="tcp", port_range_min=22, port_range_max=22,
                remote_ip_prefix="0.0.0.0/0")
    shown = api.get(f"security-groups/{sg['id']}").json()["security_group"]
    assert shown["revision_number"] == 2
    assert made["id"] in [r["id"] for r in shown["security_group_rules"]]


def test_list_creates_default(server: ServerProcess, backend: str) -> None:  # 029
    project = f"p-{uuid.uuid4().hex}"
    api = Api(server.url, backend=backend).as_project(project, ["member"])
    response = api.get("security-groups?name=default")
    assert response.status_code == 200
    (sg,) = response.json()["security_groups"]
    assert sg["description"] == "Default security group"
    assert sg["project_id"] == project
    assert sg["revision_number"] == 1
    rules = sg["security_group_rules"]
    assert len(rules) == 4
    assert sorted((r["direction"], r["ethertype"], r["remote_group_id"]) for r in rules) == [
        ("egress", "IPv4", None), ("egress", "IPv6", None),
        ("ingress", "IPv4", sg["id"]), ("ingress", "IPv6", sg["id"])]
    assert all(r["belongs_to_default_sg"] for r in rules)
    # Listing again does not make a second one.
    again = api.get("security-groups").json()["security_groups"]
    assert [g["id"] for g in again] == [sg["id"]]


def test_admin_list_for_a_project_creates_its_default(own_project_admin: Api) -> None:
    """As upstream, an admin listing ?project_id=P makes P's default group (once)."""
    admin = own_project_admin
    project = f"p-{uuid.uuid4().hex}"
    for query in (f"project_id={project}", f"tenant_id={project}&name=default",
                  f"project_id={project}"):
        listed = admin.get(f"security-groups?{query}").json()["security_groups"]
        assert [(g["name"], g["project_id"]) for g in listed] == [("default", project)]
    member = admin.as_project(project, ["member"])
    assert [g["id"] for g in member.get("security-groups").json()["security_groups"]] == \
        [listed[0]["id"]]


def test_member_fields(server: ServerProcess, backend: str) -> None:  # keystone/023
    project = f"p-{uuid.uuid4().hex}"
    api = Api(server.url, backend=backend).as_project(project, ["member"])
    response = api.get("security-groups?fields=name&fields=project_id")
    assert response.json() == {"security_groups": [{"name": "default",
                                                    "project_id": project}]}


def test_default_group_protected(server: ServerProcess, backend: str) -> None:
    project = f"p-{uuid.uuid4().hex}"
    member = Api(server.url, backend=backend).as_project(project, ["member"])
    (sg,) = member.get("security-groups").json()["security_groups"]
    response = member.delete(f"security-groups/{sg['id']}")
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "SecurityGroupCannotRemoveDefault",
        "message": "Insufficient rights for removing default security group.",
        "detail": ""}
    response = member.put(f"security-groups/{sg['id']}",
                          {"security_group": {"name": "renamed"}})
    assert response.status_code == 409
    assert error_of(response)["type"] == "SecurityGroupCannotUpdateDefault"
    assert error_of(response)["message"] == "Updating default security group not allowed."
    # The description may change.
    response = member.put(f"security-groups/{sg['id']}",
                          {"security_group": {"description": "mine"}})
    assert response.status_code == 200
    # An admin may delete it; the next list makes a new one.
    admin = Api(server.url, backend=backend).as_project(project, ["admin"])
    assert admin.delete(f"security-groups/{sg['id']}").status_code == 204
    (new,) = member.get("security-groups").json()["security_groups"]
    assert new["id"] != sg["id"]


def test_name_default_refused(own_project_admin: Api) -> None:
    response = own_project_admin.post("security-groups",
                                      {"security_group": {"name": "default"}})
    assert response.status_code == 409
    assert error_of(response)["type"] == "SecurityGroupDefaultAlreadyExists"


def test_update_and_delete(own_project_admin: Api) -> None:  # 098
    api = own_project_admin
    sg = group(api, name="a", stateful=False)
    assert sg["stateful"] is False
    response = api.put(f"security-groups/{sg['id']}", {"security_group": {
        "name": "b", "description": "d", "stateful": True}})
    assert response.status_code == 200
    updated = response.json()["security_group"]
    assert (updated["name"], updated["description"], updated["stateful"]) == ("b", "d", True)
    assert updated["revision_number"] == sg["revision_number"] + 1
    response = api.put(f"security-groups/{sg['id']}", {"security_group": {"shared": True}})
    assert response.status_code == 400
    assert api.delete(f"security-groups/{sg['id']}").status_code == 204
    response = api.get(f"security-groups/{sg['id']}")
    assert response.status_code == 404
    assert error_of(response) == {"type": "SecurityGroupNotFound", "detail": "",
                                  "message": f"Security group {sg['id']} does not exist"}
    assert api.get(f"security-group-rules?security_group_id={sg['id']}").json() == {
        "security_group_rules": []}


def test_delete_removes_rules_referring_to_it(own_project_admin: Api) -> None:
    api = own_project_admin
    a, b = group(api, name="a"), group(api, name="b")
    made = rule(api, security_group_id=a["id"], direction="ingress",
                remote_group_id=b["id"])
    assert api.delete(f"security-groups/{b['id']}").status_code == 204
    assert api.get(f"security-group-rules/{made['id']}").status_code == 404


def test_in_use_by_port(own_project_admin: Api) -> None:
    api = own_project_admin
    sg = group(api, name="used")
    net = api.network(name="n")
    port = api.port(net["id"])
    response = api.put(f"ports/{port['id']}", {"port": {"security_groups": [sg["id"]]}})
    assert response.status_code == 200, response.text
    in_use = {"type": "SecurityGroupInUse", "detail": "",
              "message": f"Security Group {sg['id']} in use."}
    response = api.delete(f"security-groups/{sg['id']}")
    assert response.status_code == 409
    assert error_of(response) == in_use
    # Nor can a group in use change its filtering mode.
    response = api.put(f"security-groups/{sg['id']}", {"security_group": {"stateful": False}})
    assert response.status_code == 409
    assert error_of(response) == in_use
    api.delete(f"ports/{port['id']}")
    response = api.put(f"security-groups/{sg['id']}", {"security_group": {"stateful": False}})
    assert response.status_code == 200
    assert api.delete(f"security-groups/{sg['id']}").status_code == 204


def test_other_projects_groups_are_hidden(server: ServerProcess, backend: str) -> None:
    one = Api(server.url, backend=backend).as_project(f"p-{uuid.uuid4().hex}", ["member"])
    two = Api(server.url, backend=backend).as_project(f"p-{uuid.uuid4().hex}", ["member"])
    sg = group(one, name="private")
    assert two.get(f"security-groups/{sg['id']}").status_code == 404
    assert two.delete(f"security-groups/{sg['id']}").status_code == 404
    assert sg["id"] not in [g["id"] for g in two.get("security-groups").json()[
        "security_groups"]]
    response = two.post("security-group-rules", {"security_group_rule": {
        "security_group_id": sg["id"], "direction": "ingress"}})
    assert response.status_code == 404
    assert error_of(response)["type"] == "SecurityGroupNotFound"
    # The admin sees every project's groups.
    admin = Api(server.url, backend=backend)
    assert admin.get(f"security-groups/{sg['id']}").status_code == 200


def test_filters_sorting_paging(own_project_admin: Api) -> None:
    api = own_project_admin
    made = [group(api, name=f"g{i}", description="x" if i % 2 else "y") for i in range(4)]
    body = api.get("security-groups?description=x&sort_key=name&sort_dir=desc").json()
    assert [g["name"] for g in body["security_groups"]] == ["g3", "g1"]
    body = api.get("security-groups?stateful=true&shared=false&fields=id&sort_key=name"
                   "&sort_dir=asc&limit=2").json()
    assert len(body["security_groups"]) == 2
    assert body["security_groups_links"][0]["rel"] == "next"
    assert api.get("security-groups?shared=true").json() == {"security_groups": []}
    ids = {g["id"] for g in made}
    listed = api.get("security-groups?fields=id&fields=security_group_rules").json()
    assert ids <= {g["id"] for g in listed["security_groups"]}
    assert api.get("security-groups?bogus=1").status_code == 400


def test_tags(own_project_admin: Api) -> None:
    api = own_project_admin
    sg = group(api, name="t", tags=["b", "a"])
    assert sg["tags"] == ["a", "b"]
    assert api.put(f"security-groups/{sg['id']}/tags/c").status_code == 201
    assert api.get("security-groups?tags=c").json()["security_groups"][0]["id"] == sg["id"]


def test_quota(server: ServerProcess, backend: str) -> None:
    project = f"p-{uuid.uuid4().hex}"
    api = Api(server.url, backend=backend).as_project(project, ["admin"])
    # The default group counts: 9 more fit under the quota of 10.
    for i in range(9):
        group(api, name=f"q{i}")
    response = api.post("security-groups", {"security_group": {"name": "one-too-many"}})
    assert response.status_code == 409
    assert error_of(response) == {"type": "OverQuota", "detail": "",
                                  "message": "Quota exceeded for resources: "
                                             "['security_group']."}
    details = api.get(f"quotas/{project}/details").json()["quota"]
    assert details["security_group"]["used"] == 10
    assert details["security_group_rule"]["used"] == 4 + 9 * 2


def test_bulk_create(own_project_admin: Api) -> None:
    response = own_project_admin.post("security-groups", {"security_groups": [
        {"name": "b1"}, {"name": "b2"}]})
    assert response.status_code == 201
    assert [g["name"] for g in response.json()["security_groups"]] == ["b1", "b2"]


def test_openstacksdk_flow(server: ServerProcess) -> None:
    conn = openstack.connect(auth_type="none", auth={"endpoint": server.url})
    try:
        name = f"sdk-{uuid.uuid4().hex[:8]}"
        sg = conn.network.create_security_group(name=name, description="by sdk")
        assert sg.name == name and sg.description == "by sdk"
        rule = conn.network.create_security_group_rule(
            security_group_id=sg.id, direction="ingress", ethertype="IPv4",
            protocol="tcp", port_range_min=80, port_range_max=81,
            remote_ip_prefix="10.1.2.3/24")
        assert rule.remote_ip_prefix == "10.1.2.3/24"
        found = conn.network.find_security_group(name)
        assert found is not None and found.id == sg.id
        assert sg.id in [g.id for g in conn.network.security_groups()]
        rules = list(conn.network.security_group_rules(security_group_id=sg.id))
        assert len(rules) == 3
        conn.network.delete_security_group_rule(rule)
        conn.network.delete_security_group(sg)
        assert conn.network.find_security_group(name) is None
    finally:
        conn.close()


def test_unknown_and_malformed(api: Api) -> None:
    for path in (f"security-groups/{UNKNOWN}", "security-groups/not-a-uuid"):
        response = api.get(path)
        assert response.status_code == 404
        assert error_of(response)["type"] == "SecurityGroupNotFound"
