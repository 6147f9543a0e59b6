"""The server's Prometheus metrics (issue 15), on a listener of their own
(``[metrics] listen_port``, ``listen_host``; off by default), never on the API's
port: scraping needs no token and shows nothing of any project.

* ``neutrino_api_requests_total{resource,method,status}`` and
  ``neutrino_api_request_duration_seconds{resource,method}`` (histogram);
  ``resource`` is the route's collection (``networks``, ``routers``...), not the URL,
  so ids never become labels;
* ``neutrino_db_pool_connections{state}`` (checked_out, idle, overflow) and
  ``neutrino_db_pool_size``: the worker's SQLAlchemy pool;
* ``neutrino_notifier_backlog{notifier}``: what waits to be sent (``agents``: the
  casts to the agents, i.e. the bus queue; ``notifications``: the notification bus;
  ``nova``: port events to Nova), and ``neutrino_notifier_dropped_total``;
* ``neutrino_rpc_requests_total`` and ``neutrino_rpc_request_duration_seconds``: the
  RPC calls the process served (rpc/metrics.py);
* ``neutrino_bus_queue_messages{queue}`` / ``neutrino_bus_queue_consumers{queue}``
  with ``[metrics] broker_queues`` on RabbitMQ: the server's queues (rpc/queues.py).

Several API workers (gunicorn processes): each serves its own metrics, on the first
free port of ``listen_port`` .. ``listen_port + api_workers - 1``, with a ``worker``
label (its pid) on every sample; scrape them all (prometheus_client's multiprocess
mode would need its directory set before any import and gives up gauges' meaning
per process, which is what the pool and backlog are). Each RPC worker process
(``rpc_workers``) serves the same on ``listen_port + api_workers + <its index>``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import falcon
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

from neutrino.rpc import metrics as rpc_metrics
from neutrino.rpc import queues as rpc_queues

LOG = logging.getLogger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def resource_of(template: str | None) -> str:
    """The collection a route serves: ``/v2.0/networks/{resource_id}`` -> networks;
    sub-resources keep their parent (``routers/add_router_interface``)."""
    if not template:
        return "unmatched"
    parts = [p for p in template.split("/") if p and not p.startswith("{")]
    if parts and parts[0] == "v2.0":
        parts = parts[1:]
    return "/".join(parts[:2]) or "root"


class _RuntimeCollector(Collector):
    """Read at each scrape: the pool and the notifiers' queues."""

    def __init__(self, core: Any, worker: str) -> None:
        self.core = core
        self.worker = worker

    def collect(self) -> Iterator[Any]:
        pool = self.core.db.engine.pool
        labels = ["worker"]
        size = GaugeMetricFamily("neutrino_db_pool_size",
                                 "Connections the worker's pool keeps.", labels=labels)
        conns = GaugeMetricFamily("neutrino_db_pool_connections",
                                  "The worker's database connections by state.",
                                  labels=["worker", "state"])
        stats = {name: getattr(pool, name, None) for name in ("size", "checkedout",
                                                               "checkedin", "overflow")}
        if all(callable(v) for v in stats.values()):
            size.add_metric([self.worker], stats["size"]())  # type: ignore[misc]
            conns.add_metric([self.worker, "checked_out"],
                             stats["checkedout"]())  # type: ignore[misc]
            conns.add_metric([self.worker, "idle"], stats["checkedin"]())  # type: ignore[misc]
            conns.add_metric([self.worker, "overflow"],
                             max(stats["overflow"](), 0))  # type: ignore[misc]
        yield size
        yield conns
        backlog = GaugeMetricFamily("neutrino_notifier_backlog",
                                    "Messages queued and not sent yet.",
                                    labels=["worker", "notifier"])
        dropped = CounterMetricFamily("neutrino_notifier_dropped",
                                      "Messages dropped (queue full, or given up).",
                                      labels=["worker", "notifier"])
        for name, notifier in (("agents", self.core.notifier),
                               ("notifications", self.core.notifications),
                               ("nova", self.core.nova_notifier)):
            backlog.add_metric([self.worker, name], notifier.backlog)
            dropped.add_metric([self.worker, name], notifier.dropped)
        yield backlog
        yield dropped


class _QueueCollector(Collector):
    """Read at each scrape (cached by QueueDepths): the server's queues on RabbitMQ."""

    def __init__(self, depths: rpc_queues.QueueDepths) -> None:
        self.depths = depths

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("neutrino_bus_queue_messages",
                                  "Messages waiting in the server's queue on the broker.",
                                  labels=["queue"]),
                GaugeMetricFamily("neutrino_bus_queue_consumers",
                                  "Consumers of the server's queue on the broker.",
                                  labels=["queue"]))

    def describe(self) -> Iterator[Any]:
        # Without it, registering calls collect(): a reading at start-up, before the
        # RPC servers consume, cached for the next `ttl` seconds of scrapes.
        yield from self._families()

    def collect(self) -> Iterator[Any]:
        messages, consumers = self._families()
        for name, (waiting, consuming) in sorted(self.depths.read().items()):
            messages.add_metric([name], waiting)
            consumers.add_metric([name], consuming)
        yield messages
        yield consumers


class ServerMetrics:
    """The registry, the requests' falcon middleware, and the listener."""

    def __init__(self, core: Any) -> None:
        self.worker = str(os.getpid())
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("neutrino_api_requests", "API requests answered.",
                                ["worker", "resource", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("neutrino_api_request_duration_seconds",
                                 "Time to answer an API request.",
                                 ["worker", "resource", "method"], buckets=BUCKETS,
                                 registry=self.registry)
        self.registry.register(_RuntimeCollector(core, self.worker))
        # The RPC calls this process serves (rpc/metrics.py): an API worker's with
        # rpc_workers = 0, an RPC worker's own (cmd/rpc_workers.py serves them).
        rpc_metrics.register(self.registry)
        depths = (rpc_queues.for_server(core.conf, core.notifications.enabled)
                  if core.conf.metrics.broker_queues else None)
        if depths is not None:
            self.registry.register(_QueueCollector(depths))
        self._server: Any = None
        self.port: int | None = None

    # falcon middleware: last in the chain, so its response is the one sent.
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.monotonic()

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, req_succeeded: bool) -> None:
        started = req.context.get("metrics_started")
        if started is None:
            return
        status = str(resp.status).split()[0] if not isinstance(resp.status, int) \
            else str(resp.status)
        name = resource_of(req.uri_template)
        self.requests.labels(self.worker, name, req.method, status).inc()
        self.latency.labels(self.worker, name, req.method).observe(
            time.monotonic() - started)

    def serve(self, host: str, port: int, tries: int = 1) -> int | None:
        """Listen on the first free port of port .. port + tries - 1."""
        for candidate in range(port, port + max(tries, 1)):
            try:
                server, _thread = start_http_server(candidate, addr=host,
                                                    registry=self.registry)
            except OSError:
                continue
            self._server, self.port = server, candidate
            LOG.info("metrics of worker %s on http://%s:%d/metrics", self.worker, host,
                     candidate)
            return candidate
        LOG.error("no free metrics port in %d..%d: this worker's metrics are not "
                  "served", port, port + tries - 1)
        return None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
