"""The server's Prometheus metrics (issue 15): a real neutrino-server with
``[metrics] listen_port``, scraped over HTTP and parsed with prometheus_client's own
parser; with two API workers, each on its own port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from backends import database
from server import Api, ServerProcess, free_port


def scrape(port: int) -> dict[str, list]:
    """name -> [(sample name, labels, value)]"""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {f.name: [(s.name, s.labels, s.value) for s in f.samples]
            for f in text_string_to_metric_families(text)}


def value(found: dict[str, list], family: str, sample: str, **labels: str) -> float:
    return sum(v for n, lab, v in found.get(family, [])
               if n == sample and all(lab.get(k) == x for k, x in labels.items()))


@pytest.fixture(scope="module")
def metrics_server(backend: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[ServerProcess, int]]:
    state = tmp_path_factory.mktemp(f"metrics-{backend}")
    port = free_port()
    with database(backend, state) as url, ServerProcess(
            state, url, extra_conf=f"[metrics]\nlisten_port = {port}\n") as proc:
        yield proc, port


def test_requests_latency_pool_and_backlogs(metrics_server: tuple[ServerProcess, int]
                                            ) -> None:
    proc, port = metrics_server
    api = Api(proc.url)
    before = scrape(port)
    net = api.network(name="metered")
    assert api.get(f"/v2.0/networks/{net['id']}").status_code == 200
    assert api.get("/v2.0/networks/00000000-0000-0000-0000-000000000000"
                   ).status_code == 404
    after = scrape(port)
    family = "neutrino_api_requests"
    for method, status, grew in (("POST", "201", 1), ("GET", "200", 1), ("GET", "404", 1)):
        delta = (value(after, family, family + "_total", resource="networks",
                       method=method, status=status)
                 - value(before, family, family + "_total", resource="networks",
                         method=method, status=status))
        assert delta == grew, (method, status)
    hist = "neutrino_api_request_duration_seconds"
    count = value(after, hist, hist + "_count", resource="networks", method="GET")
    assert count >= 2
    assert value(after, hist, hist + "_bucket", resource="networks", method="GET",
                 le="+Inf") == count
    # no ids as labels: one series per collection
    assert not [lab for _, lab, _ in after[family] if net["id"] in str(lab)]
    assert value(after, "neutrino_db_pool_size", "neutrino_db_pool_size") >= 1
    for notifier in ("agents", "notifications", "nova"):
        assert [v for n, lab, v in after["neutrino_notifier_backlog"]
                if lab["notifier"] == notifier] == [0.0]
    # The API's port does not serve the metrics.
    assert api.get("/metrics").status_code == 404


def test_metrics_off_by_default(server: ServerProcess) -> None:
    text = server.config.read_text()
    assert "[metrics]" not in text
    assert "metrics of worker" not in server.log.read_text()


def test_each_worker_on_its_own_port(tmp_path: Path) -> None:
    """Two API workers: two listeners, port and port + 1, each with its pid."""
    port = free_port()
    while True:  # port + 1 free too (checked, not assumed)
        try:
            httpx.get(f"http://127.0.0.1:{port + 1}/", timeout=0.5)
        except httpx.ConnectError:
            break
        port = free_port()
    with ServerProcess(tmp_path, f"sqlite:///{tmp_path / 'n.sqlite'}", workers=2,
                       extra_conf=f"[metrics]\nlisten_port = {port}\n") as proc:
        workers: set[str] = set()
        deadline = time.monotonic() + 30
        while len(workers) < 2:
            assert time.monotonic() < deadline, proc.log.read_text()[-2000:]
            workers = set()
            for p in (port, port + 1):
                try:
                    found = scrape(p)
                except httpx.HTTPError:
                    continue
                workers |= {lab["worker"] for _, lab, _ in found["neutrino_db_pool_size"]}
            time.sleep(0.2)
        assert len(workers) == 2
