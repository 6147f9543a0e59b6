"""No existence oracle between projects (issue 18): what project B cannot read
answers as a random id does (404, the same error type), whether B names it in a
floating IP association or as a router's gateway network."""

from __future__ import annotations

import uuid

import httpx
import pytest

from server import Api, error_of

pytestmark = pytest.mark.backends


def project(api: Api, roles: list[str] | None = None) -> Api:
    return api.as_project(f"oracle-{uuid.uuid4().hex[:12]}", roles or ["member"])


def same_answer(hidden: httpx.Response, random: httpx.Response, hidden_id: str,
                random_id: str) -> None:
    """Both 404 with the same error, the ids aside."""
    assert hidden.status_code == 404, hidden.text
    assert random.status_code == 404, random.text
    a, b = error_of(hidden), error_of(random)
    assert a["type"] == b["type"], (a, b)
    assert a["message"].replace(hidden_id, "ID") == b["message"].replace(random_id, "ID")



@pytest.fixture
def api(own_project_admin: Api) -> Api:
    """Admin in a project of its own: these tests keep what they create, and the
    shared server's default admin project has quotas like any other."""
    return own_project_admin

@pytest.fixture
def world(api: Api) -> dict:
    """An external network (admin), project A's network/subnet/port, and project B
    with a floating IP and a router of its own."""
    ext = api.network(name="oracle-ext", **{"router:external": True})
    api.subnet(ext["id"], f"203.0.{uuid.uuid4().int % 200}.0/24")
    a, b = project(api), project(api)
    net = a.network(name="a-private")
    a.subnet(net["id"], "10.61.0.0/24")
    port = a.port(net["id"], name="a-port")
    fip = b.create("floatingip", floating_network_id=ext["id"])
    router = b.create("router", name="b-router")
    return {"ext": ext, "a": a, "b": b, "net": net, "port": port, "fip": fip,
            "router": router}


def test_floating_ip_on_another_projects_port_is_not_found(world: dict) -> None:
    b, port, ext = world["b"], world["port"], world["ext"]
    random_id = str(uuid.uuid4())
    # Association by update ...
    hidden = b.put(f"floatingips/{world['fip']['id']}",
                   {"floatingip": {"port_id": port["id"]}})
    random = b.put(f"floatingips/{world['fip']['id']}",
                   {"floatingip": {"port_id": random_id}})
    same_answer(hidden, random, port["id"], random_id)
    # ... and at create.
    hidden = b.post("floatingips", {"floatingip": {"floating_network_id": ext["id"],
                                                   "port_id": port["id"]}})
    random = b.post("floatingips", {"floatingip": {"floating_network_id": ext["id"],
                                                   "port_id": random_id}})
    same_answer(hidden, random, port["id"], random_id)
    fips = b.get("floatingips").json()["floatingips"]
    assert [f["id"] for f in fips] == [world["fip"]["id"]]
    assert fips[0]["port_id"] is None


def test_floating_ip_port_of_a_network_owner_is_still_told_apart(api: Api) -> None:
    """The owner of the network sees the port on it: for it the port exists, and the
    answer says why it cannot be used (upstream's 400), as before."""
    ext = api.network(name="oracle-ext2", **{"router:external": True})
    api.subnet(ext["id"], f"203.1.{uuid.uuid4().int % 200}.0/24")
    owner = project(api)
    net = owner.network(name="owner-net", shared=False)
    owner.subnet(net["id"], "10.62.0.0/24")
    other_port = api.port(net["id"], project_id="someone-else", name="admin-made")
    response = owner.post("floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "port_id": other_port["id"]}})
    assert response.status_code == 400, response.text
    assert "owned by a different tenant" in error_of(response)["message"]


def test_router_gateway_on_another_projects_network_is_not_found(world: dict) -> None:
    b, net = world["b"], world["net"]
    random_id = str(uuid.uuid4())
    for make in (
        lambda n: b.post("routers", {"router": {"external_gateway_info":
                                                {"network_id": n}}}),
        lambda n: b.put(f"routers/{world['router']['id']}",
                        {"router": {"external_gateway_info": {"network_id": n}}}),
    ):
        same_answer(make(net["id"]), make(random_id), net["id"], random_id)
    router = b.get(f"routers/{world['router']['id']}").json()["router"]
    assert router["external_gateway_info"] is None
    assert len(b.get("routers").json()["routers"]) == 1
