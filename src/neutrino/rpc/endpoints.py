"""What the server answers on the bus."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

import oslo_messaging
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.db import models
from neutrino.db.engine import Database

LOG = logging.getLogger(__name__)

# report_state's answers (upstream's): first report, a regular one, the first after
# the agent was down.
AGENT_NEW = "new"
AGENT_ALIVE = "alive"
AGENT_REVIVED = "revived"

REQUIRED = ("agent_type", "binary", "host", "topic")


class AgentStateEndpoint:
    """``report_state`` on topic q-reports-plugin: an agent's heartbeat.

    The first report of an (agent_type, host) creates the agent (admin_state_up
    true); every report refreshes heartbeat_timestamp and what the agent says of
    itself (binary, topic, configurations, availability_zone, load); a report with
    ``start_flag`` (the agent just started) also sets started_at.
    """

    target = oslo_messaging.Target(version="1.0")

    def __init__(self, db: Database, agent_down_time: int,
                 registry: events.Registry | None = None) -> None:
        self.db = db
        self.agent_down_time = agent_down_time
        # After commit, ("agent", AFTER_CREATE | AFTER_UPDATE) with metadata
        # agent_type, host, status, start_flag: DHCP scheduling listens.
        self.registry = registry

    def report_state(self, context: Any, **kwargs: Any) -> str:
        state = kwargs.get("agent_state") or {}
        # Upstream agents send {"agent_state": {"agent_state": {...}}, "time": ...}.
        if isinstance(state.get("agent_state"), dict):
            state = state["agent_state"]
        missing = [k for k in REQUIRED if not state.get(k)]
        if missing:
            LOG.warning("state report without %s ignored: %r", ", ".join(missing), state)
            return "invalid"
        status, agent_id = self.db.run(lambda s: self._upsert(s, state))
        if self.registry is not None:
            event = events.AFTER_CREATE if status == AGENT_NEW else events.AFTER_UPDATE
            self.registry.publish("agent", event, events.Payload(
                context, agent_id, metadata={
                    "agent_type": state["agent_type"], "host": state["host"],
                    "status": status, "start_flag": bool(state.get("start_flag"))}))
        return status

    def _upsert(self, session: Session, state: dict) -> tuple[str, str]:
        """One statement for a known agent on PostgreSQL (its UPDATE returns the
        previous heartbeat), two elsewhere; no ORM objects: every agent reports every
        few seconds, so this is the server's most frequent write."""
        now = models.utcnow()
        values: dict[str, Any] = {
            "binary": state["binary"], "topic": state["topic"],
            "configurations": json.dumps(state.get("configurations") or {},
                                         sort_keys=True),
            "availability_zone": state.get("availability_zone"),
            "heartbeat_timestamp": now}
        if state.get("start_flag"):
            values["started_at"] = now
        if state.get("resource_versions") is not None:
            values["resource_versions"] = json.dumps(state["resource_versions"],
                                                     sort_keys=True)
        load = state.get("load")
        if isinstance(load, int):
            values["load"] = load
        found = _refresh(session, state["agent_type"], state["host"], values)
        if found is None:
            agent_id = str(uuid.uuid4())
            session.execute(insert(AGENTS).values({
                **values, "id": agent_id, "agent_type": state["agent_type"],
                "host": state["host"], "admin_state_up": True, "created_at": now,
                "started_at": now}))
            LOG.info("agent %s (%s on %s) registered", agent_id, state["agent_type"],
                     state["host"])
            return AGENT_NEW, agent_id
        agent_id, previous = found
        down_since = now - dt.timedelta(seconds=self.agent_down_time)
        if previous is not None and previous >= down_since:
            return AGENT_ALIVE, agent_id
        LOG.info("agent %s (%s on %s) is back", agent_id, state["agent_type"],
                 state["host"])
        return AGENT_REVIVED, agent_id


AGENTS = models.Agent.__table__


def _refresh(session: Session, agent_type: str, host: str, values: dict[str, Any]
             ) -> tuple[str, dt.datetime | None] | None:
    """Write `values` on the agent's row: (its id, its heartbeat before), None when
    there is no such agent. The row is locked, so two reports of one agent see each
    other's heartbeat, as the ORM's SELECT ... FOR UPDATE did."""
    mine = (AGENTS.c.agent_type == agent_type) & (AGENTS.c.host == host)
    if session.get_bind().dialect.name == "postgresql":
        # FROM a locked subquery: RETURNING then sees the row as it was before.
        prev = (select(AGENTS.c.id, AGENTS.c.heartbeat_timestamp).where(mine)
                .with_for_update().subquery("prev"))
        row = session.execute(
            update(AGENTS).where(AGENTS.c.id == prev.c.id).values(values)
            .returning(AGENTS.c.id, prev.c.heartbeat_timestamp)).first()
        return (row[0], row[1]) if row is not None else None
    # MariaDB has no UPDATE ... RETURNING; SQLite's may not name the FROM table.
    row = session.execute(select(AGENTS.c.id, AGENTS.c.heartbeat_timestamp)
                          .where(mine).with_for_update()).first()
    if row is None:
        return None
    session.execute(update(AGENTS).where(AGENTS.c.id == row[0]).values(values))
    return row[0], row[1]
