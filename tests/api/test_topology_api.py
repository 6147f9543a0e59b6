"""The topology page's server side (noauth, each backend): ``GET /topology`` (the static
page with its Content-Security-Policy) and ``GET /v2.0/neutrino/topology`` (the graph,
the policy, ETag and 304). The page drawn in a browser: tests/ui/test_topology_page.py;
with Keystone tokens: tests/api/test_keystone.py."""

from __future__ import annotations

import random
import uuid

from server import Api, assert_error

PATH = "/v2.0/neutrino/topology"


def test_the_page_is_one_static_document(api: Api) -> None:
    response = api.client.get("/topology", headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "script-src 'sha256-" in policy and "unsafe" not in policy
    assert "<svg id=\"topology\"" in response.text and "http" not in response.text.replace(
        'xmlns="http://www.w3.org/2000/svg"', "").replace('"http://www.w3.org/2000/svg"', "")


def test_a_projects_topology_with_its_etag(own_project_admin: Api) -> None:
    admin = own_project_admin
    project = admin.client.headers["X-Project-Id"]
    net = admin.network(name="topo-net")
    shared = admin.as_project(f"p-{uuid.uuid4().hex}", ["admin"]).network(
        name="topo-shared", shared=True)
    # No DHCP, and the ETag's checks before the router: other tests' agents (alive on
    # the shared server) may schedule either one meanwhile, a real change of the graph.
    subnet = admin.subnet(net["id"],
                          f"10.{random.randrange(256)}.{random.randrange(256)}.0/24",
                          enable_dhcp=False)
    port = admin.port(net["id"], name="topo-vm", **{"binding:host_id": "cmp-topology"})

    response = admin.get(f"{PATH}?project_id={project}")
    assert response.status_code == 200, response.text
    etag = response.headers["ETag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}'):
        again = admin.get(f"{PATH}?project_id={project}", headers={"If-None-Match": header})
        assert (again.status_code, again.content) == (304, b""), header
        assert again.headers["ETag"] == etag
    admin.put(f"/v2.0/ports/{port['id']}", {"port": {"name": "topo-vm-renamed"}})
    changed = admin.get(f"{PATH}?project_id={project}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "topo-vm-renamed" in changed.text

    router = admin.create("router", name="topo-r")
    assert admin.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                     {"subnet_id": subnet["id"]}).status_code == 200
    response = admin.get(f"{PATH}?project_id={project}")
    assert response.status_code == 200, response.text
    graph = response.json()["topology"]
    assert graph["project_id"] == project
    assert {(n["kind"], n["name"]) for n in graph["nodes"]} >= {
        ("network", "topo-net"), ("port", "topo-vm-renamed"), ("router", "topo-r")}
    assert {(e["kind"], e["from"], e["to"]) for e in graph["edges"]} >= {
        ("port", port["id"], net["id"]), ("interface", router["id"], net["id"])}
    ports = {n["id"]: n for n in graph["nodes"] if n["kind"] == "port"}
    assert ports[port["id"]]["host"] == "cmp-topology"

    # A project's member sees its own picture, fields by policy (no binding host), and
    # not another project's.
    member = admin.as_project(project, ["member"])
    mine = member.get(PATH).json()["topology"]
    # ... and what it may use of others' (a shared network; other tests' too, here).
    assert {n["id"] for n in mine["nodes"]} >= {n["id"] for n in graph["nodes"]}
    assert shared["id"] in {n["id"] for n in mine["nodes"]}
    assert shared["id"] not in {n["id"] for n in graph["nodes"]}
    assert {n["id"]: n for n in mine["nodes"]}[port["id"]]["host"] == ""
    other = f"p-{uuid.uuid4().hex}"
    assert_error(member.get(f"{PATH}?project_id={other}"), 403, "PolicyNotAuthorized")
    theirs = admin.as_project(other, ["member"]).get(PATH).json()["topology"]["nodes"]
    assert not {n["id"] for n in theirs} & {n["id"] for n in graph["nodes"]}


def test_bad_queries_are_400(own_project_admin: Api) -> None:
    for query in ("name=x", "project_id=a&project_id=b", "project_id="):
        response = own_project_admin.get(f"{PATH}?{query}")
        assert response.status_code == 400, (query, response.text)
        assert "NeutronError" in response.json()
