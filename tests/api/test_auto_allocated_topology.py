"""auto-allocated-topology ("Get Me A Network") over HTTP, on a server of its own
(the default external network and the default subnet pools are deployment-wide):
requirements and dry-run, the topology built on first GET and returned after,
deletion, failures that leave nothing behind, concurrent first requests, and
openstacksdk's calls."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openstack
import pytest

from backends import database
from server import Api, ServerProcess, assert_error

EXT_CIDR = "172.24.4.0/24"
V4_POOL = "10.128.0.0/16"
V6_POOL = "fd00:aa::/48"


@pytest.fixture(scope="module")
def fresh(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    state: Path = tmp_path_factory.mktemp(f"auto-allocate-{backend}")
    with database(backend, state) as url, ServerProcess(state, url) as proc:
        yield Api(proc.url, backend=backend)


def _one(api: Api, path: str, key: str) -> dict | None:
    items = api.get(path).json()[key]
    assert len(items) <= 1, items
    return items[0] if items else None


@pytest.fixture
def deployment(fresh: Api) -> dict:
    """A default external network (with a subnet) and default IPv4 / IPv6 pools."""
    admin = fresh
    ext = _one(admin, "networks?name=default-public", "networks")
    if ext is None:
        ext = admin.network(name="default-public", **{"router:external": True,
                                                       "is_default": True})
        admin.subnet(ext["id"], EXT_CIDR, enable_dhcp=False)
    admin.put(f"networks/{ext['id']}", {"network": {"is_default": True}})
    pools = {}
    for version, prefix, length in ((4, V4_POOL, 26), (6, V6_POOL, 64)):
        pool = _one(admin, f"subnetpools?name=default-v{version}", "subnetpools")
        if pool is None:
            pool = admin.create("subnetpool", name=f"default-v{version}",
                                prefixes=[prefix], default_prefixlen=length, shared=True,
                                is_default=True)
        response = admin.put(f"subnetpools/{pool['id']}",
                             {"subnetpool": {"is_default": True}})
        assert response.status_code == 200, response.text
        pools[version] = pool
    return {"ext": ext, "pools": pools}


def member_of(api: Api, project: str | None = None) -> tuple[Api, str]:
    project = project or f"p-{uuid.uuid4().hex}"
    return api.as_project(project, ["member", "reader"]), project


def topology_of(api: Api, project: str, query: str = "") -> dict:
    response = api.get(f"auto-allocated-topology/{project}{query}")
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"auto_allocated_topology"}
    return response.json()["auto_allocated_topology"]


def owned(admin: Api, collection: str, project: str, name: str) -> list[dict]:
    return admin.get(f"{collection}?project_id={project}&name={name}").json()[collection]


def test_requirements_and_dry_run(fresh: Api, deployment: dict) -> None:
    admin = fresh
    user, project = member_of(admin)
    ext = deployment["ext"]
    pools = deployment["pools"]
    assert topology_of(user, project, "?fields=dry-run") == {
        "id": "dry-run=pass", "tenant_id": project, "project_id": project}
    assert owned(admin, "networks", project, "auto_allocated_network") == []
    assert_error(user.get(f"auto-allocated-topology/{project}?fields=id"), 400,
                 "BadRequest", "Bad auto_allocate request: Unrecognized field.")
    try:
        for pool in pools.values():
            admin.put(f"subnetpools/{pool['id']}", {"subnetpool": {"is_default": False}})
        assert_error(user.get(f"auto-allocated-topology/{project}?fields=dry-run"), 409,
                     "AutoAllocationFailure",
                     "Deployment error: No default subnetpools defined.")
        assert_error(user.get(f"auto-allocated-topology/{project}"), 409,
                     "AutoAllocationFailure",
                     "Deployment error: Unable to provide tenant private network.")
        admin.put(f"networks/{ext['id']}", {"network": {"is_default": False}})
        for query in ("?fields=dry-run", ""):
            assert_error(user.get(f"auto-allocated-topology/{project}{query}"), 409,
                         "AutoAllocationFailure",
                         "Deployment error: No default router:external network.")
    finally:
        admin.put(f"networks/{ext['id']}", {"network": {"is_default": True}})
        for pool in pools.values():
            admin.put(f"subnetpools/{pool['id']}", {"subnetpool": {"is_default": True}})
    # Nothing was left behind by the failures.
    assert admin.get(f"networks?project_id={project}").json()["networks"] == []
    assert admin.get(f"routers?project_id={project}").json()["routers"] == []


def test_first_get_builds_later_gets_return_it(fresh: Api, deployment: dict) -> None:
    admin = fresh
    user, project = member_of(admin)
    topology = topology_of(user, project)
    assert set(topology) == {"id", "tenant_id", "project_id"}
    assert topology["tenant_id"] == topology["project_id"] == project
    network = user.get(f"networks/{topology['id']}").json()["network"]
    assert network["name"] == "auto_allocated_network"
    assert network["admin_state_up"] is True and network["project_id"] == project
    subnets = sorted(user.get(f"subnets?network_id={network['id']}").json()["subnets"],
                     key=lambda s: s["ip_version"])
    assert [(s["name"], s["ip_version"], s["subnetpool_id"]) for s in subnets] == [
        ("auto_allocated_subnet_v4", 4, deployment["pools"][4]["id"]),
        ("auto_allocated_subnet_v6", 6, deployment["pools"][6]["id"])]
    assert ipaddress.ip_network(subnets[0]["cidr"]).subnet_of(ipaddress.ip_network(V4_POOL))
    assert ipaddress.ip_network(subnets[0]["cidr"]).prefixlen == 26
    [router] = owned(user, "routers", project, "auto_allocated_router")
    assert router["external_gateway_info"]["network_id"] == deployment["ext"]["id"]
    interfaces = user.get(f"ports?device_id={router['id']}"
                          "&device_owner=network:router_interface").json()["ports"]
    assert sorted(ip["subnet_id"] for p in interfaces for ip in p["fixed_ips"]) == sorted(
        s["id"] for s in subnets)
    # Later calls (also as "None": the caller's project, and by an admin) return it.
    assert topology_of(user, project) == topology
    assert topology_of(user, "None") == topology
    assert topology_of(admin, project) == topology
    assert len(owned(admin, "networks", project, "auto_allocated_network")) == 1
    assert len(owned(admin, "routers", project, "auto_allocated_router")) == 1
    # The dry-run does not look at an existing topology.
    assert topology_of(user, project, "?fields=dry-run")["id"] == "dry-run=pass"


def test_other_projects_and_policy(fresh: Api, deployment: dict) -> None:
    admin = fresh
    user, project = member_of(admin)
    stranger, _ = member_of(admin)
    assert_error(stranger.get(f"auto-allocated-topology/{project}"), 403,
                 "NotAuthorized", "Not authorized.")
    assert_error(stranger.delete(f"auto-allocated-topology/{project}"), 403,
                 "NotAuthorized", "Not authorized.")
    assert owned(admin, "networks", project, "auto_allocated_network") == []
    topology = topology_of(user, project)
    reader = admin.as_project(project, ["reader"])
    assert topology_of(reader, project) == topology
    assert_error(reader.delete(f"auto-allocated-topology/{project}"), 403,
                 "PolicyNotAuthorized")
    assert user.delete(f"auto-allocated-topology/{project}").status_code == 204


def test_delete_removes_everything(fresh: Api, deployment: dict) -> None:
    admin = fresh
    user, project = member_of(admin)
    first = topology_of(user, project)
    [router] = owned(admin, "routers", project, "auto_allocated_router")
    response = user.delete(f"auto-allocated-topology/{project}")
    assert response.status_code == 204 and response.content == b""
    assert user.get(f"networks/{first['id']}").status_code == 404
    assert user.get(f"routers/{router['id']}").status_code == 404
    assert admin.get(f"subnets?project_id={project}").json()["subnets"] == []
    assert admin.get(f"ports?network_id={deployment['ext']['id']}"
                     f"&device_id={router['id']}").json()["ports"] == []
    # Nothing left to delete: still 204. A new GET builds a new topology.
    assert user.delete(f"auto-allocated-topology/{project}").status_code == 204
    second = topology_of(user, project)
    assert second["id"] != first["id"]
    assert admin.delete(f"auto-allocated-topology/{project}").status_code == 204
    assert admin.get(f"networks?project_id={project}").json()["networks"] == []


def test_router_failure_leaves_nothing(fresh: Api, deployment: dict) -> None:
    """A default external network with no address left: the gateway cannot be made
    (upstream passes that error through: only a BadRequest becomes
    AutoAllocationFailure). A network without subnets would not do: upstream makes
    the gateway without an address."""
    admin = fresh
    user, project = member_of(admin)
    bare = admin.network(name="bare-public", **{"router:external": True})
    admin.subnet(bare["id"], "192.0.2.0/30", enable_dhcp=False,
                 allocation_pools=[{"start": "192.0.2.2", "end": "192.0.2.2"}])
    taken = admin.port(bare["id"])
    try:
        admin.put(f"networks/{deployment['ext']['id']}", {"network": {"is_default": False}})
        admin.put(f"networks/{bare['id']}", {"network": {"is_default": True}})
        assert_error(user.get(f"auto-allocated-topology/{project}"), 409,
                     "IpAddressGenerationFailure",
                     f"No more IP addresses available on network {bare['id']}.")
    finally:
        admin.put(f"networks/{bare['id']}", {"network": {"is_default": False}})
        admin.put(f"networks/{deployment['ext']['id']}", {"network": {"is_default": True}})
        admin.delete(f"ports/{taken['id']}")
        admin.delete(f"networks/{bare['id']}")
    assert admin.get(f"networks?project_id={project}").json()["networks"] == []
    assert admin.get(f"routers?project_id={project}").json()["routers"] == []
    assert topology_of(user, project)["id"]


def test_concurrent_first_requests_make_one_topology(fresh: Api, deployment: dict
                                                      ) -> None:
    admin = fresh
    user, project = member_of(admin)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: user.get(f"auto-allocated-topology/{project}"),
                                range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    ids = {a.json()["auto_allocated_topology"]["id"] for a in answers}
    assert len(ids) == 1
    assert [n["id"] for n in owned(admin, "networks", project,
                                   "auto_allocated_network")] == list(ids)
    assert len(owned(admin, "routers", project, "auto_allocated_router")) == 1
    assert len(admin.get(f"subnets?project_id={project}").json()["subnets"]) == 2


def test_openstacksdk(fresh: Api, deployment: dict) -> None:
    project = f"p-{uuid.uuid4().hex}"
    conn = openstack.connect(auth_type="none", auth={"endpoint": fresh.base_url})
    try:
        validated = conn.network.validate_auto_allocated_topology(project)
        assert validated.id == "dry-run=pass"
        topology = conn.network.get_auto_allocated_topology(project)
        assert topology.project_id == project
        network = conn.network.get_network(topology.id)
        assert network.name == "auto_allocated_network" and network.project_id == project
        assert conn.network.get_auto_allocated_topology(project).id == topology.id
        conn.network.delete_auto_allocated_topology(project)
        assert conn.network.find_network(topology.id) is None
    finally:
        conn.close()
    assert "auto-allocated-topology" in [
        e["alias"] for e in fresh.get("extensions").json()["extensions"]]
