"""GET /v2.0/floatingip-pools (upstream's path; floatingip_pools too): the IPv4
subnets of the external networks a caller may use, shown as the caller's."""

from __future__ import annotations

import uuid

from l3_setup import external_network, project_network

from server import Api, assert_error


def pools_of(api: Api, network_id: str, query: str = "") -> list[dict]:
    response = api.get(f"floatingip-pools?network_id={network_id}{query}")
    assert response.status_code == 200, response.text
    return response.json()["floatingip_pools"]


def test_lists_ipv4_subnets_of_external_networks(own_project_admin: Api) -> None:
    api = own_project_admin
    ext, subnet = external_network(api, "198.51.100.0/24", name="public-subnet")
    api.subnet(ext["id"], "2001:db8:77::/64", enable_dhcp=False)
    internal, _ = project_network(api)
    project = api.client.headers["X-Project-Id"]
    assert pools_of(api, ext["id"]) == [{
        "subnet_id": subnet["id"], "subnet_name": "public-subnet",
        "network_id": ext["id"], "cidr": "198.51.100.0/24",
        "project_id": project, "tenant_id": project}]
    assert pools_of(api, internal["id"]) == []
    # Another project sees the same pool as its own (upstream: the caller's project).
    other = api.as_project(f"p-{uuid.uuid4().hex}", ["member", "reader"])
    [pool] = pools_of(other, ext["id"])
    assert pool["project_id"] == pool["tenant_id"] == other.client.headers["X-Project-Id"]
    assert pools_of(other, ext["id"], "&fields=cidr") == [{"cidr": "198.51.100.0/24"}]


def test_only_usable_external_networks(own_project_admin: Api) -> None:
    api = own_project_admin
    chosen = api.as_project(f"p-{uuid.uuid4().hex}", ["member", "reader"])
    stranger = api.as_project(f"p-{uuid.uuid4().hex}", ["member", "reader"])
    net = api.network(name="ext-for-one")
    subnet = api.subnet(net["id"], "198.51.101.0/24", enable_dhcp=False)
    response = api.post("rbac-policies", {"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_external",
        "target_tenant": chosen.client.headers["X-Project-Id"]}})
    assert response.status_code == 201, response.text
    policy = response.json()["rbac_policy"]
    assert [p["subnet_id"] for p in pools_of(chosen, net["id"])] == [subnet["id"]]
    assert pools_of(stranger, net["id"]) == []
    assert [p["subnet_id"] for p in pools_of(api, net["id"])] == [subnet["id"]]
    assert api.delete(f"rbac-policies/{policy['id']}").status_code == 204
    assert pools_of(chosen, net["id"]) == []


def test_filters_sorting_pagination(own_project_admin: Api) -> None:
    api = own_project_admin
    ext, first = external_network(api, "198.51.102.0/26")
    second = api.subnet(ext["id"], "198.51.102.64/26", enable_dhcp=False, name="b")
    third = api.subnet(ext["id"], "198.51.102.128/26", enable_dhcp=False, name="a")
    ordered = pools_of(api, ext["id"], "&sort_key=subnet_name&sort_dir=desc")
    assert [p["subnet_id"] for p in ordered] == [second["id"], third["id"], first["id"]]
    assert [p["subnet_id"] for p in pools_of(api, ext["id"], "&subnet_name=a")] == [
        third["id"]]
    body = api.get(f"floatingip-pools?network_id={ext['id']}&sort_key=subnet_name"
                   "&sort_dir=asc&limit=2").json()
    assert [p["subnet_id"] for p in body["floatingip_pools"]] == [first["id"], third["id"]]
    assert [link["rel"] for link in body["floatingip_pools_links"]] == ["next", "previous"]
    assert "/v2.0/floatingip-pools?" in body["floatingip_pools_links"][0]["href"]
    following = api.client.get(body["floatingip_pools_links"][0]["href"]).json()
    assert [p["subnet_id"] for p in following["floatingip_pools"]] == [second["id"]]
    project = api.client.headers["X-Project-Id"]
    assert len(pools_of(api, ext["id"], f"&project_id={project}")) == 3
    assert pools_of(api, ext["id"], "&project_id=someone-else") == []
    assert_error(api.get("floatingip_pools?color=red"), 400, "HTTPBadRequest")


def test_underscore_path_answers_the_same(own_project_admin: Api) -> None:
    api = own_project_admin
    ext, _ = external_network(api, "198.51.103.0/24")
    hyphen = api.get(f"floatingip-pools?network_id={ext['id']}")
    underscore = api.get(f"floatingip_pools?network_id={ext['id']}")
    assert hyphen.status_code == underscore.status_code == 200
    assert hyphen.json() == underscore.json() and len(hyphen.json()["floatingip_pools"]) == 1


def test_read_only(api: Api) -> None:
    for path in ("floatingip-pools", "floatingip_pools"):
        response = api.post(path, {"floatingip_pool": {}})
        assert response.status_code == 405
    assert "floatingip-pools" in [e["alias"] for e in api.get("extensions").json()[
        "extensions"]]
