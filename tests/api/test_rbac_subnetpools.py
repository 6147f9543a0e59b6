"""Subnet pools shared through RBAC policies (rbac-subnetpool): a policy for one
project lets it see the pool and allocate subnets from it; `shared` is a "*"
policy."""

from __future__ import annotations

from rbac_helpers import assert_in_use, ids_of, pid, project, share

from server import Api, assert_error


def pool(api: Api, **attrs: object) -> dict:
    response = api.post("subnetpools", {"subnetpool": {"name": "p", **attrs}})
    assert response.status_code == 201, response.text
    return response.json()["subnetpool"]


def post_subnet(api: Api, network_id: str, pool_id: str):
    return api.post("subnets", {"subnet": {"network_id": network_id, "ip_version": 4,
                                           "subnetpool_id": pool_id, "prefixlen": 26}})


def test_shared_with_one_project(api: Api) -> None:
    a, b, c = (api.as_project(project()) for _ in range(3))
    owned = pool(a, prefixes=["10.93.0.0/16"])
    b_net, c_net = b.network(), c.network()
    assert_error(post_subnet(b, b_net["id"], owned["id"]), 404, "SubnetPoolNotFound")
    response = share(a, owned["id"], pid(b), "subnetpool")
    assert response.status_code == 201, response.text
    policy = response.json()["rbac_policy"]
    seen = b.get(f"subnetpools/{owned['id']}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["subnetpool"]["shared"] is True
    assert owned["id"] in ids_of(b, "subnetpools", "shared=true")
    assert_error(c.get(f"subnetpools/{owned['id']}"), 404, "SubnetPoolNotFound")
    assert_error(post_subnet(c, c_net["id"], owned["id"]), 404, "SubnetPoolNotFound")
    response = post_subnet(b, b_net["id"], owned["id"])
    assert response.status_code == 201, response.text
    subnet = response.json()["subnet"]
    assert subnet["subnetpool_id"] == owned["id"]
    assert_in_use(a.delete(f"rbac-policies/{policy['id']}"), owned["id"], pid(b))
    assert b.delete(f"subnets/{subnet['id']}").status_code == 204
    assert a.delete(f"rbac-policies/{policy['id']}").status_code == 204
    assert_error(b.get(f"subnetpools/{owned['id']}"), 404, "SubnetPoolNotFound")


def test_shared_attribute_is_a_wildcard_policy(own_project_admin: Api, api: Api) -> None:
    admin = own_project_admin
    other = api.as_project(project())
    everyone = pool(admin, prefixes=["10.94.0.0/16"], shared=True)
    assert everyone["shared"] is True
    policies = admin.get(f"rbac-policies?object_id={everyone['id']}").json()[
        "rbac_policies"]
    assert [(p["object_type"], p["target_tenant"]) for p in policies] == [
        ("subnetpool", "*")]
    assert other.get(f"subnetpools/{everyone['id']}").json()["subnetpool"][
        "shared"] is True
    assert admin.delete(f"subnetpools/{everyone['id']}").status_code == 204
    assert admin.get(f"rbac-policies?object_id={everyone['id']}").json() == {
        "rbac_policies": []}


def test_shared_only_with_projects_that_may_use_its_address_scope(
        own_project_admin: Api, api: Api) -> None:
    """As upstream (tempest's test_cannot_share_if_no_access_to_address_scope): a pool
    in an address scope cannot be shared with a project the scope is not shared with."""
    admin = own_project_admin
    a, b = api.as_project(project()), api.as_project(project())
    response = admin.post("address-scopes", {"address_scope": {"name": "s",
                                                               "ip_version": 4}})
    scope = response.json()["address_scope"]
    assert share(admin, scope["id"], pid(a), "address_scope").status_code == 201
    owned = pool(a, prefixes=["10.95.0.0/16"], address_scope_id=scope["id"])
    refused = (f"Invalid input for operation: Failed to create RBAC policy on object "
               f"{owned['id']} because target project doesn't have access to associated "
               "address scope.")
    assert_error(share(a, owned["id"], pid(b), "subnetpool"), 400, "InvalidInput", refused)
    assert_error(share(admin, owned["id"], "*", "subnetpool"), 400, "InvalidInput", refused)
    assert admin.get(f"rbac-policies?object_id={owned['id']}").json() == {
        "rbac_policies": []}
    assert_error(b.get(f"subnetpools/{owned['id']}"), 404, "SubnetPoolNotFound")
    # Once the scope is shared with B, so may the pool be; retargeting is checked too.
    assert share(admin, scope["id"], pid(b), "address_scope").status_code == 201
    response = share(a, owned["id"], pid(b), "subnetpool")
    assert response.status_code == 201, response.text
    policy = response.json()["rbac_policy"]
    response = a.put(f"rbac-policies/{policy['id']}",
                     {"rbac_policy": {"target_tenant": project()}})
    assert_error(response, 400, "InvalidInput")
    assert b.get(f"subnetpools/{owned['id']}").status_code == 200
