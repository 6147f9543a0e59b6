"""An agent's Prometheus metrics (issue 15), prometheus_client's conventions: what its
main loop (loop.py) does, served as Prometheus text on ``[AGENT] metrics_port``
(``metrics_host``; 0, the default: not served).

* ``neutrino_agent_sync_duration_seconds`` (histogram): each sync, failed or not;
* ``neutrino_agent_syncs_total`` / ``neutrino_agent_sync_errors_total``;
* ``neutrino_agent_last_successful_sync_timestamp_seconds`` (0 until the first);
* ``neutrino_agent_devices``: what the agent manages now (taps, networks,
  routers: the agent's own count), when it keeps one.

Each agent has a registry of its own (not the process-global one): the all-in-one
runs several agents in one process, each with its own loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server

LOG = logging.getLogger(__name__)

SYNC_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class LoopMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.duration = Histogram("neutrino_agent_sync_duration_seconds",
                                  "Duration of the agent's syncs (desired state "
                                  "fetched and reconciled).", buckets=SYNC_BUCKETS,
                                  registry=self.registry)
        self.syncs = Counter("neutrino_agent_syncs", "Syncs the agent ran.",
                             registry=self.registry)
        self.errors = Counter("neutrino_agent_sync_errors", "Syncs that failed.",
                              registry=self.registry)
        self.last_success = Gauge("neutrino_agent_last_successful_sync_timestamp_seconds",
                                  "Unix time of the last sync that succeeded.",
                                  registry=self.registry)
        self.devices = Gauge("neutrino_agent_devices",
                             "Devices (ports, networks, routers) the agent manages.",
                             registry=self.registry)
        self._server: Any = None

    def observe(self, seconds: float, ok: bool) -> None:
        self.duration.observe(seconds)
        self.syncs.inc()
        if ok:
            self.last_success.set(time.time())
        else:
            self.errors.inc()

    def count_devices(self, devices: Callable[[], float]) -> None:
        """The devices gauge reads `devices()` at each scrape."""
        self.devices.set_function(devices)

    def serve(self, host: str, port: int) -> int:
        """Serve Prometheus text on host:port (0: any free port); the port bound."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        bound = int(server.server_address[1])
        LOG.info("metrics on http://%s:%d/metrics", host, bound)
        return bound

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
