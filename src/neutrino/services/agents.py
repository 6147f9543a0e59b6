"""Agents and availability zones: what the agents' state reports recorded.

An agent is alive while its last report is at most ``agent_down_time`` seconds old.
A dead agent is logged once per process, when a read or the server's periodic
check (`note_liveness`, run by neutrino.services.dhcp_scheduler) first finds it dead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
from typing import Any

from sqlalchemy import case, false, func, select, true
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.contract import topics
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.resources import validators as v
from neutrino.resources.agent import AGENT, AgentNotFound
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

LOG = logging.getLogger(__name__)
A = models.Agent
COLUMNS = {
    "id": A.id, "agent_type": A.agent_type, "binary": A.binary, "topic": A.topic,
    "host": A.host, "admin_state_up": A.admin_state_up, "created_at": A.created_at,
    "started_at": A.started_at, "heartbeat_timestamp": A.heartbeat_timestamp,
    "description": A.description, "availability_zone": A.availability_zone,
}
# Availability zones come from the agents that serve a kind of resource.
AZ_RESOURCES = {topics.AGENT_TYPE_DHCP: "network", topics.AGENT_TYPE_L3: "router"}


def fmt_agent_time(value: dt.datetime | None) -> str | None:
    """Agents' timestamps as upstream shows them: ``2026-11-26 16:00:00``."""
    return None if value is None else value.replace(microsecond=0).isoformat(" ")


class AgentService:
    resource = AGENT
    model = A

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._dead: set[str] = set()  # agents already logged as down
        self._lock = threading.Lock()

    @property
    def down_time(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.deps.conf.agent_down_time)

    def _cutoff(self) -> dt.datetime:
        return models.utcnow() - self.down_time

    def alive_clause(self) -> Any:
        """SQL condition: the agent reported within agent_down_time (alive)."""
        return A.heartbeat_timestamp >= self._cutoff()

    def _sort_columns(self) -> dict[str, Any]:
        """COLUMNS plus ``alive`` as a value (agent_sort_key sorts on it too)."""
        return dict(COLUMNS, alive=case((self.alive_clause(), true()), else_=false()))

    def note_liveness(self) -> list[dict]:
        """Look at every agent: log each one once when it goes down (the periodic
        check of the server; reads log too). Returns the agents as shown by the API."""
        def run(session: Session) -> list[dict]:
            return self.to_dicts(list(session.scalars(select(A))))
        return self.deps.db.run(run, write=False)

    # -- reads ---------------------------------------------------------------

    def get(self, ctx: Context, agent_id: str) -> dict:
        def run(session: Session) -> dict:
            row = session.get(A, agent_id)
            if row is None:
                raise AgentNotFound(id=agent_id)
            return self.to_dicts([row])[0]
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        # agent_type matches without regard to case: upstream's MySQL collation does
        # so, and clients rely on it (tempest asks for "DHCP Agent").
        filters = dict(query.filters)
        types = filters.pop("agent_type", None)
        clauses = filter_clauses(A, dataclasses.replace(query, filters=filters), COLUMNS,
                                 self._sub_filter)
        if types is not None:
            clauses.append(func.lower(A.agent_type).in_([str(t).lower() for t in types])
                           if types else false())

        def run(session: Session) -> list[dict]:
            stmt = select(A).where(*clauses)
            rows = fetch_page(session, stmt, query, self._sort_columns(), A,
                              lambda i: AgentNotFound(id=i))
            return self.to_dicts(rows)
        return self.deps.db.run(run, write=False)

    def _sub_filter(self, name: str, pairs: list[tuple[str, str]]) -> Any:
        if name != "alive":
            raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")
        wanted = {v.to_boolean(value) for _, value in pairs}
        if wanted == {True}:
            return self.alive_clause()
        if wanted == {False}:
            return ~self.alive_clause()
        return true() if wanted else false()

    def to_dicts(self, rows: list[A]) -> list[dict]:
        cutoff = self._cutoff()
        out = []
        for row in rows:
            alive = row.heartbeat_timestamp >= cutoff
            self._note_liveness(row, alive)
            try:
                configurations = json.loads(row.configurations or "{}")
            except ValueError:
                configurations = {}
            out.append({
                "id": row.id, "agent_type": row.agent_type, "binary": row.binary,
                "topic": row.topic, "host": row.host,
                "admin_state_up": row.admin_state_up,
                "created_at": fmt_agent_time(row.created_at),
                "started_at": fmt_agent_time(row.started_at),
                "heartbeat_timestamp": fmt_agent_time(row.heartbeat_timestamp),
                "alive": alive, "configurations": configurations,
                "description": row.description,
                "availability_zone": row.availability_zone,
                "resources_synced": row.resources_synced,
            })
        return out

    def _note_liveness(self, row: A, alive: bool) -> None:
        with self._lock:
            if alive:
                self._dead.discard(row.id)
                return
            if row.id in self._dead:
                return
            self._dead.add(row.id)
        LOG.warning("agent %s (%s on %s) is down since %s (no report for more than %ss)",
                    row.id, row.agent_type, row.host,
                    fmt_agent_time(row.heartbeat_timestamp),
                    self.deps.conf.agent_down_time)

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize) -> list[dict]:
        # Agents appear by reporting their state, never through the API (upstream).
        raise exc.BadRequest(resource="agent", msg="agents are created by their state "
                             "reports, not through the API")

    def update(self, ctx: Context, agent_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = session.get(A, agent_id, with_for_update=True)
            if row is None:
                raise AgentNotFound(id=agent_id)
            for key in ("admin_state_up", "description"):
                if key in data:
                    setattr(row, key, data[key])
            session.flush()
            return self.to_dicts([row])[0]
        return self.deps.db.run(run)

    def delete(self, ctx: Context, agent_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = session.get(A, agent_id, with_for_update=True)
            if row is None:
                raise AgentNotFound(id=agent_id)
            session.delete(row)
        self.deps.db.run(run)
        with self._lock:
            self._dead.discard(agent_id)

    # -- availability zones ----------------------------------------------------

    def availability_zones(self) -> list[dict]:
        """{name, resource, state}: DHCP agents' zones for networks, L3 agents' for
        routers; available when an agent there is administratively up (upstream)."""
        def run(session: Session) -> list[tuple]:
            return list(session.execute(
                select(A.availability_zone, A.agent_type, A.admin_state_up)
                .where(A.availability_zone.is_not(None),
                       A.agent_type.in_(list(AZ_RESOURCES)))).all())
        zones: dict[tuple[str, str], bool] = {}
        for name, agent_type, up in self.deps.db.run(run, write=False):
            if not name:
                continue
            key = (name, AZ_RESOURCES[agent_type])
            zones[key] = zones.get(key, False) or bool(up)
        return [{"name": name, "resource": resource,
                 "state": "available" if up else "unavailable"}
                for (name, resource), up in sorted(zones.items())]
