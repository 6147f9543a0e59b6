"""What GET /v2.0/neutrino/status reports when a dependency does not answer
(neutrino.services.health against real, closed ports): unreachable with the reason,
quickly, and never the broker's or database's password."""

from __future__ import annotations

import time

from neutrino import conf as conf_mod
from neutrino.db.engine import Database
from neutrino.services import health
from server import free_port


def test_broker_down_is_reported_without_its_password() -> None:
    conf = conf_mod.new_conf([])
    dead = free_port()
    conf.set_override("transport_url", f"rabbit://guest:s3cret@127.0.0.1:{dead}/")
    started = time.monotonic()
    status = health.bus_status(conf)
    assert time.monotonic() - started < 3 * health.BUS_TIMEOUT
    assert status["driver"] == "rabbit" and status["hosts"] == [f"127.0.0.1:{dead}"]
    assert status["reachable"] is False
    assert status["error"].startswith(f"127.0.0.1:{dead}: ")
    assert "s3cret" not in repr(status)


def test_in_process_bus() -> None:
    status = health.bus_status(conf_mod.new_conf([]))
    assert status["driver"] == "fake" and status["reachable"] is True


def test_database_down_is_reported_without_its_password() -> None:
    dead = free_port()
    db = Database(f"postgresql+psycopg://neutrino:s3cret@127.0.0.1:{dead}/neutrino",
                  max_retries=0)
    try:
        status = health.database_status(db)
    finally:
        db.engine.dispose()
    assert status["backend"] == "postgresql" and status["reachable"] is False
    assert status["error"].startswith("OperationalError")
    assert "s3cret" not in repr(status)


def test_database_up(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/fresh.db")
    try:
        status = health.database_status(db)
    finally:
        db.engine.dispose()
    # Reachable, but no schema yet: the operator is told it is not current.
    assert status["reachable"] is True and status["schema"] is None
    assert status["schema_current"] is False
