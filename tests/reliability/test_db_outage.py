"""The database gone: stopped (connections reset, new ones refused) or black-holed
(connections held, nothing answered). A TCP proxy the test controls stands between
the server and a private database.

Expected: 503 with Retry-After, never a 500 or a hang longer than the configured
bounds; one log line when the outage starts and one when it ends (per worker), not a
traceback per request; recovery without a restart. Before: every request 500 with a
traceback each (stopped), and requests hung as long as the black hole lasted.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from faults_fixtures import (
    TcpProxy,
    host_port,
    log_lines,
    own_server,
    wait_for,
    with_host_port,
)

from backends import selected_backends, unavailable
from server import Api, ServerProcess

CONNECT_TIMEOUT, TRANSACTION_TIMEOUT, POOL_TIMEOUT = 2, 3, 3
# The longest a request may take while the database is black-holed: its
# transaction's bound, then one connection attempt (PostgreSQL: connect_timeout;
# MariaDB: the handshake read is bounded by the transaction's bound), and slack for
# a loaded machine.
HANG_BOUND = 2 * TRANSACTION_TIMEOUT + CONNECT_TIMEOUT + 4
OUTAGE_FOR = 4.0  # seconds of requests during each outage


@pytest.fixture(params=[b for b in selected_backends() if b != "sqlite"] or ["none"])
def outage_server(request: pytest.FixtureRequest, tmp_path: Path):
    backend = request.param
    if backend == "none":
        unavailable("database outages need PostgreSQL or MariaDB (NEUTRINO_TEST_BACKENDS)")
    proxies: list[TcpProxy] = []

    def through_proxy(url: str) -> str:
        proxies.append(TcpProxy(host_port(url)))
        return with_host_port(url, proxies[0].port)

    conf = (f"[database]\nconnect_timeout = {CONNECT_TIMEOUT}\n"
            f"transaction_timeout = {TRANSACTION_TIMEOUT}\npool_timeout = {POOL_TIMEOUT}")
    try:
        with own_server(backend, tmp_path, extra_conf=conf, url_of=through_proxy) as server:
            yield backend, server, proxies[0]
    finally:
        for proxy in proxies:
            proxy.stop()


def _get(api: Api) -> tuple[int, float, httpx.Response | None]:
    started = time.monotonic()
    try:
        response = api.get("networks", timeout=60)
    except httpx.HTTPError:
        return -1, time.monotonic() - started, None
    return response.status_code, time.monotonic() - started, response


def _through_outage(api: Api, cut: callable, proxy: TcpProxy) -> dict:  # type: ignore[valid-type]
    """Cut the database, request for OUTAGE_FOR seconds, restore it; timings."""
    statuses: Counter[int] = Counter()
    slowest = 0.0
    cut()
    cut_at = time.monotonic()
    first_503: float | None = None
    while time.monotonic() - cut_at < OUTAGE_FOR or first_503 is None:
        status, took, response = _get(api)
        statuses[status] += 1
        slowest = max(slowest, took)
        if status == 503:
            assert response is not None
            assert response.headers.get("Retry-After", "").isdigit()
            assert response.json()["NeutronError"]["type"] == "DatabaseUnavailable"
            if first_503 is None:
                first_503 = time.monotonic() - cut_at
        assert time.monotonic() - cut_at < 60, "no 503 within a minute"
    proxy.forward()
    back_at = time.monotonic()
    wait_for(lambda: _get(api)[0] == 200, 30, "the API to answer again")
    return {"statuses": statuses, "first_503_s": round(first_503, 2),
            "recovery_s": round(time.monotonic() - back_at, 2), "slowest_s": round(slowest, 2)}


def test_database_stopped_and_black_holed(outage_server: tuple[str, ServerProcess,
                                                                TcpProxy]) -> None:
    backend, server, proxy = outage_server
    api = Api(server.url, backend=backend)
    assert api.post("networks", {"network": {"name": "before"}}).status_code == 201

    stopped = _through_outage(api, proxy.refuse, proxy)
    print(f"{backend} stopped: {stopped}")
    assert set(stopped["statuses"]) == {503}, stopped
    assert stopped["slowest_s"] < HANG_BOUND

    black = _through_outage(api, proxy.blackhole, proxy)
    print(f"{backend} black-holed: {black}")
    assert set(black["statuses"]) <= {503}, black
    assert black["slowest_s"] < HANG_BOUND, black

    # Writes work again, and the data from before is there.
    assert api.post("networks", {"network": {"name": "after"}}).status_code == 201
    names = {n["name"] for n in api.get("networks").json()["networks"]}
    assert {"before", "after"} <= names
    # One line per change of state (one worker), no traceback per request.
    assert len(log_lines(server, "unavailable, answering 503")) == 2
    assert len(log_lines(server, "available again after")) == 2
    assert log_lines(server, "Traceback") == []
