"""report_state on each database backend (the endpoint in process, the real
database): what a heartbeat writes and answers, the event it publishes, and its
cost: one statement for a known agent on PostgreSQL, two elsewhere, however many
agents there are (rpc/endpoints.py; every agent reports every few seconds)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, select, update

from backends import database
from neutrino import events
from neutrino.contract import topics
from neutrino.db import migrate, models
from neutrino.db.engine import Database
from neutrino.rpc import endpoints

A = models.Agent


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[Database]:
    with database(backend, tmp_path) as url:
        db = Database(url)
        migrate.upgrade(db)
        yield db
        db.engine.dispose()


def lb(host: str, **extra: object) -> dict:
    return {"agent_type": topics.AGENT_TYPE_LINUXBRIDGE,
            "binary": "neutrino-linuxbridge-agent", "topic": "N/A", "host": host,
            "configurations": {"devices": 3}, **extra}


def row(db: Database, host: str) -> A:
    return db.run(lambda s: s.scalars(select(A).where(A.host == host)).one(),
                  write=False)


def age(db: Database, host: str, seconds: int) -> None:
    """The agent's times moved `seconds` into the past (as if it reported then)."""
    past = models.utcnow() - dt.timedelta(seconds=seconds)
    db.run(lambda s: s.execute(update(A).where(A.host == host).values(
        heartbeat_timestamp=past, started_at=past, created_at=past)))


def test_reports_write_what_the_agent_says(db: Database) -> None:
    endpoint = endpoints.AgentStateEndpoint(db, 75)
    host = f"h-{uuid.uuid4().hex[:8]}"
    assert endpoint.report_state({}, agent_state={"agent_state": lb(
        host, start_flag=True, availability_zone="az1", load=4,
        resource_versions={"Port": "1.1"})}, time="x") == endpoints.AGENT_NEW
    first = row(db, host)
    assert (first.admin_state_up, first.availability_zone, first.load) == (True, "az1", 4)
    assert json.loads(first.resource_versions) == {"Port": "1.1"}
    assert first.created_at == first.started_at == first.heartbeat_timestamp

    age(db, host, 30)
    old = row(db, host)
    assert endpoint.report_state({}, agent_state=lb(
        host, configurations={"devices": 9}, binary="other-binary")) == \
        endpoints.AGENT_ALIVE
    now = row(db, host)
    assert now.id == first.id
    assert now.heartbeat_timestamp > old.heartbeat_timestamp
    # Without start_flag the start stays; created_at never moves.
    assert (now.started_at, now.created_at) == (old.started_at, old.created_at)
    assert json.loads(now.configurations) == {"devices": 9}
    assert now.binary == "other-binary"
    # Not said this time: the zone is cleared (the report replaces it), load and
    # resource versions kept.
    assert (now.availability_zone, now.load) == (None, 4)
    assert json.loads(now.resource_versions) == {"Port": "1.1"}

    age(db, host, 30)
    assert endpoint.report_state({}, agent_state=lb(host, start_flag=True)) == \
        endpoints.AGENT_ALIVE
    restarted = row(db, host)
    assert restarted.started_at == restarted.heartbeat_timestamp > now.started_at


def test_a_report_after_the_down_time_revives(db: Database) -> None:
    registry = events.Registry()
    seen: list[tuple[str, str, dict]] = []
    registry.subscribe(lambda r, e, p: seen.append((e, p.resource_id, p.metadata)),
                       "agent", events.AFTER_CREATE)
    registry.subscribe(lambda r, e, p: seen.append((e, p.resource_id, p.metadata)),
                       "agent", events.AFTER_UPDATE)
    endpoint = endpoints.AgentStateEndpoint(db, 75, registry)
    host = f"h-{uuid.uuid4().hex[:8]}"
    endpoint.report_state({}, agent_state=lb(host, start_flag=True))
    agent_id = row(db, host).id
    age(db, host, 60)  # within agent_down_time
    assert endpoint.report_state({}, agent_state=lb(host)) == endpoints.AGENT_ALIVE
    age(db, host, 120)  # beyond it
    assert endpoint.report_state({}, agent_state=lb(host)) == endpoints.AGENT_REVIVED
    assert endpoint.report_state({}, agent_state=lb(host)) == endpoints.AGENT_ALIVE
    assert [(e, i, m["status"], m["start_flag"]) for e, i, m in seen] == [
        (events.AFTER_CREATE, agent_id, "new", True),
        (events.AFTER_UPDATE, agent_id, "alive", False),
        (events.AFTER_UPDATE, agent_id, "revived", False),
        (events.AFTER_UPDATE, agent_id, "alive", False)]
    assert {m["host"] for _, _, m in seen} == {host}


def test_a_known_agents_report_is_one_statement_on_postgresql(
        db: Database, backend: str) -> None:
    endpoint = endpoints.AgentStateEndpoint(db, 75)
    hosts = [f"h-{uuid.uuid4().hex[:8]}" for _ in range(20)]
    for host in hosts:
        endpoint.report_state({}, agent_state=lb(host, start_flag=True))
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]).split(None, 1)[0].upper())
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for host in hosts:
            assert endpoint.report_state({}, agent_state=lb(host)) == \
                endpoints.AGENT_ALIVE
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # BEGIN / COMMIT are the driver's, not statements seen here (SQLite's BEGIN is
    # sent as one: dropped).
    statements = [s for s in statements if s != "BEGIN"]
    per_report = 1 if backend == "postgresql" else 2
    assert len(statements) == per_report * len(hosts), statements[:4]
    assert set(statements) == ({"UPDATE"} if backend == "postgresql"
                               else {"SELECT", "UPDATE"})
