"""Address scopes over HTTP: the resource, pools joining scopes, and the scopes
networks show."""

from __future__ import annotations

import uuid

from test_subnetpools import pool, post_pool, post_subnet, subnet

from server import UNKNOWN, Api, assert_error

SCOPE_KEYS = {"id", "name", "project_id", "tenant_id", "shared", "ip_version"}


def scope(api: Api, **attrs: object) -> dict:
    response = api.post("address-scopes", {"address_scope": attrs})
    assert response.status_code == 201, response.text
    return response.json()["address_scope"]


def test_lifecycle(own_project_admin: Api) -> None:
    api = own_project_admin
    created = scope(api, name="as1", ip_version=4)
    assert set(created) == SCOPE_KEYS
    assert (created["name"], created["ip_version"], created["shared"]) == ("as1", 4, False)
    assert created["project_id"] == api.client.headers["X-Project-Id"]
    path = f"address-scopes/{created['id']}"
    assert api.get(path).json()["address_scope"] == created
    response = api.put(path, {"address_scope": {"name": "renamed", "shared": True}})
    assert response.status_code == 200, response.text
    assert response.json()["address_scope"] == dict(created, name="renamed", shared=True)
    listed = api.get("address-scopes?name=renamed&ip_version=4").json()["address_scopes"]
    assert [s["id"] for s in listed] == [created["id"]]
    assert_error(api.put(path, {"address_scope": {"ip_version": 6}}), 400, "HTTPBadRequest",
                 "Cannot update read-only attribute ip_version")
    assert api.delete(path).status_code == 204
    assert_error(api.get(path), 404, "AddressScopeNotFound",
                 f"Address scope {created['id']} could not be found.")


def test_create_errors(own_project_admin: Api) -> None:
    api = own_project_admin
    assert_error(api.post("address-scopes", {"address_scope": {"name": "x"}}), 400,
                 "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'ip_version' not specified")
    assert_error(api.post("address-scopes", {"address_scope": {"ip_version": 5}}), 400,
                 "HTTPBadRequest", "Invalid input for ip_version. Reason: '5' is not in "
                                   "[4, 6].")
    assert_error(api.post("address-scopes", {"address_scope": {"ip_version": 4,
                                                               "description": "d"}}),
                 400, "HTTPBadRequest", "Unrecognized attribute(s) 'description'")
    assert_error(api.delete(f"address-scopes/{UNKNOWN}"), 404, "AddressScopeNotFound")


def test_shared_is_admin_only_and_visibility(own_project_admin: Api) -> None:
    admin = own_project_admin
    member = admin.as_project(f"m-{uuid.uuid4().hex}")
    assert_error(member.post("address-scopes", {"address_scope": {
        "ip_version": 4, "shared": True}}), 403, "PolicyNotAuthorized")
    private = scope(admin, ip_version=4)
    shared = scope(admin, ip_version=4, shared=True)
    ids = {s["id"] for s in member.get("address-scopes").json()["address_scopes"]}
    assert shared["id"] in ids and private["id"] not in ids
    assert member.get(f"address-scopes/{private['id']}").status_code == 404
    assert_error(member.put(f"address-scopes/{shared['id']}",
                            {"address_scope": {"name": "mine"}}), 403, "PolicyNotAuthorized")
    # A member's pool may join the shared scope, not the private one.
    joined = pool(member, prefixes=["10.40.0.0/16"], address_scope_id=shared["id"])
    assert joined["address_scope_id"] == shared["id"]
    assert_error(post_pool(member, prefixes=["10.41.0.0/16"],
                           address_scope_id=private["id"]), 404, "AddressScopeNotFound")
    # ... and the scope cannot be unshared under the member's pool.
    assert_error(admin.put(f"address-scopes/{shared['id']}",
                           {"address_scope": {"shared": False}}), 400,
                 "AddressScopeUpdateError")
    # A pool in someone else's shared scope cannot be changed by its owner.
    assert_error(member.put(f"subnetpools/{joined['id']}", {"subnetpool": {"name": "x"}}),
                 400, "IllegalSubnetPoolUpdate",
                 f"Illegal subnetpool update : subnetpool {joined['id']} cannot be updated "
                 f"when associated with shared address scope {shared['id']}.")


def test_pools_in_a_scope(own_project_admin: Api) -> None:
    api = own_project_admin
    v4 = scope(api, ip_version=4)
    v6 = scope(api, ip_version=6)
    a = pool(api, prefixes=["10.50.0.0/16"], address_scope_id=v4["id"])
    assert_error(post_pool(api, prefixes=["10.50.128.0/17"], address_scope_id=v4["id"]),
                 409, "AddressScopePrefixConflict",
                 "Failed to associate address scope: subnetpools within an address scope "
                 "must have unique prefixes.")
    assert_error(post_pool(api, prefixes=["2001:db8::/32"], address_scope_id=v4["id"]),
                 400, "IllegalSubnetPoolIpVersionAssociationToAddressScope")
    b = pool(api, prefixes=["10.50.128.0/17"])  # overlapping is fine outside the scope
    assert_error(api.put(f"subnetpools/{b['id']}",
                         {"subnetpool": {"address_scope_id": v4["id"]}}),
                 409, "AddressScopePrefixConflict")
    c = pool(api, prefixes=["10.51.0.0/16"])
    response = api.put(f"subnetpools/{c['id']}", {"subnetpool": {"address_scope_id":
                                                                 v4["id"]}})
    assert response.json()["subnetpool"]["address_scope_id"] == v4["id"]
    # Growing into a neighbour of the scope is refused like a new overlapping pool.
    assert_error(api.put(f"subnetpools/{c['id']}/add_prefixes",
                         {"prefixes": ["10.50.5.0/24"]}), 409, "AddressScopePrefixConflict")
    assert_error(api.delete(f"address-scopes/{v4['id']}"), 409, "AddressScopeInUse",
                 f"Unable to complete operation on address scope {v4['id']}. There are one "
                 "or more subnet pools in use on the address scope.")
    for p in (a, c):
        api.put(f"subnetpools/{p['id']}", {"subnetpool": {"address_scope_id": None}})
    assert api.delete(f"address-scopes/{v4['id']}").status_code == 204
    assert api.delete(f"address-scopes/{v6['id']}").status_code == 204


def test_networks_show_their_scopes(own_project_admin: Api) -> None:
    api = own_project_admin
    v4 = scope(api, ip_version=4)
    v6 = scope(api, ip_version=6)
    p4 = pool(api, prefixes=["10.60.0.0/16"], default_prefixlen=24,
              address_scope_id=v4["id"])
    p4b = pool(api, prefixes=["10.61.0.0/16"], default_prefixlen=24,
               address_scope_id=v4["id"])
    p6 = pool(api, prefixes=["2001:db8:60::/48"], address_scope_id=v6["id"])
    net = api.network()
    assert (net["ipv4_address_scope"], net["ipv6_address_scope"]) == (None, None)
    subnet(api, net["id"], subnetpool_id=p4["id"])
    shown = api.get(f"networks/{net['id']}").json()["network"]
    assert (shown["ipv4_address_scope"], shown["ipv6_address_scope"]) == (v4["id"], None)
    subnet(api, net["id"], ip_version=6, subnetpool_id=p6["id"])
    listed = api.get(f"networks?id={net['id']}").json()["networks"][0]
    assert (listed["ipv4_address_scope"], listed["ipv6_address_scope"]) == \
        (v4["id"], v6["id"])
    # Another pool of the same scope may serve the same network.
    subnet(api, net["id"], subnetpool_id=p4b["id"])
    other_scope = scope(api, ip_version=4)
    p4c = pool(api, prefixes=["10.62.0.0/16"], default_prefixlen=24,
               address_scope_id=other_scope["id"])
    assert_error(post_subnet(api, net["id"], subnetpool_id=p4c["id"]), 400,
                 "NetworkAddressScopeAffinityError",
                 "Subnets of the same address family hosted on the same network must all "
                 "participate in the same address scope.")
    # Moving one of the network's pools to another scope would split the network.
    assert_error(api.put(f"subnetpools/{p4b['id']}",
                         {"subnetpool": {"address_scope_id": other_scope["id"]}}),
                 400, "NetworkAddressScopeAffinityError")
    # Changing anything else of such a pool is fine.
    response = api.put(f"subnetpools/{p4b['id']}", {"subnetpool": {"name": "renamed"}})
    assert response.status_code == 200, response.text
    fields = api.get(f"networks/{net['id']}?fields=ipv4_address_scope").json()["network"]
    assert fields == {"ipv4_address_scope": v4["id"]}
