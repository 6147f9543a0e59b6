"""Warm an API worker before it takes its first request.

A fresh worker's first requests open its database connections, compile the
statements of each listing (SQLAlchemy caches them per process), read the policy
and import what is imported lazily: 15-30 ms more per kind of request on a quiet
host, but 200-600 ms right after a restart, when a resync storm of every agent
holds the CPUs and the database at the same moment (bench/scale.py: the slowest
requests of the storm were each worker's first ones). So each worker first asks
itself what clients ask most, as an admin and as a project member (the RBAC
filters compile differently), with the access log quiet, within a time budget:
a database that is down must not keep a worker from serving (it answers 503 then).
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

LOG = logging.getLogger("neutrino.api.warmup")
ACCESS_LOG = logging.getLogger("neutrino.api.access")

# What Nova, Horizon and the CLI ask most. Not security groups: a project's first
# look at them creates its default group, and a warm-up must change nothing.
COLLECTIONS = ("networks", "subnets", "ports", "routers", "floatingips")
# A project of its own: a member sees only what RBAC shares with it.
CALLERS: tuple[dict[str, str], ...] = (
    {"X-Roles": "admin"},
    {"X-Project-Id": "neutrino-warmup", "X-Roles": "member"},
)

App = Callable[..., Iterable[bytes]]


def warm(app: App, budget: float = 5.0) -> None:
    """Send the warm-up requests to `app` (the WSGI app inside any authentication
    middleware); wait at most `budget` seconds for them."""
    t0 = time.monotonic()
    done = threading.Event()
    counted: list[int] = []

    def run() -> None:
        try:
            counted.append(_requests(app))
        except Exception:  # noqa: BLE001 - warming is best effort; serving is not
            LOG.debug("API worker warm-up failed", exc_info=True)
        finally:
            done.set()

    level = ACCESS_LOG.level
    ACCESS_LOG.setLevel(logging.WARNING)
    try:
        threading.Thread(target=run, name="api-warmup", daemon=True).start()
        finished = done.wait(budget)
    finally:
        ACCESS_LOG.setLevel(level)
    if finished and counted:
        LOG.info("API worker warmed: %d requests in %.0f ms", counted[0],
                 1000 * (time.monotonic() - t0))
    else:
        LOG.warning("API worker warm-up %s after %.1f s; serving anyway",
                    "did not finish" if not finished else "failed",
                    time.monotonic() - t0)


def _requests(app: App) -> int:
    count = 0
    for headers in CALLERS:
        for collection in COLLECTIONS:
            status, body = _get(app, f"/v2.0/{collection}", "limit=1", headers)
            count += 1
            if status != 200:
                # The database is down or refuses: the rest would fail alike.
                raise RuntimeError(f"GET /v2.0/{collection}: {status}")
            items = body.get(collection) or []
            if collection == "networks" and items:
                network = items[0]["id"]
                _get(app, f"/v2.0/networks/{network}", "", headers)
                _get(app, "/v2.0/ports", f"network_id={network}", headers)
                _get(app, "/v2.0/ports", f"network_id={network}&limit=50", headers)
                count += 3
    return count


def _get(app: App, path: str, query: str, headers: dict[str, str]
         ) -> tuple[int, dict[str, Any]]:
    environ = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path,
        "QUERY_STRING": query, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        **{"HTTP_" + name.upper().replace("-", "_"): value
           for name, value in headers.items()},
    }
    answer: list[str] = []
    body = b"".join(app(environ, lambda status, _headers, *_: answer.append(status)))
    status = int(answer[0].split()[0]) if answer else 500
    try:
        return status, json.loads(body) if body else {}
    except ValueError:
        return status, {}
