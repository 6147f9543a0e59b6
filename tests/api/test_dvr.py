"""dvr: `distributed` on routers (admin-only; default from router_distributed),
router-admin-state-down-before-update (changing it needs the router down before
and after the request), and where distributed routers may be hosted (never on
legacy L3 agents: without dvr_snat agents they stay unscheduled, as upstream)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backends import database
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
from rpc_helpers import l3_state
from server import Api, ServerProcess, assert_error

ACTIVE_ROUTER = ("Bad router request: Cannot change the 'distributed' attribute of "
                 "active routers. Please set router admin_state_up to False prior to "
                 "upgrade.")


@pytest.fixture
def admin(own_project_admin: Api) -> Api:
    return own_project_admin


@pytest.fixture
def member(admin: Api) -> Api:
    return admin.as_project(f"p-{uuid.uuid4().hex}", ["member"])


def router(api: Api, **attrs: object) -> dict:
    return api.create("router", **attrs)


def put(api: Api, router_id: str, **attrs: object) -> object:
    return api.put(f"routers/{router_id}", {"router": attrs})


@pytest.mark.parametrize("alias", ["dvr", "router-admin-state-down-before-update"])
def test_extensions_listed(admin: Api, alias: str) -> None:
    assert admin.get(f"extensions/{alias}").status_code == 200


def test_admin_creates_distributed_and_centralized(admin: Api) -> None:
    assert router(admin)["distributed"] is False
    assert router(admin, distributed=None)["distributed"] is False
    dvr = router(admin, distributed=True)
    assert dvr["distributed"] is True
    assert admin.get(f"routers/{dvr['id']}").json()["router"]["distributed"] is True
    assert router(admin, distributed=False)["distributed"] is False
    listed = admin.get("routers", params={"distributed": "True", "id": dvr["id"]})
    assert [r["id"] for r in listed.json()["routers"]] == [dvr["id"]]
    assert_error(admin.post("routers", {"router": {"distributed": "maybe"}}), 400,
                 "InvalidInput")


def test_member_neither_sets_nor_sees_it(admin: Api, member: Api) -> None:
    for value in (True, False):
        response = member.post("routers", {"router": {"distributed": value}})
        assert_error(response, 403, "PolicyNotAuthorized")
    own = router(member)
    assert "distributed" not in own
    assert "distributed" not in member.get(f"routers/{own['id']}").json()["router"]
    assert admin.get(f"routers/{own['id']}").json()["router"]["distributed"] is False
    assert_error(put(member, own["id"], distributed=True), 403, "PolicyNotAuthorized")


def test_change_needs_the_router_down(admin: Api) -> None:
    r = router(admin, distributed=False)
    assert_error(put(admin, r["id"], distributed=True), 400, "BadRequest", ACTIVE_ROUTER)
    # Down in the same request is not enough: it must be down before.
    assert_error(put(admin, r["id"], distributed=True, admin_state_up=False), 400,
                 "BadRequest", ACTIVE_ROUTER)
    shown = admin.get(f"routers/{r['id']}").json()["router"]
    assert (shown["distributed"], shown["admin_state_up"]) == (False, True)
    assert put(admin, r["id"], admin_state_up=False).status_code == 200
    # ...and it must stay down in the request.
    assert_error(put(admin, r["id"], distributed=True, admin_state_up=True), 400,
                 "BadRequest", ACTIVE_ROUTER)
    response = put(admin, r["id"], distributed=True)
    assert response.status_code == 200, response.text
    assert response.json()["router"]["distributed"] is True
    # The same value, or null, is no change, whatever the state.
    assert put(admin, r["id"], admin_state_up=True).status_code == 200
    assert put(admin, r["id"], distributed=True).status_code == 200
    assert put(admin, r["id"], distributed=None).status_code == 200
    assert_error(put(admin, r["id"], distributed=False), 400, "BadRequest", ACTIVE_ROUTER)
    assert put(admin, r["id"], admin_state_up=False).status_code == 200
    back = put(admin, r["id"], distributed=False)
    assert back.status_code == 200 and back.json()["router"]["distributed"] is False


# -- where distributed routers live --------------------------------------------------------

@pytest.fixture
def report(server_db: Database) -> Callable[[dict], str]:
    endpoint = AgentStateEndpoint(server_db, 75)

    def run(state: dict) -> str:
        endpoint.report_state({}, agent_state={"agent_state": state})
        return server_db.run(lambda s: s.scalars(select(models.Agent.id).where(
            models.Agent.host == state["host"],
            models.Agent.agent_type == state["agent_type"])).one())
    return run


def agent_state(zone: str, mode: str | None = None) -> dict:
    state = l3_state(f"l3-{uuid.uuid4().hex[:8]}", zone)
    if mode is not None:
        state["configurations"] = {"agent_mode": mode}
    return state


def hosts(api: Api, router_id: str) -> list[str]:
    response = api.get(f"routers/{router_id}/l3-agents")
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["agents"]]


def test_legacy_agents_never_host_distributed_routers(admin: Api,
                                                      report: Callable[[dict], str]
                                                      ) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    legacy = report(agent_state(zone))
    dvr = router(admin, distributed=True, availability_zone_hints=[zone])
    assert dvr["availability_zones"] == [] and hosts(admin, dvr["id"]) == []
    assert_error(admin.post(f"agents/{legacy}/l3-routers", {"router_id": dvr["id"]}),
                 409, "RouterL3AgentMismatch",
                 f"Cannot host distributed router {dvr['id']} on legacy L3 agent "
                 f"{legacy}.")
    centralized = router(admin, availability_zone_hints=[zone])
    assert hosts(admin, centralized["id"]) == [legacy]
    # Migrating it leaves the legacy agent; back to centralized, it is hosted again.
    assert put(admin, centralized["id"], admin_state_up=False).status_code == 200
    assert put(admin, centralized["id"], distributed=True).status_code == 200
    assert hosts(admin, centralized["id"]) == []
    assert put(admin, centralized["id"], distributed=False).status_code == 200
    assert hosts(admin, centralized["id"]) == [legacy]


def test_dvr_snat_agents_host_both(admin: Api, report: Callable[[dict], str]) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    snat = report(agent_state(zone, "dvr_snat"))
    compute = report(agent_state(zone, "dvr"))
    dvr = router(admin, distributed=True, availability_zone_hints=[zone])
    assert hosts(admin, dvr["id"]) == [snat]
    legacy = router(admin, availability_zone_hints=[zone])
    assert hosts(admin, legacy["id"]) == [snat]
    assert_error(admin.post(f"agents/{compute}/l3-routers", {"router_id": legacy["id"]}),
                 409, "DVRL3CannotAssignToDvrAgent")


# -- router_distributed ------------------------------------------------------------------

@pytest.fixture
def dvr_default_server(backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    with database(backend, tmp_path) as url, \
            ServerProcess(tmp_path, url, extra_conf="router_distributed = true\n") as proc:
        yield proc


def test_router_distributed_option(dvr_default_server: ServerProcess) -> None:
    api = Api(dvr_default_server.url)
    assert router(api)["distributed"] is True
    assert router(api, distributed=None)["distributed"] is True
    assert router(api, distributed=False)["distributed"] is False
    member = api.as_project("p-dvr-default", ["member"])
    assert "distributed" not in router(member)
    assert router(member)["id"] and api.get("routers", params={
        "project_id": "p-dvr-default"}).json()["routers"][0]["distributed"] is True
