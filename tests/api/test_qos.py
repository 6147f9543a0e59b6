"""QoS over HTTP: policies and rules (CRUD, validation, conflicts), the alias paths,
rule types, the default policy, RBAC sharing, qos_policy_id on networks and ports
and policies in use."""

from __future__ import annotations

from rbac_helpers import pid, project, share

from server import UNKNOWN, Api, assert_error

BW = "bandwidth_limit_rules"


def policy(api: Api, **attrs: object) -> dict:
    response = api.post("qos/policies", {"policy": attrs})
    assert response.status_code == 201, response.text
    return response.json()["policy"]


def rule(api: Api, policy_id: str, collection: str, **attrs: object) -> dict:
    response = api.post(f"qos/policies/{policy_id}/{collection}",
                        {collection[:-1]: attrs})
    assert response.status_code == 201, response.text
    return response.json()[collection[:-1]]


def test_policy_lifecycle(own_project_admin: Api) -> None:
    api = own_project_admin
    p = policy(api, name="gold", description="d")
    assert {k: p[k] for k in ("name", "description", "shared", "is_default", "rules",
                              "tags", "revision_number")} == {
        "name": "gold", "description": "d", "shared": False, "is_default": False,
        "rules": [], "tags": [], "revision_number": 0}
    assert p["project_id"] == p["tenant_id"] == pid(api)
    r = rule(api, p["id"], BW, max_kbps=2000)
    assert r == {"id": r["id"], "max_kbps": 2000, "max_burst_kbps": 0,
                 "direction": "egress"}
    shown = api.get(f"qos/policies/{p['id']}").json()["policy"]
    assert shown["rules"] == [dict(r, qos_policy_id=p["id"], type="bandwidth_limit")]
    assert shown["revision_number"] > p["revision_number"]
    path = f"qos/policies/{p['id']}/{BW}/{r['id']}"
    response = api.put(path, {"bandwidth_limit_rule": {"max_kbps": 3000,
                                                       "max_burst_kbps": 300}})
    assert response.status_code == 200, response.text
    assert response.json()["bandwidth_limit_rule"]["max_kbps"] == 3000
    listed = api.get(f"qos/policies/{p['id']}/{BW}").json()["bandwidth_limit_rules"]
    assert [x["max_burst_kbps"] for x in listed] == [300]
    renamed = api.put(f"qos/policies/{p['id']}", {"policy": {"name": "silver"}})
    assert renamed.json()["policy"]["name"] == "silver"
    assert api.delete(path).status_code == 204
    assert_error(api.get(path), 404, "QosRuleNotFound")
    assert api.delete(f"qos/policies/{p['id']}").status_code == 204
    assert_error(api.get(f"qos/policies/{p['id']}"), 404, "QosPolicyNotFound",
                 f"QoS policy {p['id']} could not be found.")


def test_every_rule_type(own_project_admin: Api) -> None:
    api = own_project_admin
    p = policy(api, name="all")
    rule(api, p["id"], BW, max_kbps=1000, direction="ingress")
    rule(api, p["id"], "dscp_marking_rules", dscp_mark=26)
    rule(api, p["id"], "minimum_bandwidth_rules", min_kbps=100, direction="ingress")
    mpr = rule(api, p["id"], "minimum_packet_rate_rules", min_kpps=10)
    assert mpr["direction"] == "egress"
    rule(api, p["id"], "minimum_packet_rate_rules", min_kpps=10, direction="any")
    prl = rule(api, p["id"], "packet_rate_limit_rules", max_kpps=100)
    assert prl == {"id": prl["id"], "max_kpps": 100, "max_burst_kpps": 0,
                   "direction": "egress"}
    types = sorted(r["type"] for r in
                   api.get(f"qos/policies/{p['id']}").json()["policy"]["rules"])
    assert types == ["bandwidth_limit", "dscp_marking", "minimum_bandwidth",
                     "minimum_packet_rate", "minimum_packet_rate", "packet_rate_limit"]


def test_rule_validation(own_project_admin: Api) -> None:
    api = own_project_admin
    p = policy(api)
    base = f"qos/policies/{p['id']}"
    for collection, body in ((BW, {"max_kbps": -1}), (BW, {"max_kbps": "x"}),
                             (BW, {"max_kbps": 1, "direction": "any"}),
                             ("dscp_marking_rules", {"dscp_mark": 3}),
                             ("minimum_bandwidth_rules", {"min_kbps": 1, "direction": "up"}),
                             (BW, {}), (BW, {"max_kbps": 1, "bogus": 1})):
        response = api.post(f"{base}/{collection}", {collection[:-1]: body})
        assert response.status_code == 400, (collection, body, response.text)
    rule(api, p["id"], BW, max_kbps=10)
    # One rule of a type per direction.
    assert_error(api.post(f"{base}/{BW}", {"bandwidth_limit_rule": {"max_kbps": 20}}),
                 409, "QoSRulesConflict")
    rule(api, p["id"], BW, max_kbps=20, direction="ingress")
    rule(api, p["id"], "dscp_marking_rules", dscp_mark=0)
    assert_error(api.post(f"{base}/dscp_marking_rules",
                          {"dscp_marking_rule": {"dscp_mark": 8}}),
                 409, "QoSRulesConflict")
    # A minimum above the limit of the same direction.
    assert_error(api.post(f"{base}/minimum_bandwidth_rules",
                          {"minimum_bandwidth_rule": {"min_kbps": 50}}),
                 409, "QoSRulesConflict")
    assert_error(api.post(f"qos/policies/{UNKNOWN}/{BW}",
                          {"bandwidth_limit_rule": {"max_kbps": 1}}),
                 404, "QosPolicyNotFound")


def test_alias_paths(own_project_admin: Api) -> None:
    api = own_project_admin
    p = policy(api)
    r = rule(api, p["id"], BW, max_kbps=10)
    shown = api.get(f"qos/alias_bandwidth_limit_rules/{r['id']}").json()
    assert shown["alias_bandwidth_limit_rule"] == dict(r, tenant_id=pid(api),
                                                       project_id=pid(api))
    response = api.put(f"qos/alias_bandwidth_limit_rules/{r['id']}",
                       {"alias_bandwidth_limit_rule": {"max_kbps": 11}})
    assert response.status_code == 200, response.text
    assert response.json()["alias_bandwidth_limit_rule"]["max_kbps"] == 11
    # Another type's alias does not find it.
    assert api.get(f"qos/alias_dscp_marking_rules/{r['id']}").status_code == 404
    assert api.delete(f"qos/alias_bandwidth_limit_rules/{r['id']}").status_code == 204
    assert api.get(f"qos/policies/{p['id']}").json()["policy"]["rules"] == []
    mpr = rule(api, p["id"], "minimum_packet_rate_rules", min_kpps=5)
    assert api.get(f"qos/alias_minimum_packet_rate_rules/{mpr['id']}").status_code == 200


def test_rule_types(api: Api) -> None:
    listed = api.get("qos/rule-types").json()["rule_types"]
    # The Linux bridge driver (the one loaded) applies these.
    assert listed == [{"type": "bandwidth_limit"}, {"type": "dscp_marking"}]
    assert api.get("qos/rule-types?all_supported=true").json()["rule_types"] == listed
    every = api.get("qos/rule-types?all_rules=true").json()["rule_types"]
    assert [t["type"] for t in every] == ["bandwidth_limit", "dscp_marking",
                                          "minimum_bandwidth", "minimum_packet_rate",
                                          "packet_rate_limit"]
    shown = api.get("qos/rule-types/bandwidth_limit").json()["rule_type"]
    assert shown["type"] == "bandwidth_limit"
    [driver] = shown["drivers"]
    assert driver["name"] == "linuxbridge"
    params = {p["parameter_name"]: p for p in driver["supported_parameters"]}
    assert params["direction"] == {"parameter_name": "direction",
                                   "parameter_type": "choices",
                                   "parameter_values": ["egress", "ingress"]}
    assert params["max_kbps"]["parameter_type"] == "range"
    assert api.get("qos/rule-types/minimum_bandwidth").json()["rule_type"][
        "drivers"] == []
    assert api.get("qos/rule-types/nope").status_code == 404
    # Anyone lists them (tempest's rule classes ask as a project member before they
    # run); the drivers of one are for administrators only (upstream's 403).
    member = api.as_project(project())
    assert member.get("qos/rule-types").json()["rule_types"] == listed
    assert_error(member.get("qos/rule-types/bandwidth_limit"), 403, "NotAuthorized")


def test_policies_are_for_admins(own_project_admin: Api) -> None:
    member = own_project_admin.as_project(project())
    assert_error(member.post("qos/policies", {"policy": {"name": "x"}}), 403,
                 "PolicyNotAuthorized")
    mine = policy(own_project_admin.as_project(pid(member), ["admin"]), name="m")
    assert member.get(f"qos/policies/{mine['id']}").status_code == 200
    assert member.put(f"qos/policies/{mine['id']}",
                      {"policy": {"name": "y"}}).status_code == 403
    assert member.post(f"qos/policies/{mine['id']}/{BW}",
                       {"bandwidth_limit_rule": {"max_kbps": 1}}).status_code == 403
    # Upstream checks the create rule first: 403 also for a policy the member cannot
    # see (tempest's test_rule_create_forbidden_for_regular_projects); 404 if none.
    foreign = policy(own_project_admin, name="foreign")
    assert member.get(f"qos/policies/{foreign['id']}").status_code == 404
    assert_error(member.post(f"qos/policies/{foreign['id']}/{BW}",
                             {"bandwidth_limit_rule": {"max_kbps": 1}}), 403,
                 "PolicyNotAuthorized")
    assert_error(member.post(f"qos/policies/{UNKNOWN}/{BW}",
                             {"bandwidth_limit_rule": {"max_kbps": 1}}), 404,
                 "QosPolicyNotFound")


def test_sharing(own_project_admin: Api) -> None:
    admin = own_project_admin
    other = admin.as_project(project())
    private = policy(admin, name="private")
    shared = policy(admin, name="shared", shared=True)
    assert shared["shared"] is True
    seen = {p["id"] for p in other.get("qos/policies").json()["policies"]}
    assert shared["id"] in seen and private["id"] not in seen
    assert other.get(f"qos/policies/{private['id']}").status_code == 404
    # Shared: usable on the other project's network and port (no admin-only rule on
    # qos_policy_id upstream); private: not found.
    net = other.network(qos_policy_id=shared["id"])
    assert net["qos_policy_id"] == shared["id"]
    port = other.port(net["id"], qos_policy_id=shared["id"])
    assert port["qos_policy_id"] == shared["id"]
    assert_error(other.put(f"networks/{net['id']}",
                           {"network": {"qos_policy_id": private["id"]}}), 404,
                 "QosPolicyNotFound")
    assert_error(other.post("ports", {"port": {"network_id": net["id"],
                                               "qos_policy_id": private["id"]}}),
                 404, "QosPolicyNotFound")
    # An RBAC policy shares with one project only.
    assert share(admin, private["id"], pid(other), "qos_policy").status_code == 201
    assert other.get(f"qos/policies/{private['id']}").status_code == 200
    filtered = admin.get("qos/policies?shared=true").json()["policies"]
    assert shared["id"] in {p["id"] for p in filtered}
    assert private["id"] not in {p["id"] for p in filtered}
    # Unsharing a policy the owner's own network uses is refused as well (upstream
    # counts every bound project when the "*" policy goes), then allowed once free.
    mine = admin.network(qos_policy_id=shared["id"])
    other.delete(f"ports/{port['id']}")
    other.delete(f"networks/{net['id']}")
    assert_error(admin.put(f"qos/policies/{shared['id']}", {"policy": {"shared": False}}),
                 409, "RbacPolicyInUse")
    admin.delete(f"networks/{mine['id']}")
    assert admin.put(f"qos/policies/{shared['id']}",
                     {"policy": {"shared": False}}).json()["policy"]["shared"] is False


def test_network_and_port_policy(own_project_admin: Api) -> None:
    api = own_project_admin
    p = policy(api, name="net")
    q = policy(api, name="port")
    rule(api, p["id"], BW, max_kbps=1000)
    net = api.network(qos_policy_id=p["id"])
    assert net["qos_policy_id"] == p["id"]
    port = api.port(net["id"])
    assert port["qos_policy_id"] is None
    assert port["qos_network_policy_id"] == p["id"]
    response = api.put(f"ports/{port['id']}", {"port": {"qos_policy_id": q["id"]}})
    assert response.status_code == 200, response.text
    assert response.json()["port"]["qos_policy_id"] == q["id"]
    listed = api.get(f"ports?qos_policy_id={q['id']}").json()["ports"]
    assert [x["id"] for x in listed] == [port["id"]]
    nets = api.get(f"networks?qos_policy_id={p['id']}").json()["networks"]
    assert [x["id"] for x in nets] == [net["id"]]
    # In use: 409 until the network and port let go.
    assert_error(api.delete(f"qos/policies/{p['id']}"), 409, "QosPolicyInUse",
                 f"QoS Policy {p['id']} is used by network {net['id']}.")
    assert_error(api.delete(f"qos/policies/{q['id']}"), 409, "QosPolicyInUse")
    api.put(f"ports/{port['id']}", {"port": {"qos_policy_id": None}})
    assert api.delete(f"qos/policies/{q['id']}").status_code == 204
    api.put(f"networks/{net['id']}", {"network": {"qos_policy_id": None}})
    assert api.get(f"ports/{port['id']}").json()["port"]["qos_network_policy_id"] is None
    assert api.delete(f"qos/policies/{p['id']}").status_code == 204
    assert_error(api.post("networks", {"network": {"qos_policy_id": UNKNOWN}}), 404,
                 "QosPolicyNotFound")


def test_rules_the_driver_cannot_apply(own_project_admin: Api) -> None:
    api = own_project_admin
    p = policy(api)
    rule(api, p["id"], "minimum_bandwidth_rules", min_kbps=100)
    net = api.network()
    port = api.port(net["id"])
    # Linux bridge has no minimum bandwidth: refused on the port and the network.
    assert_error(api.put(f"ports/{port['id']}", {"port": {"qos_policy_id": p["id"]}}),
                 409, "QosRuleNotSupported",
                 f"Rule minimum_bandwidth is not supported by port {port['id']}")
    assert_error(api.put(f"networks/{net['id']}", {"network": {"qos_policy_id": p["id"]}}),
                 409, "QosRuleNotSupportedByNetwork")
    # A policy in use cannot get a rule its users cannot apply.
    ok = policy(api)
    api.put(f"ports/{port['id']}", {"port": {"qos_policy_id": ok["id"]}})
    assert_error(api.post(f"qos/policies/{ok['id']}/packet_rate_limit_rules",
                          {"packet_rate_limit_rule": {"max_kpps": 1}}),
                 409, "QosRuleNotSupported")
    rule(api, ok["id"], "dscp_marking_rules", dscp_mark=46)


def test_default_policy(own_project_admin: Api) -> None:
    api = own_project_admin
    d = policy(api, name="default", is_default=True)
    assert d["is_default"] is True
    assert_error(api.post("qos/policies", {"policy": {"is_default": True}}), 409,
                 "QoSPolicyDefaultAlreadyExists",
                 f"A default QoS policy exists for project {pid(api)}.")
    other = policy(api)
    assert_error(api.put(f"qos/policies/{other['id']}", {"policy": {"is_default": True}}),
                 409, "QoSPolicyDefaultAlreadyExists")
    # New networks of the project get it; an explicit policy wins.
    assert api.network()["qos_policy_id"] == d["id"]
    assert api.network(qos_policy_id=other["id"])["qos_policy_id"] == other["id"]
    listed = api.get("qos/policies?is_default=true").json()["policies"]
    assert [p["id"] for p in listed] == [d["id"]]
    api.put(f"qos/policies/{d['id']}", {"policy": {"is_default": False}})
    assert api.network()["qos_policy_id"] is None
    moved = api.put(f"qos/policies/{other['id']}", {"policy": {"is_default": True}})
    assert moved.json()["policy"]["is_default"] is True


def test_extensions_listed(api: Api) -> None:
    aliases = {e["alias"] for e in api.get("extensions").json()["extensions"]}
    assert {"qos", "qos-bw-limit-direction", "qos-default", "qos-rules-alias",
            "qos-bw-minimum-ingress", "qos-pps", "qos-pps-minimum",
            "qos-pps-minimum-rule-alias", "qos-port-network-policy",
            "qos-rule-type-details", "qos-rule-type-filter"} <= aliases
    shown = api.get("extensions/qos-default").json()["extension"]
    assert shown["updated"] == "2017-041-06T10:00:00-00:00"


def test_tags_at_upstream_path(own_project_admin: Api) -> None:
    """Upstream's tags of a QoS policy are under /v2.0/policies/{id}/tags (tempest's
    path); /v2.0/qos/policies/{id}/tags stays."""
    api = own_project_admin
    p = policy(api, name="tagged")
    response = api.put(f"policies/{p['id']}/tags", {"tags": ["red", "blue"]})
    assert response.status_code == 200, response.text
    assert sorted(response.json()["tags"]) == ["blue", "red"]
    assert api.put(f"policies/{p['id']}/tags/green").status_code == 201
    assert sorted(api.get(f"qos/policies/{p['id']}/tags").json()["tags"]) == [
        "blue", "green", "red"]
    listed = api.get("qos/policies?tags=green").json()["policies"]
    assert [x["id"] for x in listed] == [p["id"]]
    assert api.delete(f"policies/{p['id']}/tags").status_code == 204
    assert api.get(f"policies/{UNKNOWN}/tags").status_code == 404


def test_removing_a_policy_needs_access_to_it(own_project_admin: Api) -> None:
    """Upstream (neutron_tempest_plugin test_attach_and_detach_a_policy_by_a_project):
    a project cannot detach a policy it may not use from its own network or port
    (403 PolicyRemoveAuthorizationError), until the policy is shared with it."""
    admin = own_project_admin
    member = admin.as_project(project())
    private = policy(admin, name="private")
    net = member.network()
    port = member.port(net["id"])
    for path, key in ((f"networks/{net['id']}", "network"), (f"ports/{port['id']}", "port")):
        assert admin.put(path, {key: {"qos_policy_id": private["id"]}}).status_code == 200
        assert_error(member.put(path, {key: {"qos_policy_id": None}}), 403,
                     "PolicyRemoveAuthorizationError",
                     f"Failed to remove provided policy {private['id']} because you "
                     "are not authorized.")
        # Other attributes still change freely.
        assert member.put(path, {key: {"name": "renamed"}}).status_code == 200
    admin.put(f"qos/policies/{private['id']}", {"policy": {"shared": True}})
    for path, key in ((f"networks/{net['id']}", "network"), (f"ports/{port['id']}", "port")):
        response = member.put(path, {key: {"qos_policy_id": None}})
        assert response.status_code == 200, response.text
        assert response.json()[key]["qos_policy_id"] is None


def test_rbac_target_change_is_checked_as_a_removal(own_project_admin: Api) -> None:
    """Upstream's QoS RBAC (RbacSharedQosPoliciesTest.test_network_presence_prevents_
    policy_rbac_policy_deletion): moving the only "*" policy to the very project
    that uses the policy is still 409, the new target not counted."""
    admin = own_project_admin
    other = admin.as_project(project())
    p = policy(admin, name="wild")
    response = share(admin, p["id"], "*", "qos_policy")
    assert response.status_code == 201, response.text
    wild = response.json()["rbac_policy"]
    net = other.network(qos_policy_id=p["id"])
    assert_error(admin.put(f"rbac-policies/{wild['id']}",
                           {"rbac_policy": {"target_tenant": pid(other)}}),
                 409, "RbacPolicyInUse")
    other.delete(f"networks/{net['id']}")
    assert admin.put(f"rbac-policies/{wild['id']}", {"rbac_policy": {
        "target_tenant": pid(other)}}).status_code == 200
