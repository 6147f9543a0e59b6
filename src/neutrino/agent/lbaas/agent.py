"""``neutrino-lbaas-agent --config-file lbaas_agent.ini``: runs this host's load
balancers, HAProxy in a ``qlbaas-<id>`` namespace each.

It reports itself as upstream's "Loadbalancer agent" (topic ``n-lbaas_agent``);
the server schedules load balancers to alive ones. Its sync (agent/common/loop.py:
at start, on any ``n-lbaas_agent`` fanout, every ``resync_interval``) asks
``get_loadbalancers`` on ``n-lbaas-plugin`` for the host's load balancers
(contract/lbaas.py), applies each (driver.py: VIP plugged, configuration rendered,
HAProxy started or reloaded), takes down the ones it ran that are no longer
wanted, and reports per load balancer the revision applied (or the error) with
its members' health. Every ``health_interval`` seconds it reads HAProxy's stats
sockets and reports the load balancers whose members changed, so a member whose
checks fail goes ERROR (and its pool DEGRADED) soon after HAProxy stops sending
it traffic.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import oslo_messaging
from oslo_config import cfg

from neutrino.agent.common import service
from neutrino.agent.common.rpc import NotificationListener
from neutrino.agent.lbaas import config as lbaas_config
from neutrino.agent.lbaas.driver import LbDriver
from neutrino.contract import bus as rpc_transport
from neutrino.contract import lbaas
from neutrino.contract.agent_state import AgentState
from neutrino.contract.bus import StateReporter
from neutrino.contract.lbaas import LbaasState, LbStatusReport

LOG = logging.getLogger(__name__)

BINARY = "neutrino-lbaas-agent"


class LbaasPluginApi:
    """The agent's calls on n-lbaas-plugin."""

    def __init__(self, transport: oslo_messaging.Transport, host: str,
                 timeout: float | None = None, server: str | None = None) -> None:
        self.host = host
        target = oslo_messaging.Target(topic=lbaas.LBAAS_PLUGIN, version="1.0")
        client = oslo_messaging.get_rpc_client(transport, target, timeout=timeout)
        # oslo.messaging is untyped: the answer's type is the contract's.
        self.client: Any = client.prepare(server=server) if server else client

    def get_loadbalancers(self) -> LbaasState:
        state: LbaasState = self.client.call({}, "get_loadbalancers", host=self.host)
        return state

    def update_statuses(self, reports: list[LbStatusReport]) -> None:
        self.client.call({}, "update_statuses", host=self.host, reports=reports)


class LbaasAgent:
    """The parts of the agent wired together; `start`/`stop` for tests and main."""

    def __init__(self, conf: cfg.ConfigOpts, transport: Any = None,
                 server: str | None = None, host_namespace: str | None = None) -> None:
        self.conf = conf
        self.host: str = conf.host
        self.transport = transport or rpc_transport.get_transport(conf)
        timeout = conf.rpc_response_timeout
        self.plugin = LbaasPluginApi(self.transport, self.host, timeout, server)
        self.reporter = StateReporter(self.transport, self.host, timeout=timeout,
                                      server=server)
        self.driver = LbDriver(lbaas_config.state_root(conf), host_namespace,
                               conf.haproxy_path)
        # What was applied: load balancer id -> revision; last health sent.
        self.applied: dict[str, int] = {}
        self.health: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()    # syncs and health readings, one at a time
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.loop = service.agent_loop(conf, self.sync, self.report)
        self.listener = NotificationListener(self.transport, self.host,
                                             self.loop.trigger, [lbaas.LBAAS_AGENT])

    def sync(self) -> None:
        state = self.plugin.get_loadbalancers()
        with self._lock:
            reports, failed = self._reconcile(state)
        if reports:
            self.plugin.update_statuses(reports)
        if failed:
            raise RuntimeError(f"{len(failed)} load balancer(s) failed, first: "
                               f"{failed[0]}")

    def _reconcile(self, state: LbaasState) -> tuple[list[LbStatusReport], list[str]]:
        wanted = {lb["id"] for lb in state["loadbalancers"]}
        for stale in sorted(self.driver.owned() - wanted):
            LOG.info("load balancer %s: no longer here, taking it down", stale)
            self.driver.remove(stale)
            self.applied.pop(stale, None)
            self.health.pop(stale, None)
        # Being deleted: gone from the host now (above, when it ran here); saying
        # so lets the server remove it and its VIP port.
        reports: list[LbStatusReport] = [
            {"loadbalancer_id": lb["id"], "revision": lb["revision"], "error": None,
             "members": {}} for lb in state["deleting"]]
        failed: list[str] = []
        for lb in state["loadbalancers"]:
            error: str | None = None
            try:
                self.driver.apply(lb)
            except Exception as problem:  # noqa: BLE001 - reported as the LB's ERROR
                LOG.exception("load balancer %s failed", lb["id"])
                error = str(problem)[:255]
                failed.append(f"{lb['id']}: {error}")
            members = self.driver.members(lb["id"])
            if self.applied.get(lb["id"]) != lb["revision"] or error is not None:
                reports.append({"loadbalancer_id": lb["id"], "revision": lb["revision"],
                                "error": error, "members": members})
            if error is None:
                self.applied[lb["id"]] = lb["revision"]
                self.health[lb["id"]] = members
        return reports, failed

    def check_health(self) -> list[LbStatusReport]:
        """Reports of the load balancers whose members' health changed."""
        with self._lock:
            reports: list[LbStatusReport] = []
            for lb_id, revision in self.applied.items():
                members = self.driver.members(lb_id)
                if members != self.health.get(lb_id):
                    self.health[lb_id] = members
                    reports.append({"loadbalancer_id": lb_id, "revision": revision,
                                    "error": None, "members": members})
        if reports:
            self.plugin.update_statuses(reports)
        return reports

    def _watch(self) -> None:
        while not self._stop.wait(self.conf.health_interval):
            try:
                self.check_health()
            except Exception:  # noqa: BLE001 - keep watching: the next reading retries
                LOG.exception("load balancer health reading failed")

    def report(self, start_flag: bool) -> None:
        state: AgentState = {
            "agent_type": lbaas.AGENT_TYPE_LOADBALANCER, "binary": BINARY,
            "topic": lbaas.LBAAS_AGENT, "host": self.host,
            "configurations": {"device_drivers": ["haproxy_ns"],
                               "instances": len(self.applied)}}
        if start_flag:
            state["start_flag"] = True
        self.reporter.report(state)

    def start(self) -> LbaasAgent:
        self.loop.start()
        self._watcher = threading.Thread(target=self._watch, name="lbaas-health",
                                         daemon=True)
        self._watcher.start()
        service.start_listener(self.listener)
        return self

    def stop(self) -> None:
        """Stop the agent; the load balancers keep running (a restarted agent
        adopts them: their directories say what it owns)."""
        self._stop.set()
        self.loop.stop()
        self.listener.stop()
        if self._watcher is not None:
            self._watcher.join(10)


def main(argv: list[str] | None = None) -> int:
    return service.main(
        argv, BINARY, lbaas_config.register_opts, lbaas_config.check, LbaasAgent,
        lambda agent: f"HAProxy {agent.conf.haproxy_path}",
        needs_root_for="it makes namespaces and runs HAProxy")


if __name__ == "__main__":
    sys.exit(main())
