"""An agent's Prometheus metrics (issue 15): the real AgentLoop running a sync that
fails once, then succeeds, its metrics served on a real listener and scraped."""

from __future__ import annotations

import threading
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from neutrino.agent.common.loop import AgentLoop


def scrape(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {s.name + (f"{{le={s.labels['le']}}}" if "le" in s.labels else ""): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_sync_durations_errors_last_success_and_devices() -> None:
    calls = []
    done = threading.Event()

    def sync() -> None:
        calls.append(time.time())
        if len(calls) == 1:
            raise RuntimeError("first sync fails")
        done.set()

    loop = AgentLoop(sync, None, report_interval=0, resync_interval=60,
                     polling_interval=0.1)
    loop.metrics.count_devices(lambda: 7.0)
    port = loop.metrics.serve("127.0.0.1", 0)
    try:
        started = time.time()
        loop.start()
        assert done.wait(30), "the retried sync never ran"
        deadline = time.monotonic() + 10
        while (found := scrape(port)).get("neutrino_agent_syncs_total") != 2:
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
    finally:
        loop.stop()
        loop.metrics.stop()
    assert found["neutrino_agent_sync_errors_total"] == 1
    assert found["neutrino_agent_sync_duration_seconds_count"] == 2
    assert found["neutrino_agent_sync_duration_seconds_bucket{le=+Inf}"] == 2
    assert started <= found["neutrino_agent_last_successful_sync_timestamp_seconds"] \
        <= time.time()
    assert found["neutrino_agent_devices"] == 7


def test_no_success_yet_is_zero() -> None:
    loop = AgentLoop(lambda: None, None, report_interval=0, resync_interval=60,
                     polling_interval=0.1)
    port = loop.metrics.serve("127.0.0.1", 0)
    try:
        found = scrape(port)
    finally:
        loop.metrics.stop()
    assert found["neutrino_agent_last_successful_sync_timestamp_seconds"] == 0
    assert found["neutrino_agent_syncs_total"] == 0


def test_agent_binary_serves_on_its_configured_port() -> None:
    """run_until_signalled's helper: [AGENT] metrics_port from the agent's own
    configuration, and its device count."""
    from oslo_config import cfg

    from neutrino.agent.common import config
    from neutrino.agent.common.service import serve_metrics

    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf(args=[], project="neutrino", default_config_files=[])

    class Agent:
        def __init__(self) -> None:
            self.conf = conf
            self.loop = AgentLoop(lambda: None, None, 0, 60, 0.1)
            self.devices = 3

    agent = Agent()
    serve_metrics(agent)  # type: ignore[arg-type]
    assert agent.loop.metrics._server is None  # default: not served
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf.set_override("metrics_port", port, "AGENT")
    serve_metrics(agent)  # type: ignore[arg-type]
    try:
        assert scrape(port)["neutrino_agent_devices"] == 3
    finally:
        agent.loop.metrics.stop()
