"""Secure-RBAC defaults (neutrino.policy_rbac) and the enforce_new_defaults switch."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_policy import opts as policy_opts

from neutrino import conf as conf_mod
from neutrino import policy_rbac
from neutrino.context import Context
from neutrino.policy import BASE_RULES, RESOURCE_RULES, Policy, list_rules


def make_policy(tmp_path: Path, new_defaults: bool = True) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text("{}\n")
    conf = conf_mod.new_conf()
    policy_opts._register(conf)
    conf.set_override("enforce_new_defaults", new_defaults, "oslo_policy")
    return Policy(conf, policy_file=str(path))


@pytest.fixture
def secure(tmp_path: Path) -> Policy:
    return make_policy(tmp_path)


@pytest.fixture
def legacy(tmp_path: Path) -> Policy:
    return make_policy(tmp_path, new_defaults=False)


def ctx(project: str, *roles: str) -> Context:
    return Context(user_id="u", project_id=project, roles=list(roles))


READER = ("p1", "reader")
MEMBER = ("p1", "member", "reader")
OWNED = {"project_id": "p1", "tenant_id": "p1", "network:project_id": "p1",
         "network:tenant_id": "p1", "security_group:project_id": "p1",
         "shared": False, "device_owner": "compute:nova"}
HELPERS = policy_rbac.referenced_rules(RESOURCE_RULES) | {n for n, _, _ in BASE_RULES}
ACTIONS = [name for name, _ in RESOURCE_RULES if name not in HELPERS and ":" not in name]
WRITES = [a for a in ACTIONS if not a.startswith("get_")]


# -- the derivation ----------------------------------------------------------------

@pytest.mark.parametrize("action,legacy,expected", [
    ("create_network", "",
     "rule:admin_only or (role:member and project_id:%(project_id)s)"),
    ("update_network", "rule:admin_or_owner",
     "rule:admin_only or (role:member and project_id:%(project_id)s)"),
    ("get_router", "rule:admin_or_owner",
     "rule:admin_only or (role:reader and project_id:%(project_id)s)"),
    ("create_subnet", "rule:admin_or_network_owner",
     "rule:admin_only or (role:member and project_id:%(network:project_id)s)"),
    ("get_agent", "rule:admin_only", "rule:admin_only"),
    ("get_availability_zone", "rule:regular_user", "rule:admin_only or role:reader"),
    ("delete_security_group_rule", "rule:admin_or_owner or rule:sg_owner",
     "(rule:admin_only or (role:member and project_id:%(project_id)s)) or "
     "(role:member and rule:sg_owner)"),
    ("update_port:mac_address", "rule:admin_only or rule:context_is_advsvc",
     "rule:admin_only or rule:service_api"),
    ("get_port:binding:host_id", "rule:admin_only", "rule:admin_only or rule:service_api"),
    ("update_widget", "rule:admin_only or project_id:%(widget:project_id)s",
     "rule:admin_only or (role:member and project_id:%(widget:project_id)s)"),
])
def test_secure_check(action: str, legacy: str, expected: str) -> None:
    assert policy_rbac.secure_check(action, legacy, {"sg_owner"}) == expected


def test_changed_rules_keep_their_legacy_default() -> None:
    rules = {r.name: r for r in list_rules()}
    assert rules["service_api"].check_str == "role:service"
    update = rules["update_network"]
    assert update.deprecated_rule is not None
    assert update.deprecated_rule.check_str == "rule:admin_or_owner"
    assert update.scope_types == ["project"]
    assert rules["get_agent"].deprecated_rule is None  # admin only either way
    # Helper rules referenced by others are not personas' rules.
    assert rules["network_device"].check_str == "field:port:device_owner=~^network:"


# -- secure defaults (enforce_new_defaults = true, the default) ------------------------

@pytest.mark.parametrize("action", WRITES)
def test_reader_cannot_change_anything(secure: Policy, action: str) -> None:
    assert not secure.check(ctx(*READER), action, OWNED), action


@pytest.mark.parametrize("action", ACTIONS)
def test_member_may_do_what_an_owner_could(secure: Policy, legacy: Policy,
                                           action: str) -> None:
    if legacy.check(ctx("p1"), action, OWNED):  # the legacy owner, without roles
        assert secure.check(ctx(*MEMBER), action, OWNED), action


@pytest.mark.parametrize("action", [a for a in ACTIONS if a.startswith("get_")])
def test_reader_sees_what_an_owner_could(secure: Policy, legacy: Policy,
                                         action: str) -> None:
    if legacy.check(ctx("p1"), action, OWNED):
        assert secure.check(ctx(*READER), action, OWNED), action


def test_other_projects_members_get_nothing(secure: Policy) -> None:
    for action in ACTIONS:
        if action in ("get_availability_zone", "get_floatingip_pool",
                      "get_default_security_group_rule", "get_flavor",
                      "get_flavor_service_profile", "get_service_provider",
                      "get_rule_type") or secure.check(
                ctx("p1"), action, OWNED):
            continue  # open to anyone (or to any role) by design
        assert not secure.check(ctx("p2", "member", "reader"), action, OWNED), action


def test_admin_passes_everywhere(secure: Policy) -> None:
    admin = Context(user_id="a", project_id="x", roles=["admin"], is_admin=True)
    for action in ACTIONS:
        assert secure.check(admin, action, OWNED), action


def test_service_role_binds_and_reads_ports(secure: Policy) -> None:
    nova = ctx("service-project", "service")
    port = dict(OWNED, project_id="p1")
    for action in ("get_port", "update_port", "update_port:binding:host_id",
                   "update_port:binding:profile", "get_port:binding:vif_type",
                   "create_port:binding:host_id", "delete_port"):
        assert secure.check(nova, action, port), action
    # ... but it is no administrator.
    assert not secure.check(nova, "update_network", OWNED)
    assert not secure.check(nova, "create_network:shared", OWNED)


def test_rolesless_owner_is_refused(secure: Policy) -> None:
    """A token without any role in the project (legacy owners) changes nothing."""
    assert not secure.check(ctx("p1"), "update_network", OWNED)
    assert not secure.check(ctx("p1"), "get_network", OWNED)


# -- legacy defaults (enforce_new_defaults = false) ----------------------------------

def test_legacy_defaults_still_allow_owners(legacy: Policy) -> None:
    assert legacy.check(ctx("p1"), "update_network", OWNED)
    assert legacy.check(ctx(*READER), "update_network", OWNED)
    assert not legacy.check(ctx("p2"), "update_network", OWNED)
    assert legacy.check(ctx("x", "advsvc"), "get_port", OWNED)


def test_policy_file_overrides_both(tmp_path: Path) -> None:
    for new_defaults in (True, False):
        (tmp_path / str(new_defaults)).mkdir()
        policy = make_policy(tmp_path / str(new_defaults), new_defaults)
        (tmp_path / str(new_defaults) / "policy.yaml").write_text(
            '"update_network": "role:netadmin"\n')
        policy.enforcer.load_rules(force_reload=True)
        assert not policy.check(ctx(*MEMBER), "update_network", OWNED)
        assert policy.check(ctx("p9", "netadmin"), "update_network", OWNED)
