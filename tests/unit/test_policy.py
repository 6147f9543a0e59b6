"""neutrino.policy without a server: defaults, messages, the per-request decision cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from oslo_policy import _checks

from neutrino import conf as conf_mod
from neutrino import exceptions as exc
from neutrino import policy as policy_mod
from neutrino.context import Context
from neutrino.policy import Policy, _referenced_keys


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("{}\n")
    return path


@pytest.fixture
def policy(policy_file: Path) -> Policy:
    return Policy(conf_mod.new_conf(), policy_file=str(policy_file))


def write(policy: Policy, path: Path, text: str) -> None:
    """Change the policy file and make the Policy look at it now."""
    before = path.stat().st_mtime
    path.write_text(text)
    os.utime(path, (before + 5, before + 5))
    policy._loaded_at = time.monotonic() - policy_mod.RELOAD_INTERVAL - 1


def member(project: str | None = "p1", *roles: str) -> Context:
    """A project member; its token also has the reader role Keystone implies."""
    return Context(user_id="u", project_id=project,
                   roles=list(roles or ["member", "reader"]))


def admin() -> Context:
    return Context(user_id="a", project_id="admin-project", roles=["admin"], is_admin=True)


# -- defaults ----------------------------------------------------------------------

def test_network_visibility_defaults(policy: Policy) -> None:
    ctx = member()
    assert policy.check(ctx, "get_network", {"project_id": "p1", "shared": False})
    assert not policy.check(ctx, "get_network", {"project_id": "p2", "shared": False})
    assert policy.check(ctx, "get_network", {"project_id": "p2", "shared": True})
    assert policy.check(admin(), "get_network", {"project_id": "p2", "shared": False})
    # Other services (Nova) read any network with the service role.
    assert policy.check(member("x", "service"), "get_network",
                        {"project_id": "p2", "shared": False})


def test_is_admin(policy: Policy) -> None:
    assert policy.is_admin(member("p", "admin"))
    assert policy.is_admin(member("p", "ADMIN"))
    assert not policy.is_admin(member("p", "member", "reader"))
    assert not policy.is_admin(member("p"))


def test_port_rules_network_owner(policy: Policy) -> None:
    ctx = member("owner")
    port = {"project_id": "other", "network:project_id": "owner", "device_owner": ""}
    assert policy.check(ctx, "get_port", port)
    assert policy.check(ctx, "delete_port", port)
    assert not policy.check(ctx, "update_port", port)
    assert not policy.check(member("third"), "get_port", port)


def test_network_device_owner(policy: Policy) -> None:
    ctx = member("p1")
    theirs = {"project_id": "p1", "network:project_id": "p2"}
    assert policy.check(ctx, "create_port:device_owner",
                        dict(theirs, device_owner="compute:nova"))
    assert not policy.check(ctx, "create_port:device_owner",
                            dict(theirs, device_owner="network:dhcp"))
    assert policy.check(ctx, "create_port:device_owner",
                        dict(theirs, device_owner="network:dhcp",
                             **{"network:project_id": "p1"}))


def test_unknown_action_uses_default_rule(policy: Policy) -> None:
    ctx = member("p1")
    assert policy.check(ctx, "frobnicate_widget", {"project_id": "p1"})
    assert not policy.check(ctx, "frobnicate_widget", {"project_id": "p2"})
    assert policy.check(admin(), "frobnicate_widget", {"project_id": "p2"})


# -- enforce and its messages ---------------------------------------------------------

def test_enforce_single_rule_message(policy: Policy) -> None:
    with pytest.raises(exc.PolicyNotAuthorized) as raised:
        policy.enforce(member("p1"), "update_network", {"project_id": "p2"})
    assert str(raised.value) == "rule:update_network is disallowed by policy"
    assert raised.value.status == 403


def test_enforce_attribute_rule_message(policy: Policy) -> None:
    target = {"project_id": "p1", "shared": True}
    with pytest.raises(exc.PolicyNotAuthorized) as raised:
        policy.enforce(member("p1"), "create_network", target, ["shared"])
    assert str(raised.value) == \
        "(rule:create_network and rule:create_network:shared) is disallowed by policy"
    # The action itself failing still names every rule that was checked.
    with pytest.raises(exc.PolicyNotAuthorized) as raised:
        policy.enforce(member("p1"), "update_network", {"project_id": "p2", "shared": True},
                       ["shared", "name"])
    assert str(raised.value) == \
        "(rule:update_network and rule:update_network:shared) is disallowed by policy"


def test_enforce_passes(policy: Policy) -> None:
    policy.enforce(member("p1"), "create_network", {"project_id": "p1"}, ["name"])
    policy.enforce(admin(), "create_network", {"project_id": "p1", "shared": True},
                   ["shared"])
    # Attributes without a rule of their own are not checked.
    policy.enforce(member("p1"), "update_network", {"project_id": "p1"}, ["mtu"])


# -- which target keys a rule depends on ------------------------------------------------

def test_referenced_keys(policy: Policy) -> None:
    e = policy.enforcer
    assert _referenced_keys(e, "get_network") == ("project_id", "router:external",
                                                  "shared")
    assert _referenced_keys(e, "context_is_admin") == ()
    assert _referenced_keys(e, "create_network") == ("project_id",)
    assert _referenced_keys(e, "get_port") == ("network:project_id", "project_id")
    assert set(_referenced_keys(e, "create_port:device_owner") or ()) == {
        "device_owner", "network:project_id"}
    # Unknown actions fall back to the default rule (admin_or_owner).
    assert _referenced_keys(e, "no_such_action") == ("project_id",)


def test_referenced_keys_of_overrides(policy: Policy, policy_file: Path) -> None:
    write(policy, policy_file,
          '"a": "role:%(needed)s"\n'
          '"b": "rule:undefined_rule"\n'
          '"c": "\'x\':%(label)s and not rule:network_device"\n'
          '"d": "user_id:%(owner)r"\n'
          '"e": "project_id:%s"\n'
          '"f": "rule:a or rule:a or @"\n')
    policy.check(member(), "a", {})  # load the file
    e = policy.enforcer
    assert _referenced_keys(e, "a") == ("needed",)
    assert _referenced_keys(e, "b") == ("project_id",)  # default rule
    assert _referenced_keys(e, "c") == ("device_owner", "label")
    assert _referenced_keys(e, "d") == ("owner",)
    assert _referenced_keys(e, "e") is None  # formats the whole target
    assert _referenced_keys(e, "f") == ("needed",)


# -- the per-request decision cache ------------------------------------------------------

def test_cache_distinguishes_referenced_keys(policy: Policy) -> None:
    ctx = member("p1")
    assert policy.check(ctx, "get_network", {"project_id": "p1", "shared": False})
    assert not policy.check(ctx, "get_network", {"project_id": "p2", "shared": False})
    assert policy.check(ctx, "get_network", {"project_id": "p2", "shared": True})
    assert not policy.check(ctx, "get_network", {"project_id": "p2", "shared": False})
    # Keys the rule does not mention do not split the cache.
    before = len(ctx.policy_cache)
    policy.check(ctx, "get_network", {"project_id": "p1", "shared": False, "name": "x"})
    assert len(ctx.policy_cache) == before


def test_cache_role_check_with_target_key(policy: Policy, policy_file: Path) -> None:
    write(policy, policy_file, '"by_role": "role:%(needed)s"\n')
    ctx = member("p1", "member")
    assert policy.check(ctx, "by_role", {"needed": "member"})
    assert not policy.check(ctx, "by_role", {"needed": "admin"})
    assert policy.check(ctx, "by_role", {"needed": "member"})


def test_cache_missing_key_differs_from_none(policy: Policy, policy_file: Path) -> None:
    write(policy, policy_file, '"owned": "project_id:%(owner)s"\n')
    ctx = member(None)  # credentials' project_id is None, str() "None"
    assert policy.check(ctx, "owned", {"owner": None})
    assert not policy.check(ctx, "owned", {})


def test_cache_bool_differs_from_string(policy: Policy) -> None:
    ctx = member("p1")
    # "True:%(shared)s" compares str(value) with "True".
    assert policy.check(ctx, "get_network", {"project_id": "x", "shared": True})
    assert not policy.check(ctx, "get_network", {"project_id": "x", "shared": 1})
    assert policy.check(ctx, "get_network", {"project_id": "x", "shared": "True"})


def test_cache_unhashable_values(policy: Policy, policy_file: Path) -> None:
    write(policy, policy_file, '"listy": "\'a\':%(tags)s"\n')
    ctx = member()
    assert not policy.check(ctx, "listy", {"tags": ["a"]})
    assert not policy.check(ctx, "listy", {"tags": {"a": [1, {2}]}})
    assert policy.check(ctx, "listy", {"tags": "a"})


calls: list[dict] = []


@_checks.register("neutrino_test_counting")
class CountingCheck(_checks.Check):
    """A custom check kind: it may look at anything, so it must not be cached."""

    def __call__(self, target: dict, creds: dict, enforcer: object,
                 current_rule: str | None = None) -> bool:
        calls.append(target)
        return target.get("hidden") == self.match


def test_unknown_check_kind_is_not_cached(policy: Policy, policy_file: Path) -> None:
    write(policy, policy_file,
          '"custom": "neutrino_test_counting:yes"\n'
          '"custom_or": "rule:context_is_admin or neutrino_test_counting:yes"\n'
          '"web": "http://127.0.0.1:9/%(x)s"\n')
    ctx = member()
    policy.check(ctx, "custom", {"hidden": "no"})  # loads the file
    assert _referenced_keys(policy.enforcer, "custom") is None
    assert _referenced_keys(policy.enforcer, "custom_or") is None
    assert _referenced_keys(policy.enforcer, "web") is None
    calls.clear()
    assert policy.check(ctx, "custom", {"hidden": "yes"})
    assert not policy.check(ctx, "custom", {"hidden": "no"})
    assert policy.check(ctx, "custom_or", {"hidden": "yes"})
    assert not policy.check(ctx, "custom_or", {"hidden": "no"})
    assert len(calls) == 4


def test_reload_mid_request_drops_cached_decisions(policy: Policy,
                                                   policy_file: Path) -> None:
    ctx = member("p1")
    assert policy.check(ctx, "create_network", {"project_id": "p1"})
    write(policy, policy_file, '"create_network": "role:netadmin"\n')
    policy.enforcer.load_rules()  # another request reloaded the file meanwhile
    assert not policy.check(ctx, "create_network", {"project_id": "p1"})


def test_policy_file_override_and_removal(policy: Policy, policy_file: Path) -> None:
    assert policy.check(member(), "create_network", {"project_id": "p1"})
    write(policy, policy_file, '"create_network": "role:netadmin"\n')
    assert not policy.check(member(), "create_network", {"project_id": "p1"})
    assert policy.check(member("p1", "netadmin"), "create_network", {"project_id": "p1"})
    write(policy, policy_file, "{}\n")
    assert policy.check(member(), "create_network", {"project_id": "p1"})


def test_reload_is_throttled(policy: Policy, policy_file: Path) -> None:
    assert policy.check(member(), "create_network", {"project_id": "p1"})
    policy._loaded_at = time.monotonic()
    path_text = '"create_network": "!"\n'
    before = policy_file.stat().st_mtime
    policy_file.write_text(path_text)
    os.utime(policy_file, (before + 5, before + 5))
    # Within the interval the old rules still apply ...
    assert policy.check(member(), "create_network", {"project_id": "p1"})
    # ... and after it the new ones do.
    policy._loaded_at -= policy_mod.RELOAD_INTERVAL + 1
    assert not policy.check(member(), "create_network", {"project_id": "p1"})
