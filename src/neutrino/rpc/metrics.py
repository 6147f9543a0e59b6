"""The RPC servers' Prometheus metrics (issue 15): every call the agents make on the
server's topics, counted and timed where it is served — an API worker with
``rpc_workers = 0``, else each RPC worker process.

* ``neutrino_rpc_requests_total{worker,topic,method,outcome}`` (``ok``, ``error``);
* ``neutrino_rpc_request_duration_seconds{worker,topic,method}`` (histogram).

The counters are the process's (module-level, like prometheus_client's own default
registry): a process serves one set of RPC servers, and ``worker`` (the pid) tells
the processes apart. api/metrics.py serves them beside the API's metrics, on the API
worker's or the RPC worker's own port (cmd/rpc_workers.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# Registered in no registry here: api/metrics.py adds them to each registry it serves.
REQUESTS = Counter("neutrino_rpc_requests", "RPC calls and casts served.",
                   ["worker", "topic", "method", "outcome"], registry=None)
DURATION = Histogram("neutrino_rpc_request_duration_seconds",
                     "Time to serve an RPC call or cast.", ["worker", "topic", "method"],
                     buckets=BUCKETS, registry=None)


def register(registry: CollectorRegistry) -> None:
    registry.register(REQUESTS)
    registry.register(DURATION)


class TimedEndpoint:
    """An endpoint whose public methods are counted and timed; everything else
    (``target``, attributes oslo.messaging's dispatcher reads) is the endpoint's."""

    def __init__(self, endpoint: Any, topic: str) -> None:
        self._endpoint = endpoint
        self._topic = topic

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._endpoint, name)
        if name.startswith(("_", "oslo_")) or name == "target" or not callable(attr):
            return attr
        return self._timed(name, attr)

    def _timed(self, method: str, func: Callable[..., Any]) -> Callable[..., Any]:
        topic = self._topic

        def timed(ctxt: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            outcome = "error"
            try:
                result = func(ctxt, **kwargs)
                outcome = "ok"
                return result
            finally:
                worker = str(os.getpid())
                REQUESTS.labels(worker, topic, method, outcome).inc()
                DURATION.labels(worker, topic, method).observe(time.monotonic() - started)
        return timed


def instrument(topic: str, endpoints: list[Any]) -> list[Any]:
    return [TimedEndpoint(endpoint, topic) for endpoint in endpoints]
