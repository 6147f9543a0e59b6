"""An API worker warms itself before serving (api/warmup.py): the common requests
then find their statements compiled, and a database that is down or slow does not
keep the worker from serving. A core in this process on SQLite: SQLAlchemy's
statement cache is per engine, the same on every backend."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from falcon import testing
from sqlalchemy import event, select
from sqlalchemy.engine import default as engine_default

from neutrino import conf as conf_mod
from neutrino.api import warmup
from neutrino.api.app import create_app
from neutrino.core import build_core
from neutrino.db import migrate, models
from neutrino.db.engine import Database

MEMBER = {"X-Project-Id": uuid.uuid4().hex, "X-Roles": "member"}


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Any]:
    """Each call: a fresh core (a new engine: nothing compiled yet) on one database
    file, as a worker after a restart."""
    conf = conf_mod.new_conf([])
    conf.set_override("state_path", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'neutrino.sqlite'}"
    databases: list[Database] = []

    def make() -> tuple[Any, Database]:
        db = Database(url)
        databases.append(db)
        if len(databases) == 1:
            migrate.upgrade(db)
        return create_app(build_core(conf, db)), db

    yield make
    for db in databases:
        db.engine.dispose()


def compiled_during(db: Database, requests: Any) -> list[str]:
    """The statements compiled (not found in the engine's cache) while `requests` ran."""
    missed: list[str] = []

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
              executemany: bool) -> None:
        if context.cache_hit is engine_default.CACHE_MISS:
            missed.append(statement)

    event.listen(db.engine, "after_cursor_execute", after)
    try:
        requests()
    finally:
        event.remove(db.engine, "after_cursor_execute", after)
    return missed


def rows(db: Database) -> dict[str, list[tuple]]:
    with db.engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(select(table))), key=repr)
                for table in models.Base.metadata.sorted_tables}


def user_requests(client: testing.TestClient, network: str) -> None:
    for headers in ({}, MEMBER):
        assert client.simulate_get("/v2.0/ports", params={
            "network_id": network, "limit": 50}, headers=headers).status_code == 200
        assert client.simulate_get(f"/v2.0/networks/{network}",
                                   headers=headers).status_code == 200


def test_a_warmed_worker_compiles_nothing_for_the_common_requests(make_app: Any) -> None:
    app, _ = make_app()
    setup = testing.TestClient(app)
    network = setup.simulate_post("/v2.0/networks", json={"network": {
        "name": "warm", "shared": True}}).json["network"]["id"]
    setup.simulate_post("/v2.0/subnets", json={"subnet": {
        "network_id": network, "cidr": "10.9.0.0/24", "ip_version": 4}})
    setup.simulate_post("/v2.0/ports", json={"ports": [
        {"network_id": network} for _ in range(3)]})

    cold, cold_db = make_app()  # a restarted worker, not warmed: compiles on demand
    assert compiled_during(cold_db, lambda: user_requests(testing.TestClient(cold),
                                                          network))

    warm, warm_db = make_app()
    warmup.warm(warm)
    assert compiled_during(warm_db, lambda: user_requests(testing.TestClient(warm),
                                                          network)) == []


def test_the_warm_up_is_quiet_and_changes_nothing(make_app: Any,
                                                  caplog: pytest.LogCaptureFixture
                                                  ) -> None:
    app, db = make_app()
    client = testing.TestClient(app)
    client.simulate_post("/v2.0/networks", json={"network": {"name": "n"}})
    before = rows(db)
    with caplog.at_level(logging.INFO):
        warmup.warm(app)
    assert not [r for r in caplog.records if r.name == "neutrino.api.access"]
    assert any("API worker warmed" in r.getMessage() for r in caplog.records)
    # Nothing created (a project's first look at its security groups would create
    # its default group: not asked), nothing changed.
    assert rows(db) == before
    # The access log is back to its level once warm.
    with caplog.at_level(logging.INFO):
        client.simulate_get("/v2.0/networks")
    assert [r for r in caplog.records if r.name == "neutrino.api.access"]


def test_a_database_that_fails_stops_the_warm_up_at_once(
        caplog: pytest.LogCaptureFixture) -> None:
    asked: list[str] = []

    def unavailable(environ: dict, start_response: Any) -> list[bytes]:
        asked.append(environ["PATH_INFO"])
        start_response("503 Service Unavailable", [])
        return [b'{"NeutronError": {}}']

    with caplog.at_level(logging.WARNING):
        warmup.warm(unavailable)
    assert asked == ["/v2.0/networks"]
    assert any("warm-up failed" in r.getMessage() for r in caplog.records)


def test_a_database_that_hangs_does_not_keep_the_worker_from_serving(
        caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    entered = threading.Event()

    def hanging(environ: dict, start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(30)
        start_response("200 OK", [])
        return [b"{}"]

    try:
        with caplog.at_level(logging.WARNING):
            warmup.warm(hanging, budget=0.2)
        # Returned while the request still hangs: the worker goes on to serve.
        assert entered.is_set() and not release.is_set()
        assert any("did not finish" in r.getMessage() for r in caplog.records)
    finally:
        release.set()
