"""Address scopes shared through RBAC policies (rbac-address-scope): `shared` is a
"*" policy, a policy for one project lets that project see the scope and put its
subnet pools in it."""

from __future__ import annotations

from rbac_helpers import assert_in_use, ids_of, pid, project, share

from server import Api, assert_error


def scope(api: Api, **attrs: object) -> dict:
    response = api.post("address-scopes", {"address_scope": {"ip_version": 4, **attrs}})
    assert response.status_code == 201, response.text
    return response.json()["address_scope"]


def post_pool(api: Api, scope_id: str, cidr: str):
    return api.post("subnetpools", {"subnetpool": {
        "name": "p", "prefixes": [cidr], "address_scope_id": scope_id}})


def test_shared_with_one_project(api: Api) -> None:
    a, b, c = (api.as_project(project()) for _ in range(3))
    owned = scope(a, name="a-scope")
    assert_error(post_pool(b, owned["id"], "10.91.0.0/16"), 404, "AddressScopeNotFound")
    response = share(a, owned["id"], pid(b), "address_scope")
    assert response.status_code == 201, response.text
    policy = response.json()["rbac_policy"]
    assert b.get(f"address-scopes/{owned['id']}").json()["address_scope"]["shared"] is True
    assert owned["id"] in ids_of(b, "address-scopes", "shared=true")
    assert owned["id"] not in ids_of(c, "address-scopes")
    assert_error(c.get(f"address-scopes/{owned['id']}"), 404, "AddressScopeNotFound")
    response = post_pool(b, owned["id"], "10.91.0.0/16")
    assert response.status_code == 201, response.text
    pool_id = response.json()["subnetpool"]["id"]
    assert_in_use(a.delete(f"rbac-policies/{policy['id']}"), owned["id"], pid(b))
    assert b.delete(f"subnetpools/{pool_id}").status_code == 204
    assert a.delete(f"rbac-policies/{policy['id']}").status_code == 204
    assert_error(b.get(f"address-scopes/{owned['id']}"), 404, "AddressScopeNotFound")


def test_shared_attribute_is_a_wildcard_policy(own_project_admin: Api, api: Api) -> None:
    admin = own_project_admin
    other = api.as_project(project())
    everyone = scope(admin, shared=True)
    policies = admin.get(f"rbac-policies?object_id={everyone['id']}").json()[
        "rbac_policies"]
    assert [(p["object_type"], p["action"], p["target_tenant"]) for p in policies] == [
        ("address_scope", "access_as_shared", "*")]
    assert other.get(f"address-scopes/{everyone['id']}").json()["address_scope"][
        "shared"] is True
    # As upstream, a shared scope cannot be unshared (its policies can be deleted).
    response = admin.put(f"address-scopes/{everyone['id']}",
                         {"address_scope": {"shared": False}})
    assert_error(response, 400, "AddressScopeUpdateError",
                 f"Unable to update address scope {everyone['id']} : Shared address scope "
                 "can't be unshared.")
    assert len(admin.get(f"rbac-policies?object_id={everyone['id']}").json()[
        "rbac_policies"]) == 1
    assert other.get(f"address-scopes/{everyone['id']}").json()["address_scope"][
        "shared"] is True
    # Deleting the scope deletes its policies.
    policy = share(admin, everyone["id"], pid(other), "address_scope").json()["rbac_policy"]
    assert admin.delete(f"address-scopes/{everyone['id']}").status_code == 204
    assert_error(admin.get(f"rbac-policies/{policy['id']}"), 404, "RbacPolicyNotFound")
