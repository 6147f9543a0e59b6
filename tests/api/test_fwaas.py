"""FWaaS v2 (fwaas_v2) over HTTP against every backend: rules, policies with
insert_rule/remove_rule, groups on router ports with their status, the default
group, and upstream's errors."""

from __future__ import annotations

import uuid
from pathlib import Path

from l3_setup import project_network, router

from server import Api, assert_error

RULES, POLICIES, GROUPS = ("fwaas/firewall_rules", "fwaas/firewall_policies",
                           "fwaas/firewall_groups")


def _create(api: Api, path: str, kind: str, **attrs: object) -> dict:
    response = api.post(path, {kind: attrs})
    assert response.status_code == 201, response.text
    return response.json()[kind]


def _interface(api: Api) -> str:
    """A router interface port of the caller's project."""
    _, subnet = project_network(api)
    r = router(api, name="fw")
    response = api.put(f"routers/{r['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    assert response.status_code == 200, response.text
    return str(response.json()["port_id"])


def test_extension_listed(api: Api) -> None:
    ext = api.get("extensions/fwaas_v2").json()["extension"]
    assert ext["name"] == "FWaaS v2"
    assert ext["updated"] == "2016-10-06T10:00:00-00:00"


def test_rules(own_project_admin: Api) -> None:
    api = own_project_admin
    project = api.client.headers["X-Project-Id"]
    rule = _create(api, RULES, "firewall_rule", protocol="TCP", destination_port="80:90",
                   source_ip_address="10.0.0.0/24", action="ALLOW")
    assert rule == {"id": rule["id"], "name": "", "description": "", "project_id": project,
                    "tenant_id": project, "firewall_policy_id": None, "shared": False,
                    "protocol": "tcp", "ip_version": 4, "source_ip_address": "10.0.0.0/24",
                    "destination_ip_address": None, "source_port": None,
                    "destination_port": "80:90", "action": "allow", "enabled": True}
    bad = {"protocol": "gre"}, {"ip_version": 5}, {"action": "drop"}, \
        {"source_port": "70000"}, {"destination_ip_address": "10.0.0.300"}
    for body in bad:
        assert api.post(RULES, {"firewall_rule": body}).status_code == 400, body
    assert_error(api.post(RULES, {"firewall_rule": {"protocol": "icmp",
                                                    "destination_port": "22"}}),
                 400, "FirewallRuleInvalidICMPParameter",
                 "Source, destination port are not allowed when protocol is set to ICMP.")
    assert_error(api.post(RULES, {"firewall_rule": {"destination_port": "22"}}),
                 400, "FirewallRuleWithPortWithoutProtocolInvalid")
    assert_error(api.post(RULES, {"firewall_rule": {"protocol": "tcp",
                                                    "destination_port": "90:80"}}),
                 400, "FirewallRuleInvalidPortValue", "Invalid value for port 90:80.")
    assert_error(api.post(RULES, {"firewall_rule": {"ip_version": 6,
                                                    "source_ip_address": "10.0.0.1"}}),
                 400, "FirewallIpAddressConflict")
    updated = api.put(f"{RULES}/{rule['id']}", {"firewall_rule": {
        "destination_port": "443", "enabled": False}}).json()["firewall_rule"]
    assert (updated["destination_port"], updated["enabled"]) == ("443", False)
    assert api.delete(f"{RULES}/{rule['id']}").status_code == 204
    assert_error(api.get(f"{RULES}/{rule['id']}"), 404, "FirewallRuleNotFound",
                 f"Firewall rule {rule['id']} could not be found.")


def test_policies_insert_and_remove(own_project_admin: Api) -> None:
    api = own_project_admin
    a, b, c = (_create(api, RULES, "firewall_rule", name=n, protocol="icmp")["id"]
               for n in "abc")
    policy = _create(api, POLICIES, "firewall_policy", name="p", firewall_rules=[a, b],
                     audited=True)
    assert (policy["firewall_rules"], policy["audited"]) == ([a, b], True)
    path = f"{POLICIES}/{policy['id']}"
    answer = api.put(f"{path}/insert_rule", {"firewall_rule_id": c, "insert_after": a})
    assert answer.status_code == 200, answer.text
    # Upstream answers with the policy itself, no longer audited.
    assert answer.json()["firewall_rules"] == [a, c, b]
    assert answer.json()["audited"] is False
    assert api.get(f"{RULES}/{c}").json()["firewall_rule"]["firewall_policy_id"] == \
        [policy["id"]]
    assert_error(api.put(f"{path}/insert_rule", {"firewall_rule_id": c}), 409,
                 "FirewallRuleAlreadyAssociated")
    assert_error(api.put(f"{path}/insert_rule", {}), 400, "FirewallRuleInfoMissing")
    assert_error(api.put(f"{path}/remove_rule", {"firewall_rule_id": "x"}), 404,
                 "FirewallRuleNotFound")
    assert api.put(f"{path}/remove_rule", {"firewall_rule_id": a}).json()[
        "firewall_rules"] == [c, b]
    assert_error(api.put(f"{path}/remove_rule", {"firewall_rule_id": a}), 400,
                 "FirewallRuleNotAssociatedWithPolicy")
    assert_error(api.delete(f"{RULES}/{b}"), 409, "FirewallRuleInUse")
    listed = api.get(f"{POLICIES}?firewall_rules={b}").json()["firewall_policies"]
    assert [p["id"] for p in listed] == [policy["id"]]
    assert_error(api.post(POLICIES, {"firewall_policy": {"name": "default ingress"}}),
                 409, "FirewallDefaultParameterExists")
    assert_error(api.post(POLICIES, {"firewall_policy": {"shared": True,
                                                         "firewall_rules": [b]}}),
                 404, "FirewallRuleSharingConflict")


def test_groups_status_default_and_quotas(own_project_admin: Api) -> None:
    api = own_project_admin
    project = api.client.headers["X-Project-Id"]
    rule = _create(api, RULES, "firewall_rule", protocol="icmp", action="allow")
    policy = _create(api, POLICIES, "firewall_policy", firewall_rules=[rule["id"]])
    port = _interface(api)
    group = _create(api, GROUPS, "firewall_group", name="g", ports=[port],
                    ingress_firewall_policy_id=policy["id"])
    # No L3 agent hosts the router here: the group waits for one, as upstream.
    assert group == {"id": group["id"], "name": "g", "description": "",
                     "project_id": project, "tenant_id": project,
                     "ingress_firewall_policy_id": policy["id"],
                     "egress_firewall_policy_id": None, "admin_state_up": True,
                     "status": "PENDING_CREATE", "ports": [port], "shared": False}
    gid = group["id"]
    assert_error(api.put(f"{GROUPS}/{gid}", {"firewall_group": {"name": "x"}}), 409,
                 "FirewallGroupInPendingState",
                 f"Operation cannot be performed since associated firewall group {gid} "
                 "is in PENDING_CREATE.")
    assert_error(api.put(f"{RULES}/{rule['id']}", {"firewall_rule": {"name": "x"}}),
                 409, "FirewallGroupInPendingState")
    assert_error(api.delete(f"{GROUPS}/{gid}"), 409, "FirewallGroupInUse")
    assert_error(api.delete(f"{POLICIES}/{policy['id']}"), 409, "FirewallPolicyInUse")
    assert_error(api.post(GROUPS, {"firewall_group": {"ports": [port]}}), 409,
                 "FirewallGroupPortInUse")
    net = api.network(name="n")
    assert_error(api.post(GROUPS, {"firewall_group": {"ports": [
        api.port(net["id"], device_owner="compute:nova")["id"]]}}), 409,
        "FirewallGroupPortNotSupported")
    assert_error(api.post(GROUPS, {"firewall_group": {"ports": [
        api.port(net["id"])["id"]]}}), 409, "FirewallGroupPortInvalid")
    assert_error(api.post(GROUPS, {"firewall_group": {"ports": [str(uuid.uuid4())]}}),
                 404, "PortNotFound")
    groups = {g["name"]: g for g in api.get(GROUPS).json()["firewall_groups"]}
    default = groups["default"]
    assert (default["status"], default["ports"]) == ("INACTIVE", [])
    ingress = api.get(f"{POLICIES}/{default['ingress_firewall_policy_id']}").json()
    assert ingress["firewall_policy"]["name"] == "default ingress"
    assert [g["id"] for g in api.get(f"{GROUPS}?ports={port}").json()[
        "firewall_groups"]] == [gid]
    assert_error(api.post(GROUPS, {"firewall_group": {"name": "default"}}), 409,
                 "FirewallDefaultParameterExists")
    member = api.as_project(project, ["member"])
    assert_error(member.delete(f"{GROUPS}/{default['id']}"), 409,
                 "FirewallGroupCannotRemoveDefault")
    assert_error(member.post(GROUPS, {"firewall_group": {"shared": True}}), 403,
                 "PolicyNotAuthorized")
    # The port's removal from the router takes it out of the group: INACTIVE.
    r_id = api.get(f"ports/{port}").json()["port"]["device_id"]
    assert api.put(f"routers/{r_id}/remove_router_interface",
                   {"port_id": port}).status_code == 200
    after = api.get(f"{GROUPS}/{gid}").json()["firewall_group"]
    assert (after["ports"], after["status"]) == ([], "INACTIVE")
    assert api.delete(f"{GROUPS}/{gid}").status_code == 204
    quotas = api.get(f"quotas/{project}").json()["quota"]
    assert (quotas["firewall_group"], quotas["firewall_policy"],
            quotas["firewall_rule"]) == (10, 10, 100)


def test_left_out_without_its_service_plugin(tmp_path: Path) -> None:
    """service_plugins without firewall_v2: no alias, routes, quotas or RPC topic
    (a server in this process, on SQLite: only what is composed matters)."""
    from falcon import testing

    from neutrino import conf as conf_mod
    from neutrino.api.app import create_app
    from neutrino.core import build_core
    from neutrino.db import migrate
    from neutrino.db.engine import Database
    from neutrino.rpc.server import endpoints_for

    conf = conf_mod.new_conf([])
    conf.set_override("state_path", str(tmp_path))
    conf.set_override("service_plugins", [])
    db = Database(f"sqlite:///{tmp_path / 'neutrino.sqlite'}")
    try:
        migrate.upgrade(db)
        core = build_core(conf, db)
        client = testing.TestClient(create_app(core))
        aliases = {e["alias"] for e in client.simulate_get("/v2.0/extensions").json[
            "extensions"]}
        assert "fwaas_v2" not in aliases and "metering" in aliases
        assert client.simulate_get("/v2.0/extensions/fwaas_v2").status_code == 404
        assert client.simulate_get(f"/v2.0/{GROUPS}").status_code == 404
        assert "firewall_group" not in client.simulate_get(
            "/v2.0/quotas/p1").json["quota"]
        assert "q-firewall-plugin" not in endpoints_for(conf, db, core)
    finally:
        db.engine.dispose()


def _fwaas_core(tmp_path: Path, config: str) -> tuple[object, object]:
    """A core on SQLite in this process, from a configuration file (the
    [default_fwg_rules] options as an operator writes them)."""
    from neutrino import conf as conf_mod
    from neutrino.core import build_core
    from neutrino.db import migrate
    from neutrino.db.engine import Database

    path = tmp_path / "neutrino.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n{config}")
    conf = conf_mod.new_conf(["--config-file", str(path)])
    db = Database(f"sqlite:///{tmp_path / 'neutrino.sqlite'}")
    migrate.upgrade(db)
    try:
        return build_core(conf, db), db
    except Exception:
        db.engine.dispose()
        raise


def test_default_group_rules_from_the_default_fwg_rules_section(tmp_path: Path) -> None:
    """[default_fwg_rules] (upstream's section and names) makes the rules of each
    project's default group: here ingress allows TCP 22 from 10.0.0.0/8 (IPv4) and
    2001:db8::/32 (IPv6), egress rejects, the rules shared."""
    import pytest
    from falcon import testing

    from neutrino.api.app import create_app

    core, db = _fwaas_core(tmp_path, (
        "[default_fwg_rules]\ningress_action = allow\negress_action = reject\n"
        "protocol = tcp\ningress_destination_port = 22\n"
        "ingress_source_ipv4_address = 10.0.0.0/8\n"
        "ingress_source_ipv6_address = 2001:db8::/32\nshared = true\n"))
    try:
        client = testing.TestClient(create_app(core))
        headers = {"X-Project-Id": uuid.uuid4().hex, "X-Roles": "member"}
        groups = client.simulate_get(f"/v2.0/{GROUPS}", headers=headers).json[
            "firewall_groups"]
        (default,) = groups
        rules = {}
        for direction in ("ingress", "egress"):
            policy = client.simulate_get(
                f"/v2.0/{POLICIES}/{default[f'{direction}_firewall_policy_id']}",
                headers=headers).json["firewall_policy"]
            for rule_id in policy["firewall_rules"]:
                rule = client.simulate_get(f"/v2.0/{RULES}/{rule_id}",
                                           headers=headers).json["firewall_rule"]
                rules[rule["name"]] = rule
        assert sorted(rules) == ["default egress ipv4", "default egress ipv6",
                                 "default ingress ipv4", "default ingress ipv6"]
        v4, v6 = rules["default ingress ipv4"], rules["default ingress ipv6"]
        assert (v4["action"], v4["protocol"], v4["destination_port"],
                v4["source_ip_address"], v4["shared"], v4["ip_version"]) == (
            "allow", "tcp", "22", "10.0.0.0/8", True, 4)
        assert (v6["source_ip_address"], v6["ip_version"]) == ("2001:db8::/32", 6)
        assert {r["action"] for n, r in rules.items() if "egress" in n} == {"reject"}
        assert rules["default egress ipv4"]["destination_port"] is None
    finally:
        db.engine.dispose()  # type: ignore[attr-defined]

    # A rule the API would refuse stops the server at start, naming the option.
    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(ValueError, match=r"\[default_fwg_rules\] ingress rule for IPv4"):
        _fwaas_core(bad, "[default_fwg_rules]\ningress_source_ipv4_address = 2001:db8::1\n")
