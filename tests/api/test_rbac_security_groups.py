"""Security groups and address groups shared through RBAC policies
(rbac-security-groups, rbac-address-group, security-groups-shared-filtering)."""

from __future__ import annotations

import pytest
from rbac_helpers import assert_in_use, ids_of, pid, project, share, three_projects

from server import Api, assert_error


@pytest.fixture
def abc(api: Api) -> tuple[Api, Api, Api]:
    return three_projects(api)


def test_shared_security_group_is_usable_by_the_target(abc) -> None:
    a, b, c = abc
    sg = a.create("security_group", name="web")
    assert sg["shared"] is False
    b_net = b.network()
    response = b.post("ports", {"port": {"network_id": b_net["id"],
                                         "security_groups": [sg["id"]]}})
    assert_error(response, 404, "SecurityGroupNotFound")
    response = share(a, sg["id"], pid(b), "security_group")
    assert response.status_code == 201, response.text
    policy = response.json()["rbac_policy"]
    # B sees it (shared for B) and may use it on its ports; C may not.
    assert b.get(f"security-groups/{sg['id']}").json()["security_group"]["shared"] is True
    assert sg["id"] in ids_of(b, "security-groups")
    assert sg["id"] in ids_of(b, "security-groups", "shared=true")
    assert sg["id"] not in ids_of(b, "security-groups", "shared=false")
    assert sg["id"] not in ids_of(a, "security-groups", "shared=true")
    assert_error(c.get(f"security-groups/{sg['id']}"), 404, "SecurityGroupNotFound")
    assert sg["id"] not in ids_of(c, "security-groups")
    port = b.port(b_net["id"], security_groups=[sg["id"]])
    assert port["security_groups"] == [sg["id"]]
    c_net = c.network()
    response = c.post("ports", {"port": {"network_id": c_net["id"],
                                         "security_groups": [sg["id"]]}})
    assert_error(response, 404, "SecurityGroupNotFound")
    # B's port depends on the policy.
    assert_in_use(a.delete(f"rbac-policies/{policy['id']}"), sg["id"], pid(b))
    response = a.put(f"rbac-policies/{policy['id']}", {"rbac_policy": {"target_tenant": pid(c)}})
    assert_error(response, 409, "RbacPolicyInUse")
    assert b.put(f"ports/{port['id']}", {"port": {"security_groups": []}}).status_code == 200
    assert a.delete(f"rbac-policies/{policy['id']}").status_code == 204
    assert_error(b.get(f"security-groups/{sg['id']}"), 404, "SecurityGroupNotFound")


def test_deleting_a_group_deletes_its_policies(abc) -> None:
    a, b, _ = abc
    sg = a.create("security_group", name="gone")
    policy = share(a, sg["id"], pid(b), "security_group").json()["rbac_policy"]
    assert a.delete(f"security-groups/{sg['id']}").status_code == 204
    assert_error(a.get(f"rbac-policies/{policy['id']}"), 404, "RbacPolicyNotFound")


def test_security_group_errors(abc) -> None:
    a, b, _ = abc
    sg = a.create("security_group", name="mine")
    response = a.post("rbac-policies", {"rbac_policy": {
        "object_type": "security_group", "object_id": sg["id"],
        "action": "access_as_external", "target_tenant": pid(b)}})
    assert_error(response, 400, "InvalidActionForType",
                 "Invalid action 'access_as_external' for object type 'security_group'. "
                 "Valid actions: ('access_as_shared',)")
    assert_error(share(b, sg["id"], pid(b), "security_group"), 400, "InvalidInput",
                 f"Invalid input for operation: Security group {sg['id']} does not exist.")
    assert share(a, sg["id"], pid(b), "security_group").status_code == 201
    assert_error(share(b, sg["id"], project(), "security_group"), 400, "InvalidInput",
                 "Invalid input for operation: Only admins can manipulate policies on "
                 "objects they do not own.")


def test_shared_address_group_in_rules(abc) -> None:
    a, b, c = abc
    ag = a.create("address_group", name="office", addresses=["192.0.2.0/24"])
    b_sg = b.create("security_group", name="uses-ag")
    rule = {"security_group_id": b_sg["id"], "direction": "ingress",
            "remote_address_group_id": ag["id"]}
    assert_error(b.post("security-group-rules", {"security_group_rule": rule}), 404,
                 "AddressGroupNotFound")
    response = share(a, ag["id"], pid(b), "address_group")
    assert response.status_code == 201, response.text
    policy = response.json()["rbac_policy"]
    assert b.get(f"address-groups/{ag['id']}").json()["address_group"]["addresses"] == [
        "192.0.2.0/24"]
    assert ag["id"] in {g["id"] for g in b.get("address-groups").json()["address_groups"]}
    assert_error(c.get(f"address-groups/{ag['id']}"), 404, "AddressGroupNotFound")
    # Only its owner changes it.
    response = b.put(f"address-groups/{ag['id']}/add_addresses",
                     {"addresses": ["198.51.100.0/24"]})
    assert response.status_code in (403, 404), response.text
    created = b.post("security-group-rules", {"security_group_rule": rule})
    assert created.status_code == 201, created.text
    assert_error(a.delete(f"rbac-policies/{policy['id']}"), 409, "RbacPolicyInUse")
    rule_id = created.json()["security_group_rule"]["id"]
    assert b.delete(f"security-group-rules/{rule_id}").status_code == 204
    assert a.delete(f"rbac-policies/{policy['id']}").status_code == 204
    assert_error(b.get(f"address-groups/{ag['id']}"), 404, "AddressGroupNotFound")
