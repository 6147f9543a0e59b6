"""RBAC policies on networks: /v2.0/rbac-policies, sharing with one project or every
project, `shared` as a policy, in-use checks, errors and quota (upstream's
rbac-policies behaviour; messages from neutron's rbac extension)."""

from __future__ import annotations

import uuid

import pytest
from rbac_helpers import ids_of, pid, project, share, three_projects

from server import Api, assert_error, error_of

POLICY_KEYS = {"id", "project_id", "tenant_id", "object_type", "object_id", "action",
               "target_tenant"}


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()["rbac_policy"]


@pytest.fixture
def abc(api: Api) -> tuple[Api, Api, Api]:
    """Three member projects: A owns things, B gets them shared, C does not."""
    return three_projects(api)


def test_create_show_list(abc) -> None:
    a, b, _ = abc
    net = a.network(name="to-share")
    policy = created(share(a, net["id"], pid(b)))
    assert set(policy) == POLICY_KEYS
    assert policy["object_type"] == "network"
    assert policy["object_id"] == net["id"]
    assert policy["action"] == "access_as_shared"
    assert policy["target_tenant"] == pid(b)
    assert policy["project_id"] == policy["tenant_id"] == pid(a)
    assert a.get(f"rbac-policies/{policy['id']}").json() == {"rbac_policy": policy}
    assert policy in a.get("rbac-policies").json()["rbac_policies"]
    # The target does not see the policy: it belongs to A.
    assert policy["id"] not in {p["id"] for p in b.get("rbac-policies").json()
                                ["rbac_policies"]}
    assert_error(b.get(f"rbac-policies/{policy['id']}"), 404, "RbacPolicyNotFound")


def test_shared_with_one_project(abc) -> None:
    a, b, c = abc
    net = a.network(name="for-b")
    subnet = a.subnet(net["id"], "10.77.0.0/24")
    assert net["id"] not in ids_of(b, "networks")
    policy = created(share(a, net["id"], pid(b)))
    # B sees it (shared, for B), C does not; A's view: not shared with A or everyone.
    assert b.get(f"networks/{net['id']}").json()["network"]["shared"] is True
    assert net["id"] in ids_of(b, "networks")
    assert net["id"] in ids_of(b, "networks", "shared=true")
    assert subnet["id"] in {s["id"] for s in b.get("subnets").json()["subnets"]}
    assert b.get(f"subnets/{subnet['id']}").status_code == 200
    assert_error(c.get(f"networks/{net['id']}"), 404, "NetworkNotFound")
    assert net["id"] not in ids_of(c, "networks")
    assert_error(c.get(f"subnets/{subnet['id']}"), 404, "SubnetNotFound")
    assert a.get(f"networks/{net['id']}").json()["network"]["shared"] is False
    assert net["id"] in ids_of(a, "networks", "shared=false")
    # B may put a port on it; C may not.
    port = b.port(net["id"])
    assert port["project_id"] == pid(b)
    assert_error(c.post("ports", {"port": {"network_id": net["id"]}}), 404,
                 "NetworkNotFound")
    # While B's port is there, the policy B depends on stays.
    response = a.delete(f"rbac-policies/{policy['id']}")
    err = assert_error(response, 409, "RbacPolicyInUse")
    assert err["message"] == (
        f"RBAC policy on object {net['id']} cannot be removed because other objects "
        f"depend on it.\nDetails: Unable to reconfigure sharing settings for network "
        f"{net['id']}. Multiple tenants are using it.")
    assert a.get(f"rbac-policies/{policy['id']}").status_code == 200
    assert b.delete(f"ports/{port['id']}").status_code == 204
    assert a.delete(f"rbac-policies/{policy['id']}").status_code == 204
    assert_error(b.get(f"networks/{net['id']}"), 404, "NetworkNotFound")
    assert_error(a.get(f"rbac-policies/{policy['id']}"), 404, "RbacPolicyNotFound")


def test_wildcard_is_for_admins(abc, own_project_admin: Api) -> None:
    a, b, c = abc
    net = a.network()
    response = share(a, net["id"], "*")
    assert_error(response, 403, "PolicyNotAuthorized",
                 "(rule:create_rbac_policy and rule:create_rbac_policy:target_tenant) "
                 "is disallowed by policy")
    policy = created(share(a, net["id"], pid(b)))
    response = a.put(f"rbac-policies/{policy['id']}", {"rbac_policy": {"target_tenant": "*"}})
    assert response.status_code == 403, response.text
    assert error_of(response)["type"] == "PolicyNotAuthorized"
    # An administrator shares with everyone (the policy is the admin's project's).
    everyone = created(share(own_project_admin, net["id"], "*"))
    assert everyone["project_id"] == pid(own_project_admin)
    assert c.get(f"networks/{net['id']}").json()["network"]["shared"] is True
    assert a.get(f"networks/{net['id']}").json()["network"]["shared"] is True
    # With "*" in place, B's own policy may go even though B has a port there.
    b.port(net["id"])
    assert a.delete(f"rbac-policies/{policy['id']}").status_code == 204
    # ...but not the "*" one: B's port needs it now.
    assert_error(own_project_admin.delete(f"rbac-policies/{everyone['id']}"), 409,
                 "RbacPolicyInUse")


def test_shared_attribute_is_a_wildcard_policy(api: Api, own_project_admin: Api,
                                               abc) -> None:
    a, b, _ = abc
    admin = own_project_admin
    net = admin.network(shared=True, project_id=pid(a))
    assert net["shared"] is True
    policies = admin.get(f"rbac-policies?object_id={net['id']}").json()["rbac_policies"]
    assert [(p["action"], p["target_tenant"], p["project_id"]) for p in policies] == [
        ("access_as_shared", "*", pid(a))]
    # The network's owner sees (and may remove) the policy made for its network.
    assert a.get(f"rbac-policies/{policies[0]['id']}").status_code == 200
    port = b.port(net["id"])
    response = admin.put(f"networks/{net['id']}", {"network": {"shared": False}})
    assert_error(response, 409, "InvalidSharedSetting",
                 f"Unable to reconfigure sharing settings for network {net['id']}. "
                 "Multiple tenants are using it.")
    # A policy of B's own keeps B's port legitimate: unsharing is fine then.
    created(share(a, net["id"], pid(b)))
    updated = admin.put(f"networks/{net['id']}", {"network": {"shared": False}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["network"]["shared"] is False
    assert b.get(f"networks/{net['id']}").json()["network"]["shared"] is True
    remaining = admin.get(f"rbac-policies?object_id={net['id']}").json()["rbac_policies"]
    assert [p["target_tenant"] for p in remaining] == [pid(b)]
    assert b.delete(f"ports/{port['id']}").status_code == 204
    # Sharing again re-creates the "*" policy; deleting the network deletes policies.
    assert admin.put(f"networks/{net['id']}", {"network": {"shared": True}}).json()[
        "network"]["shared"] is True
    assert len(admin.get(f"rbac-policies?object_id={net['id']}").json()
               ["rbac_policies"]) == 2
    assert admin.delete(f"networks/{net['id']}").status_code == 204
    assert admin.get(f"rbac-policies?object_id={net['id']}").json() == {
        "rbac_policies": []}


def test_update_target(abc) -> None:
    a, b, c = abc
    net = a.network()
    policy = created(share(a, net["id"], pid(b)))
    response = a.put(f"rbac-policies/{policy['id']}",
                     {"rbac_policy": {"target_tenant": pid(c)}})
    assert response.status_code == 200, response.text
    moved = response.json()["rbac_policy"]
    assert moved == dict(policy, target_tenant=pid(c))
    assert_error(b.get(f"networks/{net['id']}"), 404, "NetworkNotFound")
    assert c.get(f"networks/{net['id']}").status_code == 200
    # C now uses it: moving the policy away from C is refused.
    c.port(net["id"])
    response = a.put(f"rbac-policies/{policy['id']}",
                     {"rbac_policy": {"target_tenant": pid(b)}})
    assert_error(response, 409, "RbacPolicyInUse")
    assert a.get(f"rbac-policies/{policy['id']}").json()["rbac_policy"][
        "target_tenant"] == pid(c)
    for attr, value in (("object_type", "security_group"), ("action", "x"),
                        ("object_id", net["id"])):
        response = a.put(f"rbac-policies/{policy['id']}", {"rbac_policy": {attr: value}})
        assert_error(response, 400, "HTTPBadRequest",
                     f"Cannot update read-only attribute {attr}")


def test_self_share_may_go_with_own_ports(abc) -> None:
    a, b, _ = abc
    net = a.network()
    own = created(share(a, net["id"], pid(a)))
    a.port(net["id"])
    response = a.put(f"rbac-policies/{own['id']}", {"rbac_policy": {"target_tenant": pid(b)}})
    assert response.status_code == 200, response.text
    assert a.delete(f"rbac-policies/{own['id']}").status_code == 204


def test_policy_changes_bump_the_network_revision(abc) -> None:
    a, b, _ = abc
    net = a.network()
    policy = created(share(a, net["id"], pid(b)))
    after_create = a.get(f"networks/{net['id']}").json()["network"]["revision_number"]
    assert after_create > net["revision_number"]
    a.delete(f"rbac-policies/{policy['id']}")
    assert a.get(f"networks/{net['id']}").json()["network"][
        "revision_number"] > after_create


def test_errors(abc, own_project_admin: Api) -> None:
    a, b, c = abc
    net = a.network()
    assert_error(share(a, net["id"], pid(b), object_type="bogus"), 400, "InvalidInput",
                 "Invalid input for operation: 'bogus' is not a valid RBAC object type.")
    assert_error(share(a, net["id"], pid(b), action="access_as_owner"), 400,
                 "InvalidActionForType",
                 "Invalid action 'access_as_owner' for object type 'network'. Valid "
                 "actions: ('access_as_shared', 'access_as_external')")
    missing = str(uuid.uuid4())
    assert_error(share(a, missing, pid(b)), 400, "InvalidInput",
                 f"Invalid input for operation: Network {missing} could not be found.")
    assert_error(share(c, net["id"], pid(c)), 400, "InvalidInput")
    # B may see the network once shared, but only its owner shares it further.
    created(share(a, net["id"], pid(b)))
    assert_error(share(b, net["id"], pid(c)), 400, "InvalidInput",
                 "Invalid input for operation: Only admins can manipulate policies on "
                 "networks they do not own.")
    assert_error(share(a, net["id"], pid(b)), 409, "DuplicateRbacPolicy",
                 "An RBAC policy already exists with those values.")
    response = a.post("rbac-policies", {"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_shared"}})
    assert_error(response, 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'target_tenant' not "
                 "specified")
    assert_error(share(a, net["id"], None), 400, "HTTPBadRequest")
    assert_error(share(a, net["id"], "x" * 256), 400, "HTTPBadRequest")
    assert_error(share(a, "not-a-uuid", pid(b)), 400, "HTTPBadRequest")
    assert_error(share(a, net["id"], pid(b), name="x"), 400, "HTTPBadRequest")
    assert_error(a.get(f"rbac-policies/{missing}"), 404, "RbacPolicyNotFound",
                 f"RBAC policy of type unknown with ID {missing} not found")
    assert_error(a.delete(f"rbac-policies/{missing}"), 404, "RbacPolicyNotFound")
    # Type names are case-insensitive; an admin manages anyone's objects' policies.
    policy = created(share(own_project_admin, net["id"], pid(c), object_type=" Network "))
    assert policy["object_type"] == "network"
    assert a.get(f"rbac-policies/{policy['id']}").status_code == 404


def test_list_filters_and_fields(abc) -> None:
    a, b, c = abc
    net = a.network()
    p1 = created(share(a, net["id"], pid(b)))
    p2 = created(share(a, net["id"], pid(c)))

    def listed(query: str) -> list[str]:
        response = a.get(f"rbac-policies?{query}")
        assert response.status_code == 200, response.text
        return sorted(p["id"] for p in response.json()["rbac_policies"])

    assert listed(f"object_id={net['id']}") == sorted([p1["id"], p2["id"]])
    assert listed(f"id={p1['id']}") == [p1["id"]]
    assert listed(f"object_id={net['id']}&target_tenant={pid(c)}") == [p2["id"]]
    assert listed(f"object_id={net['id']}&object_type=security_group") == []
    assert listed(f"object_id={net['id']}&action=access_as_shared&tenant_id={pid(a)}") \
        == sorted([p1["id"], p2["id"]])
    for fields in (("id",), ("id", "action"), ("object_type", "object_id"),
                   ("tenant_id", "target_tenant")):
        query = "&".join(f"fields={f}" for f in fields)
        items = a.get(f"rbac-policies?object_id={net['id']}&{query}").json()["rbac_policies"]
        assert items and all(set(i) == set(fields) for i in items)
    response = a.get(f"rbac-policies?object_id={net['id']}&sort_key=target_tenant"
                     "&sort_dir=desc")
    targets = [p["target_tenant"] for p in response.json()["rbac_policies"]]
    assert targets == sorted(targets, reverse=True)


def test_quota(own_project_admin: Api) -> None:
    admin = own_project_admin
    me = pid(admin)
    assert admin.get(f"quotas/{me}").json()["quota"]["rbac_policy"] == 10
    response = admin.put(f"quotas/{me}", {"quota": {"rbac_policy": 2}})
    assert response.status_code == 200, response.text
    net = admin.network()
    for _ in range(2):
        created(share(admin, net["id"], project()))
    response = share(admin, net["id"], project())
    assert_error(response, 409, "OverQuota",
                 "Quota exceeded for resources: ['rbac_policy'].")
    details = admin.get(f"quotas/{me}/details").json()["quota"]["rbac_policy"]
    assert details == {"limit": 2, "used": 2, "reserved": 0}


def test_external_policy(own_project_admin: Api, abc) -> None:
    a, b, c = abc
    admin = own_project_admin
    net = admin.network(project_id=pid(a))
    assert net["router:external"] is False
    policy = created(share(admin, net["id"], pid(b), action="access_as_external"))
    # The policy makes the network external, for B only.
    assert admin.get(f"networks/{net['id']}").json()["network"]["router:external"] is True
    assert b.get(f"networks/{net['id']}").status_code == 200
    assert_error(c.get(f"networks/{net['id']}"), 404, "NetworkNotFound")
    assert net["id"] not in ids_of(c, "networks")
    assert admin.delete(f"rbac-policies/{policy['id']}").status_code == 204
    assert admin.get(f"networks/{net['id']}").json()["network"]["router:external"] is False
    assert_error(b.get(f"networks/{net['id']}"), 404, "NetworkNotFound")
    assert_error(share(admin, a.network()["id"], pid(b), object_type="security_group"),
                 400, "InvalidInput")


def test_router_external_is_a_wildcard_external_policy(own_project_admin: Api,
                                                       abc) -> None:
    admin = own_project_admin
    _, _, c = abc
    net = admin.network(**{"router:external": True})
    policies = admin.get(f"rbac-policies?object_id={net['id']}").json()["rbac_policies"]
    assert [(p["action"], p["target_tenant"]) for p in policies] == [
        ("access_as_external", "*")]
    assert c.get(f"networks/{net['id']}").status_code == 200
    response = admin.put(f"networks/{net['id']}", {"network": {"router:external": False}})
    assert response.status_code == 200, response.text
    assert admin.get(f"rbac-policies?object_id={net['id']}").json() == {"rbac_policies": []}
    assert_error(c.get(f"networks/{net['id']}"), 404, "NetworkNotFound")
    admin.put(f"networks/{net['id']}", {"network": {"router:external": True}})
    assert c.get(f"networks/{net['id']}").status_code == 200


def test_openstacksdk(conn, own_project_admin: Api) -> None:
    """openstacksdk creates, lists, updates and deletes RBAC policies end to end."""
    net = conn.network.create_network(name="sdk-rbac")
    try:
        target = project()
        # In a project of its own: the session's admin project has a quota of 10.
        owner = pid(own_project_admin)
        policy = conn.network.create_rbac_policy(
            object_type="network", object_id=net.id, action="access_as_shared",
            target_project_id=target, project_id=owner)
        assert policy.target_project_id == target
        assert policy.project_id == owner
        assert policy.object_id == net.id
        assert policy.id in {p.id for p in conn.network.rbac_policies(object_id=net.id)}
        other = project()
        updated = conn.network.update_rbac_policy(policy, target_project_id=other)
        assert updated.target_project_id == other
        assert conn.network.get_rbac_policy(policy.id).target_project_id == other
        conn.network.delete_rbac_policy(policy, ignore_missing=False)
        assert list(conn.network.rbac_policies(object_id=net.id)) == []
    finally:
        conn.network.delete_network(net)


def test_default_external_network_stays_shared_with_everyone(own_project_admin: Api
                                                             ) -> None:
    admin = own_project_admin
    found = admin.get("networks?is_default=true").json()["networks"]
    net = found[0] if found else admin.network(**{"router:external": True,
                                                  "is_default": True})
    try:
        policies = admin.get(f"rbac-policies?object_id={net['id']}"
                             "&action=access_as_external&target_tenant=*").json()
        [policy] = policies["rbac_policies"]
        # Upstream: 409 RbacPolicyInUse, for a delete and a retarget alike.
        in_use = (f"RBAC policy on object {net['id']} cannot be removed because other "
                  "objects depend on it.\nDetails: Default external networks must be "
                  "shared to everyone.")
        assert_error(admin.delete(f"rbac-policies/{policy['id']}"), 409, "RbacPolicyInUse",
                     in_use)
        response = admin.put(f"rbac-policies/{policy['id']}",
                             {"rbac_policy": {"target_tenant": project()}})
        assert_error(response, 409, "RbacPolicyInUse", in_use)
        assert admin.get(f"rbac-policies/{policy['id']}").json()["rbac_policy"] == policy
    finally:
        if not found:
            assert admin.delete(f"networks/{net['id']}").status_code == 204


def test_external_policy_in_use_by_a_router(own_project_admin: Api, abc) -> None:
    admin = own_project_admin
    _, b, _ = abc
    net = admin.network()
    admin.subnet(net["id"], "203.0.113.0/24")
    policy = created(share(admin, net["id"], pid(b), action="access_as_external"))
    response = b.post("routers", {"router": {
        "name": "r", "external_gateway_info": {"network_id": net["id"]}}})
    assert response.status_code == 201, response.text
    router = response.json()["router"]
    err = assert_error(admin.delete(f"rbac-policies/{policy['id']}"), 409,
                       "RbacPolicyInUse")
    assert err["message"].endswith("Details: There are routers attached to this network "
                                   "that depend on this policy for access.")
    assert b.put(f"routers/{router['id']}", {"router": {
        "external_gateway_info": {}}}).status_code == 200
    assert admin.delete(f"rbac-policies/{policy['id']}").status_code == 204
    assert admin.get(f"networks/{net['id']}").json()["network"]["router:external"] is False


@pytest.mark.parametrize("collection, object_type, body", [
    ("networks", "network", {}),
    ("security-groups", "security_group", {"name": "sg"}),
    ("subnetpools", "subnetpool", {"name": "pool", "prefixes": ["10.230.0.0/16"]}),
    ("address-scopes", "address_scope", {"name": "scope", "ip_version": 4}),
])
def test_shared_non_owner_writes_are_403(own_project_admin: Api, collection: str,
                                         object_type: str, body: dict) -> None:
    """Where sharing is an attribute (`shared`), a project the resource is shared with
    may read it, so upstream's refused PUT and DELETE stay 403 (keystone transcripts
    019, 020); only resources without it (address groups) answer 404."""
    admin = own_project_admin
    name = collection[:-1].replace("-", "_")
    response = admin.post(collection, {name: body})
    assert response.status_code == 201, response.text
    item = response.json()[name]
    member = admin.as_project(project())
    created(share(admin, item["id"], pid(member), object_type))
    shown = member.get(f"{collection}/{item['id']}")
    assert shown.status_code == 200, shown.text
    assert shown.json()[name]["shared"] is True
    assert_error(member.put(f"{collection}/{item['id']}", {name: {"name": "hijack"}}),
                 403, "PolicyNotAuthorized", f"rule:update_{name} is disallowed by policy")
    assert_error(member.delete(f"{collection}/{item['id']}"), 403, "PolicyNotAuthorized",
                 f"rule:delete_{name} is disallowed by policy")
    assert admin.get(f"{collection}/{item['id']}").json()[name]["name"] == item["name"]
