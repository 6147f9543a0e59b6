"""Default security group rules (templates of new groups' rules) and the default
statefulness of new groups, over HTTP.

Both are global to the server: a test that adds a template or a setting removes it
before it ends (the session's server is shared by the tests of a worker)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from server import UNKNOWN, Api, assert_error

KEYS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
        "remote_ip_prefix", "remote_group_id", "remote_address_group_id")
LEGACY = [
    {"direction": "egress", "ethertype": "IPv4", "remote_group_id": None,
     "used_in_default_sg": True, "used_in_non_default_sg": True,
     "description": "Legacy default SG rule for egress traffic"},
    {"direction": "egress", "ethertype": "IPv6", "remote_group_id": None,
     "used_in_default_sg": True, "used_in_non_default_sg": True,
     "description": "Legacy default SG rule for egress traffic"},
    {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": "PARENT",
     "used_in_default_sg": True, "used_in_non_default_sg": False,
     "description": "Legacy default SG rule for ingress traffic"},
    {"direction": "ingress", "ethertype": "IPv6", "remote_group_id": "PARENT",
     "used_in_default_sg": True, "used_in_non_default_sg": False,
     "description": "Legacy default SG rule for ingress traffic"},
]
PATH = "default-security-group-rules"


def template(api: Api, **attrs: object) -> dict:
    response = api.post(PATH, {"default_security_group_rule": attrs})
    assert response.status_code == 201, response.text
    return response.json()["default_security_group_rule"]


@pytest.fixture
def templates(api: Api) -> Iterator[list[str]]:
    """Ids of templates the test made: deleted afterwards."""
    made: list[str] = []
    yield made
    for rule_id in made:
        api.delete(f"{PATH}/{rule_id}")


def tcp_rule(port: int, default: bool, other: bool, **extra: object) -> dict:
    return {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": port, "port_range_max": port, "used_in_default_sg": default,
            "used_in_non_default_sg": other, **extra}


def test_extensions_are_listed(api: Api) -> None:
    aliases = {e["alias"] for e in api.get("extensions").json()["extensions"]}
    assert {"security-groups-default-rules",
            "security-groups-default-statefulness"} <= aliases
    ext = api.get("extensions/security-groups-default-rules").json()["extension"]
    assert ext["name"] == "Default rules for security groups"


def test_seeded_with_upstreams_legacy_rules(api: Api) -> None:
    listed = api.get(PATH).json()["default_security_group_rules"]
    shown = [{k: r[k] for k in LEGACY[0]} for r in listed]
    for rule in LEGACY:
        assert rule in shown
    one = listed[0]
    assert set(one) == {"id", "description", "remote_group_id", "remote_address_group_id",
                        "direction", "protocol", "port_range_min", "port_range_max",
                        "ethertype", "remote_ip_prefix", "used_in_default_sg",
                        "used_in_non_default_sg"}
    only_default = api.get(f"{PATH}?used_in_non_default_sg=false").json()[
        "default_security_group_rules"]
    assert {r["remote_group_id"] for r in only_default} >= {"PARENT"}
    assert all(not r["used_in_non_default_sg"] for r in only_default)


def test_lifecycle(api: Api, templates: list[str]) -> None:
    port = 10000 + uuid.uuid4().int % 50000
    rule = template(api, **tcp_rule(port, False, True, description="web"))
    templates.append(rule["id"])
    assert {k: rule[k] for k in (*KEYS, "used_in_default_sg", "used_in_non_default_sg",
                                 "description")} == {
        "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
        "port_range_min": port, "port_range_max": port, "remote_ip_prefix": None,
        "remote_group_id": None, "remote_address_group_id": None,
        "used_in_default_sg": False, "used_in_non_default_sg": True, "description": "web"}
    assert api.get(f"{PATH}/{rule['id']}").json()["default_security_group_rule"] == rule
    # Templates cannot be changed, only replaced.
    assert api.put(f"{PATH}/{rule['id']}", {"default_security_group_rule": {
        "description": "x"}}).status_code == 405
    assert api.delete(f"{PATH}/{rule['id']}").status_code == 204
    assert_error(api.get(f"{PATH}/{rule['id']}"), 404, "DefaultSecurityGroupRuleNotFound",
                 f"Default Security Group rule {rule['id']} does not exist")
    assert_error(api.delete(f"{PATH}/{UNKNOWN}"), 404, "DefaultSecurityGroupRuleNotFound")


def test_same_rule_for_the_same_kind_of_group_conflicts(api: Api,
                                                         templates: list[str]) -> None:
    port = 10000 + uuid.uuid4().int % 50000
    both = template(api, **tcp_rule(port, True, True))
    templates.append(both["id"])
    for default, other in ((True, False), (False, True)):
        assert_error(api.post(PATH, {"default_security_group_rule": tcp_rule(
            port, default, other)}), 409, "DefaultSecurityGroupRuleExists",
            f"Default Security group rule already exists. Rule id is {both['id']}.")
    # The same rule once for default groups and once for the others is fine.
    port += 1
    for default, other in ((True, False), (False, True)):
        templates.append(template(api, **tcp_rule(port, default, other))["id"])
    response = api.post(PATH, {"default_security_group_rules": [
        tcp_rule(port + 1, True, False), tcp_rule(port + 1, True, True)]})
    assert_error(response, 409, "DuplicateDefaultSgRuleInPost")
    assert api.get(f"{PATH}?port_range_min={port + 1}").json()[
        "default_security_group_rules"] == []


def test_validation(api: Api) -> None:
    rule = tcp_rule(80, True, True)
    for missing in ("used_in_default_sg", "used_in_non_default_sg", "direction"):
        body = {k: v for k, v in rule.items() if k != missing}
        assert_error(api.post(PATH, {"default_security_group_rule": body}), 400,
                     "HTTPBadRequest", "Failed to parse request. Required attribute "
                     f"'{missing}' not specified")
    assert_error(api.post(PATH, {"default_security_group_rule": dict(
        rule, port_range_min=90)}), 400, "SecurityGroupInvalidPortRange")
    assert_error(api.post(PATH, {"default_security_group_rule": dict(
        rule, remote_group_id="PARENT", remote_ip_prefix="10.0.0.0/8")}), 400,
        "SecurityGroupRemoteGroupAndRemoteIpPrefix")
    assert_error(api.post(PATH, {"default_security_group_rule": dict(
        rule, remote_ip_prefix="2001:db8::/64")}), 400, "SecurityGroupRuleParameterConflict")
    assert_error(api.post(PATH, {"default_security_group_rule": dict(
        rule, protocol="nope")}), 400, "SecurityGroupRuleInvalidProtocol")


def test_policy(api: Api, own_project_admin: Api, templates: list[str]) -> None:
    member = api.as_project(f"p-{uuid.uuid4().hex}")
    assert member.get(PATH).status_code == 200
    assert_error(member.post(PATH, {"default_security_group_rule": tcp_rule(22, True, True)}),
                 403, "PolicyNotAuthorized")
    legacy = api.get(PATH).json()["default_security_group_rules"][0]
    assert_error(member.delete(f"{PATH}/{legacy['id']}"), 403, "PolicyNotAuthorized")


def rule_keys(rules: list[dict]) -> list[tuple]:
    return sorted(tuple(str(r[k]) for k in KEYS) for r in rules)


def expected(templates_: list[dict], group_id: str) -> list[tuple]:
    return rule_keys([dict(t, remote_group_id=group_id if t["remote_group_id"] == "PARENT"
                           else t["remote_group_id"]) for t in templates_])


def test_new_groups_are_made_from_the_templates(api: Api, templates: list[str]) -> None:
    port = 10000 + uuid.uuid4().int % 50000
    templates.append(template(api, **tcp_rule(port, False, True,
                                              remote_group_id="PARENT"))["id"])
    templates.append(template(api, **tcp_rule(port, True, False,
                                              remote_ip_prefix="10.1.2.3/16"))["id"])
    for_default = api.get(f"{PATH}?used_in_default_sg=true").json()[
        "default_security_group_rules"]
    for_others = api.get(f"{PATH}?used_in_non_default_sg=true").json()[
        "default_security_group_rules"]
    assert "10.1.0.0/16" in {t["remote_ip_prefix"] for t in for_default}

    project = api.as_project(f"p-{uuid.uuid4().hex}")
    groups = project.get("security-groups").json()["security_groups"]
    (default,) = groups
    assert rule_keys(default["security_group_rules"]) == expected(for_default,
                                                                  default["id"])
    group = project.create("security_group", name="web")
    assert rule_keys(group["security_group_rules"]) == expected(for_others, group["id"])
    assert {r["remote_group_id"] for r in group["security_group_rules"]
            if r["protocol"] == "tcp"} == {group["id"]}
    # A change of the templates does not touch existing groups.
    for rule_id in templates:
        assert api.delete(f"{PATH}/{rule_id}").status_code == 204
    templates.clear()
    shown = project.get(f"security-groups/{group['id']}").json()["security_group"]
    assert rule_keys(shown["security_group_rules"]) == expected(for_others, group["id"])


def test_admin_listing_a_new_projects_groups_makes_its_default_from_templates(
        api: Api, templates: list[str]) -> None:
    """Tempest's flow (neutron-tempest-plugin's custom default rules test): custom
    templates, then an admin lists a brand-new project's groups by tenant_id; the
    default group that listing creates has the templates' rules, as its rules
    collection shows too."""
    port = 10000 + uuid.uuid4().int % 50000
    templates.append(template(api, **tcp_rule(port, True, False,
                                              remote_group_id="PARENT"))["id"])
    templates.append(template(api, direction="egress", ethertype="IPv6", protocol="udp",
                              remote_ip_prefix="2001:db8::/64", used_in_default_sg=True,
                              used_in_non_default_sg=True)["id"])
    for_default = api.get(f"{PATH}?used_in_default_sg=true").json()[
        "default_security_group_rules"]
    project_id = f"p-{uuid.uuid4().hex}"
    api.get(f"security-groups?tenant_id={project_id}")
    (default,) = api.get(f"security-groups?tenant_id={project_id}&name=default").json()[
        "security_groups"]
    assert default["project_id"] == project_id
    assert rule_keys(default["security_group_rules"]) == expected(for_default,
                                                                  default["id"])
    listed = api.get(f"security-group-rules?security_group_id={default['id']}").json()[
        "security_group_rules"]
    assert rule_keys(listed) == expected(for_default, default["id"])
    assert {r["project_id"] for r in listed} == {project_id}
    assert {(r["protocol"], r["remote_group_id"]) for r in listed
            if r["protocol"] == "tcp"} == {("tcp", default["id"])}


def test_template_rules_count_against_the_rule_quota(api: Api,
                                                     templates: list[str]) -> None:
    project_id = f"p-{uuid.uuid4().hex}"
    project = api.as_project(project_id)
    project.get("security-groups")  # the default group: 4 rules
    for_others = api.get(f"{PATH}?used_in_non_default_sg=true").json()[
        "default_security_group_rules"]
    response = api.put(f"quotas/{project_id}", {"quota": {
        "security_group_rule": 4 + len(for_others)}})
    assert response.status_code == 200, response.text
    templates.append(template(api, **tcp_rule(443, False, True))["id"])
    assert_error(project.post("security-groups", {"security_group": {"name": "x"}}), 409,
                 "OverQuota")
    api.delete(f"{PATH}/{templates.pop()}")
    assert project.post("security-groups", {"security_group": {"name": "x"}}
                        ).status_code == 201
    api.delete(f"quotas/{project_id}")


# -- security-groups-default-statefulness -------------------------------------------

SPATH = "security-groups-default-statefulness"
KEY = "security_groups_default_statefulness"


@pytest.fixture
def settings(api: Api) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for setting_id in made:
        api.delete(f"{SPATH}/{setting_id}")


def setting(api: Api, made: list[str], **attrs: object) -> dict:
    response = api.post(SPATH, {KEY: attrs})
    assert response.status_code == 201, response.text
    made.append(response.json()[KEY]["id"])
    return response.json()[KEY]


def new_group_stateful(project: Api, **attrs: object) -> bool:
    return project.create("security_group", name="g", **attrs)["stateful"]


def test_statefulness_precedence(api: Api, settings: list[str]) -> None:
    project_id = f"p-{uuid.uuid4().hex}"
    project = api.as_project(project_id)
    other = api.as_project(f"p-{uuid.uuid4().hex}")
    assert new_group_stateful(project) is True
    system = setting(api, settings, stateful=False)
    assert system == {"id": system["id"], "project_id": None, "stateful": False}
    assert new_group_stateful(other) is False
    # The default group of a new project follows it too.
    (default,) = other.get("security-groups?name=default").json()["security_groups"]
    assert default["stateful"] is False
    own = setting(api, settings, project_id=project_id, stateful=True)
    assert own["project_id"] == project_id
    assert new_group_stateful(project) is True
    assert new_group_stateful(other) is False
    # What the request says wins.
    assert new_group_stateful(other, stateful=True) is True
    updated = api.put(f"{SPATH}/{system['id']}", {KEY: {"stateful": True}})
    assert updated.status_code == 200, updated.text
    assert updated.json()[KEY] == dict(system, stateful=True)
    assert new_group_stateful(other) is True
    listed = api.get(f"{SPATH}?project_id={project_id}").json()[KEY]
    assert listed == [own]
    assert api.delete(f"{SPATH}/{own['id']}").status_code == 204
    assert_error(api.get(f"{SPATH}/{own['id']}"), 404,
                 "SecurityGroupDefaultStatefulnessNotFound",
                 f"Security group default statefulness {own['id']} could not be found.")


def test_statefulness_one_setting_per_scope(api: Api, settings: list[str]) -> None:
    project_id = f"p-{uuid.uuid4().hex}"
    setting(api, settings, stateful=False)
    assert_error(api.post(SPATH, {KEY: {"stateful": True}}), 409,
                 "SecurityGroupDefaultStatefulnessAlreadyExists",
                 "A security group default statefulness setting already exists for "
                 "project 'system-wide'.")
    setting(api, settings, project_id=project_id, stateful=False)
    assert_error(api.post(SPATH, {KEY: {"project_id": project_id}}), 409,
                 "SecurityGroupDefaultStatefulnessAlreadyExists",
                 "A security group default statefulness setting already exists for "
                 f"project '{project_id}'.")
    assert_error(api.post(SPATH, {KEY: {"stateful": "maybe"}}), 400, "InvalidInput")


def test_statefulness_policy(api: Api, settings: list[str]) -> None:
    project_id = f"p-{uuid.uuid4().hex}"
    manager = api.as_project(project_id, ["manager", "member"])
    member = api.as_project(project_id)
    # The system-wide setting is the administrators'.
    assert_error(manager.post(SPATH, {KEY: {"stateful": False}}), 403,
                 "PolicyNotAuthorized")
    assert_error(member.post(SPATH, {KEY: {"project_id": project_id, "stateful": False}}),
                 403, "PolicyNotAuthorized")
    own = setting(manager, settings, project_id=project_id, stateful=False)
    assert member.get(f"{SPATH}/{own['id']}").json()[KEY] == own
    other = api.as_project(f"p-{uuid.uuid4().hex}")
    assert other.get(f"{SPATH}/{own['id']}").status_code == 404
    assert other.get(SPATH).json()[KEY] == []
    assert_error(member.put(f"{SPATH}/{own['id']}", {KEY: {"stateful": True}}), 403,
                 "PolicyNotAuthorized")
    assert manager.put(f"{SPATH}/{own['id']}", {KEY: {"stateful": True}}
                       ).status_code == 200
    assert new_group_stateful(member) is True
