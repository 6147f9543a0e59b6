"""What the server answers on the bus."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

import oslo_messaging
from sqlalchemy import select
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
        now = models.utcnow()
        row = session.scalars(
            select(models.Agent).where(models.Agent.agent_type == state["agent_type"],
                                       models.Agent.host == state["host"])
            .with_for_update()).first()
        configurations = json.dumps(state.get("configurations") or {}, sort_keys=True)
        if row is None:
            row = models.Agent(
                id=str(uuid.uuid4()), agent_type=state["agent_type"],
                host=state["host"], admin_state_up=True, created_at=now, started_at=now,
                heartbeat_timestamp=now)
            session.add(row)
            status = AGENT_NEW
            LOG.info("agent %s (%s on %s) registered", row.id, row.agent_type, row.host)
        else:
            down_since = now - dt.timedelta(seconds=self.agent_down_time)
            status = AGENT_REVIVED if row.heartbeat_timestamp < down_since else AGENT_ALIVE
            if status == AGENT_REVIVED:
                LOG.info("agent %s (%s on %s) is back", row.id, row.agent_type, row.host)
            if state.get("start_flag"):
                row.started_at = now
            row.heartbeat_timestamp = now
        row.binary = state["binary"]
        row.topic = state["topic"]
        row.configurations = configurations
        row.availability_zone = state.get("availability_zone")
        if state.get("resource_versions") is not None:
            row.resource_versions = json.dumps(state["resource_versions"], sort_keys=True)
        load = state.get("load")
        if isinstance(load, int):
            row.load = load
        session.flush()
        return status, row.id
