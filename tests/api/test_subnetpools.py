"""Subnet pools over HTTP: the pool resource, subnets carved from pools, default pools,
prefix operations, per-project pool quotas, and parallel allocation."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator

import openstack
import pytest

from backends import database, selected_backends
from server import UNKNOWN, Api, ServerProcess, assert_error

POOL_KEYS = {"id", "name", "description", "project_id", "tenant_id", "tags", "created_at",
             "updated_at", "revision_number", "prefixes", "ip_version",
             "default_prefixlen", "min_prefixlen", "max_prefixlen", "default_quota",
             "is_default", "shared", "address_scope_id"}


def post_pool(api: Api, **attrs: object):
    attrs.setdefault("name", "pool")
    return api.post("subnetpools", {"subnetpool": attrs})


def pool(api: Api, **attrs: object) -> dict:
    response = post_pool(api, **attrs)
    assert response.status_code == 201, response.text
    return response.json()["subnetpool"]


def post_subnet(api: Api, network_id: str, ip_version: int = 4, **attrs: object):
    return api.post("subnets", {"subnet": {"network_id": network_id,
                                           "ip_version": ip_version, **attrs}})


def subnet(api: Api, network_id: str, ip_version: int = 4, **attrs: object) -> dict:
    response = post_subnet(api, network_id, ip_version, **attrs)
    assert response.status_code == 201, response.text
    return response.json()["subnet"]


# -- the pool resource -----------------------------------------------------------


def test_create_defaults_and_summarised_prefixes(own_project_admin: Api) -> None:
    api = own_project_admin
    created = pool(api, prefixes=["10.1.1.0/24", "10.1.0.0/24", "10.1.0.128/25",
                                  "192.168.0.0/16"])
    assert set(created) == POOL_KEYS
    assert created["prefixes"] == ["10.1.0.0/23", "192.168.0.0/16"]
    assert (created["ip_version"], created["min_prefixlen"], created["max_prefixlen"],
            created["default_prefixlen"]) == (4, "8", "32", "8")
    assert created["default_quota"] is None
    assert created["is_default"] is False and created["shared"] is False
    assert created["address_scope_id"] is None and created["revision_number"] == 0
    assert api.get(f"subnetpools/{created['id']}").json()["subnetpool"] == created
    v6 = pool(api, prefixes=["2001:db8::/48"], min_prefixlen=56)
    assert (v6["ip_version"], v6["min_prefixlen"], v6["max_prefixlen"],
            v6["default_prefixlen"]) == (6, "56", "128", "56")
    v6b = pool(api, prefixes=["2001:db9::/32"])
    assert (v6b["min_prefixlen"], v6b["default_prefixlen"]) == ("64", "64")


@pytest.mark.parametrize(("attrs", "status", "type_", "message"), [
    ({"prefixes": []}, 400, "EmptySubnetPoolPrefixList", "Empty subnet pool prefix list."),
    ({"prefixes": ["10.0.0.0/8", "2001:db8::/32"]}, 400, "PrefixVersionMismatch",
     "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."),
    ({"prefixes": ["10.0.0.0"]}, 400, "HTTPBadRequest",
     "Invalid input for prefixes. Reason: '10.0.0.0' isn't a recognized IP subnet "
     "cidr, '10.0.0.0/32' is recommended."),
    ({"prefixes": ["10.0.0.0/255.0.0.0"]}, 400, "HTTPBadRequest",
     "Invalid input for prefixes. Reason: '10.0.0.0/255.0.0.0' isn't a recognized IP "
     "subnet cidr, '10.0.0.0/8' is recommended."),
    ({"prefixes": ["nonsense"]}, 400, "HTTPBadRequest",
     "Invalid input for prefixes. Reason: 'nonsense' is not a valid IP subnet."),
    ({"prefixes": "10.0.0.0/8"}, 400, "HTTPBadRequest",
     "Invalid input for prefixes. Reason: '10.0.0.0/8' is not a list."),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 28, "max_prefixlen": 24}, 400,
     "IllegalSubnetPoolPrefixBounds",
     "Illegal prefix bounds: min_prefixlen=28, max_prefixlen=24."),
    ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, 400,
     "IllegalSubnetPoolPrefixBounds",
     "Illegal prefix bounds: max_prefixlen=33, ip_version_max=32."),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 16, "default_prefixlen": 12}, 400,
     "IllegalSubnetPoolPrefixBounds",
     "Illegal prefix bounds: default_prefixlen=12, min_prefixlen=16."),
    ({"prefixes": ["10.0.0.0/8"], "default_prefixlen": 30, "max_prefixlen": 28}, 400,
     "IllegalSubnetPoolPrefixBounds",
     "Illegal prefix bounds: default_prefixlen=30, max_prefixlen=28."),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": -1}, 400, "HTTPBadRequest", None),
    ({"prefixes": ["10.0.0.0/8"], "ip_version": 4}, 400, "HTTPBadRequest",
     "Attribute 'ip_version' not allowed in POST"),
    ({"prefixes": ["10.0.0.0/8"], "address_scope_id": UNKNOWN}, 404,
     "AddressScopeNotFound", f"Address scope {UNKNOWN} could not be found."),
])
def test_create_errors(own_project_admin: Api, attrs: dict, status: int, type_: str,
                       message: str | None) -> None:
    assert_error(post_pool(own_project_admin, **attrs), status, type_, message)


def test_prefix_lengths_are_strings_as_upstream_shows_them(own_project_admin: Api
                                                          ) -> None:
    api = own_project_admin
    created = pool(api, prefixes=["10.4.0.0/16"], min_prefixlen="20", max_prefixlen=28)
    expected = {"min_prefixlen": "20", "max_prefixlen": "28", "default_prefixlen": "20"}
    assert {key: created[key] for key in expected} == expected
    shown = api.get(f"subnetpools/{created['id']}").json()["subnetpool"]
    assert {key: shown[key] for key in expected} == expected
    listed = api.get(f"subnetpools?id={created['id']}&min_prefixlen=20").json()
    assert [p["default_prefixlen"] for p in listed["subnetpools"]] == ["20"]
    response = api.put(f"subnetpools/{created['id']}", {"subnetpool": {
        "default_prefixlen": 24}})
    assert response.json()["subnetpool"]["default_prefixlen"] == "24"
    assert created["default_quota"] is None


def test_prefix_with_host_bits_is_taken_as_its_network(own_project_admin: Api) -> None:
    """Upstream accepts an IPv4 prefix with host bits (and any IPv6 one with a prefix
    length) and keeps its network; inside an address scope it then overlaps."""
    api = own_project_admin
    created = pool(api, prefixes=["10.5.12.13/24"])
    assert created["prefixes"] == ["10.5.12.0/24"]
    v6 = pool(api, prefixes=["2001:db8:5::1/64"])
    assert v6["prefixes"] == ["2001:db8:5::/64"]
    scope = api.post("address-scopes", {"address_scope": {
        "name": "hostbits", "ip_version": 4}}).json()["address_scope"]
    pool(api, prefixes=["10.11.12.0/24"], min_prefixlen="29", address_scope_id=scope["id"])
    response = post_pool(api, prefixes=["10.11.12.13/24"], min_prefixlen="29",
                         address_scope_id=scope["id"])
    assert_error(response, 409, "AddressScopePrefixConflict",
                 "Failed to associate address scope: subnetpools within an address scope "
                 "must have unique prefixes.")


def test_name_and_prefixes_required(own_project_admin: Api) -> None:
    response = own_project_admin.post("subnetpools", {"subnetpool": {
        "prefixes": ["10.0.0.0/8"]}})
    assert_error(response, 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'name' not specified")
    response = own_project_admin.post("subnetpools", {"subnetpool": {"name": "x"}})
    assert_error(response, 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'prefixes' not specified")


def test_update_rules(own_project_admin: Api) -> None:
    api = own_project_admin
    created = pool(api, prefixes=["10.2.0.0/24"], default_prefixlen=26,
                   min_prefixlen=24, max_prefixlen=28)
    path = f"subnetpools/{created['id']}"
    response = api.put(path, {"subnetpool": {"prefixes": ["10.2.0.0/24", "10.2.1.0/24",
                                                          "10.3.0.0/16"],
                                             "name": "grown", "default_quota": 1024}})
    assert response.status_code == 200, response.text
    updated = response.json()["subnetpool"]
    assert updated["prefixes"] == ["10.2.0.0/23", "10.3.0.0/16"]
    assert (updated["name"], updated["default_quota"]) == ("grown", 1024)
    assert updated["revision_number"] == created["revision_number"] + 1
    assert_error(api.put(path, {"subnetpool": {"prefixes": ["10.3.0.0/16"]}}), 400,
                 "IllegalSubnetPoolPrefixUpdate",
                 "Illegal update to prefixes: Existing prefixes must be a subset of the "
                 "new prefixes.")
    assert_error(api.put(path, {"subnetpool": {"min_prefixlen": 27}}), 400,
                 "IllegalSubnetPoolPrefixBounds",
                 "Illegal prefix bounds: default_prefixlen=26, min_prefixlen=27.")
    assert_error(api.put(path, {"subnetpool": {"prefixes": ["10.2.0.0/23", "10.3.0.0/16",
                                                            "2001:db8::/64"]}}),
                 400, "PrefixVersionMismatch")
    assert_error(api.put(path, {"subnetpool": {"shared": True}}), 400, "HTTPBadRequest",
                 "Cannot update read-only attribute shared")
    unchanged = api.get(path).json()["subnetpool"]
    assert unchanged == updated


def test_filters_and_root_link(own_project_admin: Api, api: Api) -> None:
    created = pool(own_project_admin, prefixes=["10.4.0.0/16"], name="filtered",
                   min_prefixlen=20, tags=["blue"])
    assert created["tags"] == ["blue"]
    tagged = own_project_admin.get("subnetpools?tags=blue").json()["subnetpools"]
    assert [p["id"] for p in tagged] == [created["id"]]
    response = own_project_admin.put(f"subnetpools/{created['id']}/tags/green")
    assert response.status_code == 201, response.text
    listed = own_project_admin.get("subnetpools?name=filtered&min_prefixlen=20&ip_version=4")
    assert [p["id"] for p in listed.json()["subnetpools"]] == [created["id"]]
    fields = own_project_admin.get(f"subnetpools/{created['id']}?fields=prefixes")
    assert fields.json()["subnetpool"] == {"prefixes": ["10.4.0.0/16"]}
    resources = [r["collection"] for r in api.get("/v2.0").json()["resources"]]
    assert resources[:4] == ["networks", "subnets", "subnetpools", "ports"]
    quota = api.get("quotas/fake_project_id").json()["quota"]
    assert quota["subnetpool"] == -1


def test_shared_and_visibility(own_project_admin: Api) -> None:
    admin = own_project_admin
    member = admin.as_project(f"m-{uuid.uuid4().hex}")
    assert_error(post_pool(member, prefixes=["10.5.0.0/16"], shared=True), 403,
                 "PolicyNotAuthorized", "(rule:create_subnetpool and "
                 "rule:create_subnetpool:shared) is disallowed by policy")
    private = pool(admin, prefixes=["10.5.0.0/16"])
    shared = pool(admin, prefixes=["10.6.0.0/16"], shared=True, name="shared-pool")
    ids = {p["id"] for p in member.get("subnetpools").json()["subnetpools"]}
    assert shared["id"] in ids and private["id"] not in ids
    assert_error(member.get(f"subnetpools/{private['id']}"), 404, "SubnetPoolNotFound",
                 f"Subnet pool {private['id']} could not be found.")
    assert_error(member.put(f"subnetpools/{shared['id']}", {"subnetpool": {"name": "x"}}),
                 403, "PolicyNotAuthorized")
    # A member allocates from the shared pool, not from the private one.
    net = member.network()
    got = subnet(member, net["id"], subnetpool_id=shared["id"], prefixlen=24)
    assert got["subnetpool_id"] == shared["id"] and got["cidr"] == "10.6.0.0/24"
    other = member.network()
    assert_error(post_subnet(member, other["id"], subnetpool_id=private["id"]), 404,
                 "SubnetPoolNotFound")
    own = pool(member, prefixes=["10.7.0.0/16"])
    assert own["project_id"] == member.client.headers["X-Project-Id"]


def test_default_pools(own_project_admin: Api) -> None:
    admin = own_project_admin
    member = admin.as_project(f"m-{uuid.uuid4().hex}")
    net = admin.network()
    assert_error(post_subnet(admin, net["id"], use_default_subnetpool=True), 400,
                 "BadRequest", "Bad subnets request: No default subnetpool found for IPv4.")
    assert_error(post_pool(member, prefixes=["10.8.0.0/16"], is_default=True), 403,
                 "PolicyNotAuthorized")
    default = pool(admin, prefixes=["10.8.0.0/16"], is_default=True, default_prefixlen=26)
    try:
        assert default["is_default"] is True
        assert_error(post_pool(admin, prefixes=["10.9.0.0/16"], is_default=True), 400,
                     "InvalidInput", "Invalid input for operation: A default subnetpool for "
                     "this IP family has already been set. Only one default may exist per "
                     "IP family.")
        second = pool(admin, prefixes=["10.9.0.0/16"])
        assert_error(admin.put(f"subnetpools/{second['id']}",
                               {"subnetpool": {"is_default": True}}), 400, "InvalidInput")
        v6 = pool(admin, prefixes=["2001:db8:100::/48"], is_default=True)
        admin.delete(f"subnetpools/{v6['id']}")
        got = subnet(admin, net["id"], use_default_subnetpool=True)
        assert (got["cidr"], got["subnetpool_id"]) == ("10.8.0.0/26", default["id"])
        assert "use_default_subnetpool" not in got
        assert_error(post_subnet(admin, net["id"], use_default_subnetpool=True,
                                 subnetpool_id=default["id"]), 400, "BadRequest",
                     "Bad subnets request: subnetpool_id and use_default_subnetpool cannot "
                     "both be specified.")
        admin.delete(f"subnets/{got['id']}")
    finally:
        response = admin.put(f"subnetpools/{default['id']}",
                             {"subnetpool": {"is_default": False}})
        assert response.status_code == 200, response.text


# -- subnets from pools ------------------------------------------------------------


def test_allocation_by_prefixlen_and_cidr(own_project_admin: Api) -> None:
    api = own_project_admin
    p = pool(api, prefixes=["10.10.0.0/22"], default_prefixlen=24, min_prefixlen=23,
             max_prefixlen=28)
    net = api.network()
    first = subnet(api, net["id"], subnetpool_id=p["id"])
    assert (first["cidr"], first["subnetpool_id"]) == ("10.10.0.0/24", p["id"])
    assert first["gateway_ip"] == "10.10.0.1"
    assert first["allocation_pools"] == [{"start": "10.10.0.2", "end": "10.10.0.254"}]
    small = subnet(api, net["id"], subnetpool_id=p["id"], prefixlen=28)
    assert small["cidr"] == "10.10.1.0/28"
    # Best fit: the next /28 comes from the hole the first one left.
    assert subnet(api, net["id"], subnetpool_id=p["id"], prefixlen=28)["cidr"] == \
        "10.10.1.16/28"
    explicit = subnet(api, net["id"], subnetpool_id=p["id"], cidr="10.10.3.0/24")
    assert explicit["subnetpool_id"] == p["id"]
    assert api.get(f"subnets?subnetpool_id={p['id']}").json()["subnets"].__len__() == 4
    cases = [
        ({"cidr": "10.10.3.0/25"}, 409, "SubnetAllocationError",
         "Failed to allocate subnet: Cannot allocate requested subnet from the available "
         "set of prefixes."),
        ({"cidr": "10.20.0.0/24"}, 409, "SubnetAllocationError", None),
        ({"prefixlen": 22}, 400, "MinPrefixSubnetAllocationError",
         "Unable to allocate subnet with prefix length 22, minimum allowed prefix is 23."),
        ({"prefixlen": 30}, 400, "MaxPrefixSubnetAllocationError",
         "Unable to allocate subnet with prefix length 30, maximum allowed prefix is 28."),
        ({"prefixlen": 23}, 409, "SubnetAllocationError",
         "Failed to allocate subnet: Insufficient prefix space to allocate subnet size "
         "/23."),
        ({"cidr": "10.10.2.0/24", "prefixlen": 24}, 400, "BadRequest",
         "Bad subnets request: cidr and prefixlen must not be supplied together."),
        ({"allocation_pools": [{"start": "10.10.2.5", "end": "10.10.2.9"}]}, 400,
         # Upstream's reason ends with a full stop, and so does its template.
         "BadRequest", "Bad subnets request: allocation_pools allowed only for specific "
                       "subnet requests.."),
    ]
    for attrs, status, type_, message in cases:
        assert_error(post_subnet(api, net["id"], subnetpool_id=p["id"], **attrs), status,
                     type_, message)
    assert_error(post_subnet(api, net["id"], ip_version=6, subnetpool_id=p["id"]), 400,
                 "BadRequest", "Bad subnets request: Cannot allocate IPv6 subnet from IPv4 "
                               "subnet pool.")
    assert_error(post_subnet(api, net["id"], subnetpool_id=UNKNOWN), 404,
                 "SubnetPoolNotFound", f"Subnet pool {UNKNOWN} could not be found.")
    assert_error(post_subnet(api, net["id"]), 400, "BadRequest",
                 "Bad subnets request: a subnetpool must be specified in the absence of a "
                 "cidr.")
    listed = api.get(f"subnets?network_id={net['id']}").json()["subnets"]
    assert len(listed) == 4  # nothing of the refused requests was written


def test_ipv6_pool(own_project_admin: Api) -> None:
    api = own_project_admin
    p = pool(api, prefixes=["2001:db8:5::/48"])
    net = api.network()
    got = subnet(api, net["id"], ip_version=6, subnetpool_id=p["id"],
                 ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    assert got["cidr"] == "2001:db8:5::/64"
    assert subnet(api, api.network()["id"], ip_version=6, subnetpool_id=p["id"])[
        "cidr"] == "2001:db8:5:1::/64"


def test_network_pool_affinity(own_project_admin: Api) -> None:
    api = own_project_admin
    a = pool(api, prefixes=["10.11.0.0/16"], default_prefixlen=24)
    b = pool(api, prefixes=["10.12.0.0/16"], default_prefixlen=24)
    net = api.network()
    subnet(api, net["id"], subnetpool_id=a["id"])
    message = ("Subnets hosted on the same network must be allocated from the same subnet "
               "pool.")
    assert_error(post_subnet(api, net["id"], subnetpool_id=b["id"]), 400,
                 "NetworkSubnetPoolAffinityError", message)
    assert_error(post_subnet(api, net["id"], cidr="192.168.50.0/24"), 400,
                 "NetworkSubnetPoolAffinityError", message)
    subnet(api, net["id"], subnetpool_id=a["id"])  # the same pool again is fine
    subnet(api, net["id"], ip_version=6, cidr="2001:db8:77::/64")  # another family


def test_delete_in_use_and_prefix_operations(own_project_admin: Api) -> None:
    api = own_project_admin
    p = pool(api, prefixes=["10.13.0.0/24"], default_prefixlen=25)
    path = f"subnetpools/{p['id']}"
    net = api.network()
    used = subnet(api, net["id"], subnetpool_id=p["id"])
    assert used["cidr"] == "10.13.0.0/25"
    assert_error(api.delete(path), 400, "SubnetPoolDeleteError",
                 "Unable to delete subnet pool: Subnet pool has existing allocations.")
    response = api.put(path + "/add_prefixes", {"prefixes": ["10.13.1.0/24",
                                                             "172.30.0.0/24"]})
    assert response.status_code == 200, response.text
    assert response.json() == {"prefixes": ["10.13.0.0/23", "172.30.0.0/24"]}
    response = api.put(path + "/remove_prefixes", {"prefixes": ["10.13.0.0/26"]})
    assert_error(response, 400, "IllegalSubnetPoolPrefixUpdate",
                 "Illegal update to prefixes: One or more the prefixes to be removed is in "
                 "use by a subnet.")
    response = api.put(path + "/remove_prefixes", {"prefixes": ["10.13.1.0/24",
                                                                "172.30.0.128/25"]})
    assert response.json() == {"prefixes": ["10.13.0.0/24", "172.30.0.0/25"]}
    response = api.put(path + "/remove_prefixes", {"prefixes": ["192.0.2.0/24"]})
    assert response.json() == {"prefixes": ["10.13.0.0/24", "172.30.0.0/25"]}
    assert_error(api.put(path + "/add_prefixes", {"prefixes": []}), 400, "HTTPBadRequest",
                 "Missing or invalid prefixes list in request body")
    assert_error(api.put(path + "/add_prefixes", {"prefixes": ["2001:db8::/64"]}), 400,
                 "PrefixVersionMismatch")
    assert_error(api.put(f"subnetpools/{UNKNOWN}/add_prefixes",
                         {"prefixes": ["10.0.0.0/8"]}), 404, "SubnetPoolNotFound")
    member = api.as_project(f"m-{uuid.uuid4().hex}")
    assert_error(member.put(path + "/add_prefixes", {"prefixes": ["10.99.0.0/24"]}), 404,
                 "SubnetPoolNotFound")
    shown = api.get(path).json()["subnetpool"]
    assert shown["prefixes"] == ["10.13.0.0/24", "172.30.0.0/25"]
    assert api.delete(f"subnets/{used['id']}").status_code == 204
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


def test_default_quota(own_project_admin: Api) -> None:
    admin = own_project_admin
    p = pool(admin, prefixes=["10.14.0.0/16"], default_prefixlen=24, default_quota=512,
             shared=True)
    member = admin.as_project(f"m-{uuid.uuid4().hex}")
    net = member.network()
    subnet(member, net["id"], subnetpool_id=p["id"])
    subnet(member, net["id"], subnetpool_id=p["id"])
    assert_error(post_subnet(member, net["id"], subnetpool_id=p["id"]),
                 409, "SubnetPoolQuotaExceeded",
                 "Per-tenant subnet pool prefix quota exceeded.")
    # The quota is per project: another project still gets its share.
    other = admin.as_project(f"m-{uuid.uuid4().hex}")
    subnet(other, other.network()["id"], subnetpool_id=p["id"])


def test_openstacksdk(conn: openstack.connection.Connection) -> None:
    created = conn.network.create_subnet_pool(name="sdk-pool", prefixes=["10.15.0.0/16"],
                                              default_prefix_length=26)
    assert created.prefixes == ["10.15.0.0/16"]
    assert created.default_prefix_length == 26 and created.ip_version == 4
    net = conn.network.create_network(name="sdk-pool-net")
    sub = conn.network.create_subnet(network_id=net.id, ip_version=4,
                                     subnet_pool_id=created.id, prefix_length=28)
    assert sub.cidr == "10.15.0.0/28" and sub.subnet_pool_id == created.id
    names = [p.name for p in conn.network.subnet_pools(name="sdk-pool")]
    assert names == ["sdk-pool"]
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.network.create_subnet(network_id=net.id, ip_version=4,
                                   subnet_pool_id=created.id, prefix_length=4)
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.network.delete_subnet_pool(created)
    conn.network.delete_subnet(sub)
    conn.network.delete_subnet_pool(created)
    conn.network.delete_network(net)


# -- parallel allocation -----------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def two_workers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[ServerProcess]:
    if request.param not in selected_backends():
        pytest.skip(f"{request.param} not in NEUTRINO_TEST_BACKENDS")
    state = tmp_path_factory.mktemp(f"pools-{request.param}")
    with database(request.param, state) as url, ServerProcess(state, url, workers=2) as proc:
        yield proc


def test_parallel_allocation_never_overlaps(two_workers: ServerProcess) -> None:
    from test_concurrency import describe, in_parallel

    admin = Api(two_workers.url).as_project(f"p-{uuid.uuid4().hex}", ["admin"])
    p = pool(admin, prefixes=["10.128.0.0/20"], default_prefixlen=24)
    networks = [admin.network()["id"] for _ in range(24)]

    def create(client, i: int):
        return client.post("/v2.0/subnets", json={"subnet": {
            "network_id": networks[i], "ip_version": 4, "subnetpool_id": p["id"]}})

    responses = in_parallel(len(networks), 8, create, dict(admin.client.headers),
                            two_workers.url)
    created = [r.json()["subnet"]["cidr"] for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(created) == 16, describe(responses)  # the /20 holds sixteen /24s
    assert {r.status_code for r in refused} == {409}, describe(responses)
    assert {r.json()["NeutronError"]["type"] for r in refused} == {"SubnetAllocationError"}
    nets = sorted(ipaddress.ip_network(c) for c in created)
    assert len(set(nets)) == 16
    assert all(not a.overlaps(b) for a, b in zip(nets, nets[1:], strict=False))
    assert all(n.subnet_of(ipaddress.ip_network("10.128.0.0/20")) for n in nets)
