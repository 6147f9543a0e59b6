"""The RPC servers' metrics (rpc/metrics.py): calls through a real oslo.messaging RPC
server (in-process fake:// transport) to instrumented endpoints, counted by method
and outcome and timed; the dispatcher still finds methods, targets and versions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest
from oslo_config import cfg
from prometheus_client import CollectorRegistry

from neutrino.contract import bus
from neutrino.rpc import metrics


class Endpoint:
    target = oslo_messaging.Target(version="1.5")

    def echo(self, context: Any, value: int) -> int:
        return value

    def fail(self, context: Any) -> None:
        raise ValueError("refused")


@pytest.fixture()
def client() -> Iterator[Any]:
    conf = cfg.ConfigOpts()
    bus.register_opts(conf)  # transport_url: fake://, the in-process bus
    conf(args=[], default_config_files=[])
    transport = bus.get_transport(conf)
    topic = f"metrics-test-{os.urandom(4).hex()}"
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic=topic, server="s"),
        metrics.instrument(topic, [Endpoint()]))
    server.start()
    try:
        yield oslo_messaging.get_rpc_client(
            transport, oslo_messaging.Target(topic=topic, version="1.5"), timeout=10), topic
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


def test_calls_counted_by_outcome_and_timed(client: Any) -> None:
    rpc, topic = client
    registry = CollectorRegistry()
    metrics.register(registry)
    worker = str(os.getpid())

    def count(method: str, outcome: str) -> float:
        return registry.get_sample_value(
            "neutrino_rpc_requests_total",
            {"worker": worker, "topic": topic, "method": method,
             "outcome": outcome}) or 0.0

    assert rpc.call({}, "echo", value=7) == 7
    assert rpc.call({}, "echo", value=8) == 8
    # (The in-process driver raises the error itself; a broker, a RemoteError.)
    with pytest.raises((ValueError, oslo_messaging.RemoteError)):
        rpc.call({}, "fail")
    with pytest.raises(oslo_messaging.NoSuchMethod):
        rpc.call({}, "missing")  # not the endpoint's: not counted either
    assert count("echo", "ok") == 2
    assert count("fail", "error") == 1
    assert registry.get_sample_value(
        "neutrino_rpc_request_duration_seconds_count",
        {"worker": worker, "topic": topic, "method": "echo"}) == 2
    # A version the endpoint's target does not serve is refused as before.
    newer = rpc.prepare(version="2.0")
    with pytest.raises(oslo_messaging.UnsupportedVersion):
        newer.call({}, "echo", value=1)
