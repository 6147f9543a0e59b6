"""The RPC server inside the API process.

One RPC server per API worker process (started by the worker after the fork, in
``Server.load``): every worker consumes the same topic queues, so RabbitMQ spreads the
calls over them; with the in-process ``fake://`` bus a worker reaches only itself,
which is why several workers need RabbitMQ.

Starting never blocks or fails the API: the listener is set up in a background
thread; while the broker is down oslo.messaging logs and keeps reconnecting.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import oslo_messaging
from oslo_config import cfg

from neutrino.contract import bus as transport
from neutrino.contract import topics
from neutrino.contract.l3 import FIREWALL_PLUGIN, VPN_PLUGIN
from neutrino.contract.lbaas import LBAAS_PLUGIN
from neutrino.contract.metering import METERING_PLUGIN
from neutrino.db.engine import Database
from neutrino.rpc import metrics
from neutrino.rpc.agent_endpoints import AgentEndpoint
from neutrino.rpc.deps import ServerServices
from neutrino.rpc.endpoints import AgentStateEndpoint
from neutrino.rpc.fwaas_endpoints import FirewallEndpoint
from neutrino.rpc.l2_endpoints import L2Endpoint
from neutrino.rpc.l3_endpoints import L3Endpoint
from neutrino.rpc.lbaas_endpoints import LbaasEndpoint
from neutrino.rpc.metadata_endpoints import MetadataEndpoint
from neutrino.rpc.metering_endpoints import MeteringEndpoint
from neutrino.rpc.vpnaas_endpoints import VpnEndpoint

LOG = logging.getLogger(__name__)


class RpcService:
    """RPC servers for a set of topics, each with its endpoints."""

    def __init__(self, conf: cfg.ConfigOpts, endpoints: dict[str, list[Any]],
                 rpc_transport: oslo_messaging.Transport | None = None,
                 host: str | None = None) -> None:
        self.conf = conf
        self.transport = rpc_transport or transport.get_transport(conf)
        self.host = host or conf.host
        self.endpoints = endpoints
        self.servers: list[Any] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> RpcService:
        self._thread = threading.Thread(target=self._start_servers, name="rpc-server",
                                        daemon=True)
        self._thread.start()
        return self

    def _start_servers(self) -> None:
        for topic, endpoints in self.endpoints.items():
            if self._stopping.is_set():
                return
            target = oslo_messaging.Target(topic=topic, server=self.host)
            # The threading executor (oslo.messaging's default, and soon its only one).
            # Counted and timed (rpc/metrics.py, issue 15).
            server = oslo_messaging.get_rpc_server(self.transport, target,
                                                   metrics.instrument(topic, endpoints))
            try:
                server.start()  # with the broker down this waits, reconnecting
            except Exception:  # noqa: BLE001 - keep serving the API whatever happens
                LOG.exception("RPC server on topic %s did not start", topic)
                continue
            self.servers.append(server)
            LOG.info("RPC server listening on topic %s (server %s)", topic, self.host)

    def wait_started(self, timeout: float) -> bool:
        """True once every topic's server started (tests, all-in-one)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return len(self.servers) == len(self.endpoints)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()

        def stop_one(server: Any) -> None:
            try:
                server.stop()
                server.wait()
            except Exception:  # noqa: BLE001 - best effort at exit
                LOG.debug("RPC server stop failed", exc_info=True)

        def stop_all() -> None:
            # In parallel: on RabbitMQ a server that has served calls takes about a
            # second to stop (its listener's poll), one after another 3 s per worker.
            stoppers = [threading.Thread(target=stop_one, args=(server,), daemon=True)
                        for server in list(self.servers)]
            for thread in stoppers:
                thread.start()
            for thread in stoppers:
                thread.join()
        stopper = threading.Thread(target=stop_all, daemon=True)
        stopper.start()
        stopper.join(timeout)
        if not self.in_process:
            # A transport to a broker that is down may never finish: don't wait.
            closer = threading.Thread(target=self.transport.cleanup, daemon=True)
            closer.start()
            closer.join(timeout)

    @property
    def in_process(self) -> bool:
        return transport.is_in_process(self.conf)


def endpoints_for(conf: cfg.ConfigOpts, db: Database,
                  core: ServerServices | None = None) -> dict[str, list[Any]]:
    """The server's endpoints per topic; the agents' q-plugin calls need the
    server's services (`core`: the ports, the event registry) so their changes
    publish events as an API request's do. Without them: state reports only."""
    registry = core.events if core is not None else None
    endpoints: dict[str, list[Any]] = {
        topics.REPORTS: [AgentStateEndpoint(db, conf.agent_down_time, registry)]}
    if core is not None:
        endpoints.setdefault(topics.PLUGIN, []).append(L2Endpoint(core))
        endpoints[topics.PLUGIN].append(AgentEndpoint(core))
        endpoints[topics.PLUGIN].append(L3Endpoint(core))
        endpoints[topics.PLUGIN].append(MetadataEndpoint(core))
        # Metering (issue 14): the metering agents' own topic, as upstream.
        endpoints[METERING_PLUGIN] = [MeteringEndpoint(core)]
        # Load balancing (issue 16), when enabled: the load balancer agents' topic.
        lbaas = getattr(core, "lbaas", None)
        if lbaas is not None:
            endpoints[LBAAS_PLUGIN] = [LbaasEndpoint(lbaas)]
        # FWaaS v2 (issue 16): the groups' statuses, with its service plugin.
        fwaas = getattr(core, "fwaas", None)
        if fwaas is not None:
            endpoints[FIREWALL_PLUGIN] = [FirewallEndpoint(fwaas.groups)]
        # VPNaaS (issue 16): the services' and connections' statuses, likewise.
        vpnaas = getattr(core, "vpnaas", None)
        if vpnaas is not None:
            endpoints[VPN_PLUGIN] = [VpnEndpoint(vpnaas.vpnservices)]
    return endpoints


def start(conf: cfg.ConfigOpts, db: Database, core: ServerServices | None = None
          ) -> RpcService:
    return RpcService(conf, endpoints_for(conf, db, core)).start()
