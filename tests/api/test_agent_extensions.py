"""agent_sort_key (agents sortable on every attribute of the agent extension but
configurations, alive included), agent-resources-synced (resources_synced, null
without Placement) and availability_zone_filter (name, resource, state filters on
/v2.0/availability_zones)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
from rpc_helpers import dhcp_state, l3_state
from server import Api, assert_error


@pytest.fixture
def report(server_db: Database) -> Callable[[dict], str]:
    """Reports an agent's state through the real endpoint; returns its id."""
    endpoint = AgentStateEndpoint(server_db, 75)

    def run(state: dict) -> str:
        endpoint.report_state({}, agent_state={"agent_state": state})
        return server_db.run(lambda s: s.scalars(select(models.Agent.id).where(
            models.Agent.host == state["host"],
            models.Agent.agent_type == state["agent_type"])).one())
    return run


def host() -> str:
    return f"h-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("alias", ["agent_sort_key", "agent-resources-synced",
                                   "availability_zone_filter"])
def test_extensions_listed(api: Api, alias: str) -> None:
    assert api.get(f"extensions/{alias}").status_code == 200


def test_resources_synced_is_null_without_placement(api: Api,
                                                    report: Callable[[dict], str]) -> None:
    agent_id = report(dhcp_state(host()))
    shown = api.get(f"agents/{agent_id}").json()["agent"]
    assert "resources_synced" in shown and shown["resources_synced"] is None
    listed = api.get("agents", params={"id": agent_id,
                                       "fields": "resources_synced"}).json()["agents"]
    assert listed == [{"resources_synced": None}]
    response = api.put(f"agents/{agent_id}", {"agent": {"resources_synced": True}})
    assert_error(response, 400, "HTTPBadRequest")
    assert_error(api.get("agents", params={"resources_synced": "True"}), 400,
                 "HTTPBadRequest")


def _ids(api: Api, ours: set[str], **params: str) -> list[str]:
    response = api.get("agents", params=params)
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["agents"] if a["id"] in ours]


@pytest.mark.parametrize("key", ["id", "agent_type", "binary", "topic", "host",
                                 "admin_state_up", "created_at", "started_at",
                                 "heartbeat_timestamp", "alive", "description"])
def test_sort_keys(api: Api, report: Callable[[dict], str], key: str) -> None:
    ours = {report(dhcp_state(host())), report(l3_state(host()))}
    agents = [a for a in api.get("agents").json()["agents"] if a["id"] in ours]
    for direction in ("asc", "desc"):
        got = _ids(api, ours, sort_key=key, sort_dir=direction)
        assert sorted(got) == sorted(ours)
        values = [next(a for a in agents if a["id"] == i)[key] for i in got]
        ordered = sorted(values, key=lambda x: (x is not None, x),
                         reverse=direction == "desc")
        assert values == ordered


def test_sort_by_alive_and_paginate(api: Api, server_db: Database,
                                    report: Callable[[dict], str]) -> None:
    dead, alive = report(dhcp_state(host())), report(dhcp_state(host()))
    long_ago = dt.datetime(2020, 1, 1)
    server_db.run(lambda s: s.execute(update(models.Agent).where(
        models.Agent.id == dead).values(heartbeat_timestamp=long_ago)))
    ours = {dead, alive}
    assert _ids(api, ours, sort_key="alive", sort_dir="asc") == [dead, alive]
    assert _ids(api, ours, sort_key="alive", sort_dir="desc") == [alive, dead]
    # Keyset pages over the computed key: every agent exactly once.
    seen: list[str] = []
    marker = None
    while True:
        params = {"sort_key": "alive", "sort_dir": "asc", "limit": "2"}
        if marker:
            params["marker"] = marker
        page = api.get("agents", params=params).json()["agents"]
        if not page:
            break
        seen += [a["id"] for a in page]
        marker = page[-1]["id"]
    assert len(seen) == len(set(seen)) and ours <= set(seen)


@pytest.mark.parametrize("key", ["configurations", "availability_zone",
                                 "resources_synced"])
def test_not_sort_keys(api: Api, key: str) -> None:
    assert_error(api.get("agents", params={"sort_key": key, "sort_dir": "asc"}), 400,
                 "HTTPBadRequest", f"['{key}'] is invalid attribute for sort_keys")


def test_availability_zone_filters(api: Api, report: Callable[[dict], str]) -> None:
    zone1, zone2 = f"az-{uuid.uuid4().hex[:8]}", f"az-{uuid.uuid4().hex[:8]}"
    report(dhcp_state(host(), zone1))
    report(l3_state(host(), zone1))
    down = report(dhcp_state(host(), zone2))
    assert api.put(f"agents/{down}",
                   {"agent": {"admin_state_up": False}}).status_code == 200

    def zones(**params: str) -> set[tuple[str, str, str]]:
        response = api.get("availability_zones", params=params)
        assert response.status_code == 200, response.text
        return {(z["name"], z["resource"], z["state"])
                for z in response.json()["availability_zones"]
                if z["name"] in (zone1, zone2)}

    everything = {(zone1, "network", "available"), (zone1, "router", "available"),
                  (zone2, "network", "unavailable")}
    assert zones() == everything
    assert zones(name=zone1) == {z for z in everything if z[0] == zone1}
    assert zones(resource="router") == {(zone1, "router", "available")}
    assert zones(state="unavailable") == {(zone2, "network", "unavailable")}
    assert zones(name=zone2, state="available") == set()
    assert zones(resource="network", state="available") == {
        (zone1, "network", "available")}
    response = api.get("availability_zones", params={"name": zone1, "fields": "state"})
    assert {tuple(z) for z in response.json()["availability_zones"]} == {("state",)}
    assert_error(api.get("availability_zones", params={"colour": "blue"}), 400,
                 "HTTPBadRequest")
