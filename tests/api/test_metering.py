"""Metering labels and rules (metering, metering_source_and_destination_fields),
over HTTP against every backend: defaults, validation, errors and policy as
upstream's."""

from __future__ import annotations

import uuid

import pytest
from openstack import exceptions as sdk_exc

from server import Api, assert_error

LABELS = "metering/metering-labels"
RULES = "metering/metering-label-rules"


def _label(api: Api, **attrs: object) -> dict:
    response = api.post(LABELS, {"metering_label": {"name": "m", **attrs}})
    assert response.status_code == 201, response.text
    return response.json()["metering_label"]


def _rule(api: Api, label_id: str, **attrs: object) -> dict:
    body = {"metering_label_id": label_id, "direction": "ingress", **attrs}
    response = api.post(RULES, {"metering_label_rule": body})
    assert response.status_code == 201, response.text
    return response.json()["metering_label_rule"]


def test_extensions_are_listed(api: Api) -> None:
    by_alias = {e["alias"]: e for e in api.get("extensions").json()["extensions"]}
    assert by_alias["metering"]["name"] == "Neutron Metering"
    assert by_alias["metering_source_and_destination_fields"]["updated"] == \
        "2020-08-21T08:12:00-00:00"


def test_label_create_show_list_delete(own_project_admin: Api) -> None:
    api = own_project_admin
    project = api.client.headers["X-Project-Id"]
    label = _label(api, description="d")
    assert label == {"id": label["id"], "name": "m", "description": "d",
                     "project_id": project, "tenant_id": project, "shared": False}
    assert api.get(f"{LABELS}/{label['id']}").json()["metering_label"] == label
    listed = api.get(f"{LABELS}?id={label['id']}").json()["metering_labels"]
    assert listed == [label]
    shared = _label(api, name="s", shared=True)
    assert shared["shared"] is True
    names = api.get(f"{LABELS}?shared=true&project_id={project}&fields=name").json()
    assert names["metering_labels"] == [{"name": "s"}]
    # No update, as upstream's plugin.
    assert api.put(f"{LABELS}/{label['id']}",
                   {"metering_label": {"name": "x"}}).status_code == 405
    assert api.delete(f"{LABELS}/{label['id']}").status_code == 204
    assert_error(api.get(f"{LABELS}/{label['id']}"), 404, "MeteringLabelNotFound",
                 f"Metering label {label['id']} does not exist")
    assert_error(api.delete(f"{LABELS}/{label['id']}"), 404, "MeteringLabelNotFound")


def test_label_validation(own_project_admin: Api) -> None:
    api = own_project_admin
    for body in ({"name": 1}, {"description": "x" * 1025}, {"shared": "maybe"},
                 {"unknown": 1}, {"id": str(uuid.uuid4())}):
        response = api.post(LABELS, {"metering_label": body})
        assert response.status_code == 400, (body, response.text)
    assert _label(api, description="x" * 1024)["description"] == "x" * 1024


def test_rule_create_with_defaults_and_fields(own_project_admin: Api) -> None:
    api = own_project_admin
    label = _label(api)
    rule = _rule(api, label["id"], source_ip_prefix="10.0.0.0/24")
    assert rule == {"id": rule["id"], "metering_label_id": label["id"],
                    "direction": "ingress", "excluded": False, "remote_ip_prefix": None,
                    "source_ip_prefix": "10.0.0.0/24", "destination_ip_prefix": None}
    both = _rule(api, label["id"], direction="egress", excluded=True,
                 source_ip_prefix="10.0.0.5", destination_ip_prefix="0.0.0.0/0")
    # A bare address keeps its prefix length, as upstream's netaddr network.
    assert both["source_ip_prefix"] == "10.0.0.5/32"
    assert both["excluded"] is True and both["direction"] == "egress"
    legacy = _rule(api, label["id"], remote_ip_prefix="192.168.0.0/16")
    assert legacy["remote_ip_prefix"] == "192.168.0.0/16"
    listed = api.get(f"{RULES}?metering_label_id={label['id']}").json()
    assert sorted(r["id"] for r in listed["metering_label_rules"]) == sorted(
        [rule["id"], both["id"], legacy["id"]])
    egress = api.get(f"{RULES}?metering_label_id={label['id']}&direction=egress").json()
    assert [r["id"] for r in egress["metering_label_rules"]] == [both["id"]]
    assert api.get(f"{RULES}/{rule['id']}").json()["metering_label_rule"] == rule
    assert api.put(f"{RULES}/{rule['id']}", {"metering_label_rule": {
        "source_ip_prefix": "10.1.0.0/24"}}).status_code == 405
    # Deleting the label deletes its rules.
    assert api.delete(f"{LABELS}/{label['id']}").status_code == 204
    assert_error(api.get(f"{RULES}/{rule['id']}"), 404, "MeteringLabelRuleNotFound",
                 f"Metering label rule {rule['id']} does not exist")


def test_rule_validation_errors(own_project_admin: Api) -> None:
    api = own_project_admin
    label = _label(api)

    def post(**attrs: object) -> object:
        body = {"metering_label_id": label["id"], "direction": "ingress", **attrs}
        return api.post(RULES, {"metering_label_rule": body})

    assert_error(post(remote_ip_prefix="10.0.0.0/8", source_ip_prefix="10.0.0.0/24"),
                 400, "Invalid", "Cannot use 'remote-ip-prefix' in conjunction with "
                 "'source-ip-prefix' or 'destination-ip-prefix'.")
    assert_error(post(remote_ip_prefix="10.0.0.0/8", destination_ip_prefix="1.0.0.0/8"),
                 400, "Invalid")
    assert_error(post(), 400, "Invalid", "You must define at least one of the following "
                 "parameters 'remote_ip_prefix', or 'source_ip_prefix' or "
                 "'destination_ip_prefix'.")
    error = assert_error(post(source_ip_prefix="10.0.0.300/24"), 400, "Invalid")
    assert error["message"].startswith("source_ip_prefix: 10.0.0.300/24 is invalid [")
    assert_error(post(source_ip_prefix="10.0.0.0/24", direction="sideways"), 400,
                 "HTTPBadRequest")
    missing = api.post(RULES, {"metering_label_rule": {
        "metering_label_id": label["id"], "source_ip_prefix": "10.0.0.0/24"}})
    assert_error(missing, 400, "HTTPBadRequest")
    assert_error(post(source_ip_prefix="10.0.0.0/24", metering_label_id="nope"), 400,
                 "HTTPBadRequest")
    assert_error(post(source_ip_prefix=123), 400, "Invalid")
    assert_error(post(source_ip_prefix="10.0.0.0/24", excluded="maybe"), 400,
                 "InvalidInput")
    assert_error(post(source_ip_prefix="10.0.0.0/24", direction=None), 400,
                 "HTTPBadRequest")
    assert api.get(f"{RULES}?excluded=maybe").status_code == 400
    assert api.get(f"{LABELS}?shared=maybe").status_code == 400
    unknown = str(uuid.uuid4())
    assert_error(post(source_ip_prefix="10.0.0.0/24", metering_label_id=unknown), 404,
                 "MeteringLabelNotFound", f"Metering label {unknown} does not exist")
    assert api.get(f"{RULES}?metering_label_id={label['id']}").json()[
        "metering_label_rules"] == []


def test_overlapping_remote_prefixes_conflict(own_project_admin: Api) -> None:
    api = own_project_admin
    label = _label(api)
    _rule(api, label["id"], remote_ip_prefix="10.0.0.0/16")
    body = {"metering_label_id": label["id"], "direction": "ingress",
            "remote_ip_prefix": "10.0.5.0/24"}
    assert_error(api.post(RULES, {"metering_label_rule": body}), 409,
                 "MeteringLabelRuleOverlaps", "Metering label rule with remote_ip_prefix "
                 "10.0.5.0/24 overlaps another.")
    # Another direction, the excluded flag or another label: no overlap.
    _rule(api, label["id"], remote_ip_prefix="10.0.5.0/24", direction="egress")
    _rule(api, label["id"], remote_ip_prefix="10.0.5.0/24", excluded=True)
    _rule(api, _label(api)["id"], remote_ip_prefix="10.0.5.0/24")
    # Source/destination rules are not compared (upstream compares remote only).
    _rule(api, label["id"], source_ip_prefix="10.0.0.0/16")
    _rule(api, label["id"], source_ip_prefix="10.0.0.0/24")


def test_admin_only_policy(api: Api, own_project_admin: Api) -> None:
    project = f"p-{uuid.uuid4().hex}"
    member = api.as_project(project)
    label = _label(own_project_admin)
    rule = _rule(own_project_admin, label["id"], source_ip_prefix="10.0.0.0/24")
    assert_error(member.post(LABELS, {"metering_label": {"name": "x"}}), 403,
                 "PolicyNotAuthorized")
    assert_error(member.post(RULES, {"metering_label_rule": {
        "metering_label_id": label["id"], "direction": "ingress",
        "source_ip_prefix": "10.0.0.0/24"}}), 403, "PolicyNotAuthorized")
    # Reads are an administrator's too: a member sees nothing.
    assert member.get(LABELS).json()["metering_labels"] == []
    assert member.get(RULES).json()["metering_label_rules"] == []
    assert_error(member.get(f"{LABELS}/{label['id']}"), 404, "MeteringLabelNotFound")
    assert_error(member.get(f"{RULES}/{rule['id']}"), 404, "MeteringLabelRuleNotFound")
    assert_error(member.delete(f"{LABELS}/{label['id']}"), 404, "MeteringLabelNotFound")
    # An administrator may create a label for another project.
    other = _label(api, project_id=project)
    assert other["project_id"] == project


def test_bulk_create_is_all_or_nothing(own_project_admin: Api) -> None:
    api = own_project_admin
    label = _label(api)
    good = {"metering_label_id": label["id"], "direction": "ingress",
            "remote_ip_prefix": "10.9.0.0/24"}
    bad = dict(good, remote_ip_prefix="10.9.0.128/25")
    assert_error(api.post(RULES, {"metering_label_rules": [good, bad]}), 409,
                 "MeteringLabelRuleOverlaps")
    assert api.get(f"{RULES}?metering_label_id={label['id']}").json()[
        "metering_label_rules"] == []


# -- openstacksdk ----------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_openstacksdk_metering_label_and_rule(conn) -> None:  # noqa: ANN001 - sdk
    label = conn.network.create_metering_label(name="sdk-meter", description="d",
                                               is_shared=True)
    try:
        assert label.id and label.name == "sdk-meter" and label.is_shared is True
        rule = conn.network.create_metering_label_rule(
            metering_label_id=label.id, direction="egress",
            source_ip_prefix="10.0.0.0/24", destination_ip_prefix="0.0.0.0/0")
        assert rule.direction == "egress" and rule.is_excluded is False
        assert rule.source_ip_prefix == "10.0.0.0/24"
        assert rule.destination_ip_prefix == "0.0.0.0/0"
        fetched = conn.network.get_metering_label_rule(rule.id)
        assert fetched.metering_label_id == label.id
        rules = list(conn.network.metering_label_rules(metering_label_id=label.id))
        assert [r.id for r in rules] == [rule.id]
        assert label.id in {m.id for m in conn.network.metering_labels()}
        with pytest.raises(sdk_exc.ConflictException):
            conn.network.create_metering_label_rule(
                metering_label_id=label.id, direction="ingress",
                remote_ip_prefix="10.1.0.0/16")
            conn.network.create_metering_label_rule(
                metering_label_id=label.id, direction="ingress",
                remote_ip_prefix="10.1.2.0/24")
        with pytest.raises(sdk_exc.BadRequestException):
            conn.network.create_metering_label_rule(
                metering_label_id=label.id, direction="ingress",
                remote_ip_prefix="10.2.0.0/16", source_ip_prefix="10.3.0.0/16")
        conn.network.delete_metering_label_rule(rule)
        with pytest.raises(sdk_exc.NotFoundException):
            conn.network.get_metering_label_rule(rule.id)
    finally:
        conn.network.delete_metering_label(label, ignore_missing=True)
    with pytest.raises(sdk_exc.NotFoundException):
        conn.network.get_metering_label(label.id)
