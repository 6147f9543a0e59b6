"""What `GET /v2.0/neutrino/status` reports: this server's version and whether the
database and the message bus answer. Read-only, admin-only (policy
``get_neutrino_status``); used by ``neutrino status``.

Nothing secret leaves: the bus is described by its driver and hosts, never by its
URL (which carries the broker's password)."""

from __future__ import annotations

import importlib.metadata
import time
from typing import Any

from oslo_config import cfg
from sqlalchemy import text

from neutrino import exceptions as exc
from neutrino.contract import bus
from neutrino.db import migrate
from neutrino.db.engine import Database

# A status check must answer quickly even when a dependency hangs.
BUS_TIMEOUT = 3.0


def version() -> str:
    try:
        return importlib.metadata.version("neutrino")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "unknown"


def database_status(db: Database) -> dict[str, Any]:
    started = time.monotonic()
    backend = db.engine.dialect.name
    try:
        db.run(lambda s: s.execute(text("SELECT 1")).scalar(), write=False)
        schema, expected = migrate.current(db), migrate.head(db)
    except Exception as error:  # noqa: BLE001 - any failure is "unreachable", told why
        if isinstance(error, exc.DatabaseUnavailable) and error.__cause__ is not None:
            error = error.__cause__  # the driver's reason, not the API's 503 text
        return {"backend": backend, "reachable": False, "error": _short(error)}
    return {"backend": backend, "reachable": True, "schema": schema,
            "schema_current": schema == expected,
            "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def bus_status(conf: cfg.ConfigOpts) -> dict[str, Any]:
    url = str(conf.transport_url or "")
    if bus.is_in_process(conf):
        return {"driver": "fake", "hosts": [], "reachable": True,
                "detail": "in-process bus: reaches this server process only"}
    import oslo_messaging
    parsed = oslo_messaging.TransportURL.parse(conf, url)
    hosts = [f"{h.hostname}:{h.port or 5672}" for h in parsed.hosts]
    out: dict[str, Any] = {"driver": parsed.transport, "hosts": hosts}
    if parsed.transport not in ("rabbit", "amqp", "kombu"):
        return {**out, "reachable": None, "detail": "no check for this driver"}
    errors = []
    for host in parsed.hosts:
        error = _amqp_check(host, parsed.virtual_host)
        if error is None:
            return {**out, "reachable": True}
        errors.append(f"{host.hostname}:{host.port or 5672}: {error}")
    return {**out, "reachable": False, "error": "; ".join(errors)}


def _amqp_check(host: Any, virtual_host: str | None) -> str | None:
    """None when an AMQP connection (with the configured credentials) opens."""
    import kombu
    connection = kombu.Connection(
        hostname=host.hostname, port=host.port or 5672, userid=host.username,
        password=host.password, virtual_host=virtual_host or "/",
        connect_timeout=BUS_TIMEOUT)
    try:
        connection.ensure_connection(max_retries=1, timeout=BUS_TIMEOUT)
        return None
    except Exception as error:  # noqa: BLE001 - reported, not raised
        return _short(error)
    finally:
        connection.release()


def status(conf: cfg.ConfigOpts, db: Database) -> dict[str, Any]:
    return {"version": version(), "host": conf.host, "api_workers": conf.api_workers,
            "auth_strategy": conf.auth_strategy, "database": database_status(db),
            "bus": bus_status(conf)}


def _short(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
