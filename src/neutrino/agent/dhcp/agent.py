"""``neutrino-dhcp-agent --config-file …``: the DHCP agent of a host.

It reports itself as upstream's "DHCP agent" (topic ``dhcp_agent``), so the server
schedules networks to it; it asks for the host's "dhcp" desired state and runs one
dnsmasq per network (reconciler.py) whenever a ``dhcp_agent`` notification (fanout,
or its own queue for scheduling changes), a dnsmasq dying or the periodic resync
says so (agent/common/loop.py).
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from oslo_config import cfg

from neutrino.agent.common import service
from neutrino.agent.common.hostlock import HostLock
from neutrino.agent.common.rpc import NotificationListener, PluginApi
from neutrino.agent.dhcp import config as dhcp_config
from neutrino.agent.dhcp.reconciler import Reconciler, Result
from neutrino.agent.metadata.proxies import MetadataProxies
from neutrino.contract import bus as rpc_transport
from neutrino.contract import topics
from neutrino.contract.agent_state import AgentState
from neutrino.contract.bus import StateReporter
from neutrino.contract.dhcp import DhcpPort

LOG = logging.getLogger(__name__)

BINARY = "neutrino-dhcp-agent"
DHCP_DRIVER = "dnsmasq"


class DhcpPluginApi(PluginApi):
    """PluginApi plus the DHCP agent's calls on q-plugin (docs/rpc.md)."""

    def get_dhcp_port(self, network_id: str) -> DhcpPort | None:
        port: DhcpPort | None = self.client.call({}, "get_dhcp_port", host=self.host,
                                                 network_id=network_id)
        return port

    def release_dhcp_port(self, network_id: str) -> bool:
        released: bool = self.client.call({}, "release_dhcp_port", host=self.host,
                                          network_id=network_id)
        return released


def agent_state(host: str, conf: cfg.ConfigOpts, counts: Result | None,
                start_flag: bool) -> AgentState:
    """The state report (heartbeat), with upstream's configurations."""
    configurations: dict[str, object] = {
        "dhcp_driver": DHCP_DRIVER,
        "dhcp_lease_duration": conf.dhcp_lease_duration,
        "log_agent_heartbeats": False,
        "networks": counts.networks if counts else 0,
        "subnets": counts.subnets if counts else 0,
        "ports": counts.ports if counts else 0,
    }
    state: AgentState = {"agent_type": topics.AGENT_TYPE_DHCP, "binary": BINARY,
                         "topic": topics.DHCP_AGENT, "host": host,
                         "availability_zone": conf.AGENT.availability_zone,
                         "configurations": configurations}
    if start_flag:
        state["start_flag"] = True
    return state


class DhcpAgent:
    """The parts of the agent wired together; `start`/`stop` for tests and main."""

    def __init__(self, conf: cfg.ConfigOpts, transport: Any = None,
                 host_namespace: str | None = None, server: str | None = None,
                 own_all_namespaces: bool = False) -> None:
        self.conf = conf
        self.host: str = conf.host
        self.transport = transport or rpc_transport.get_transport(conf)
        timeout = conf.rpc_response_timeout
        self.plugin = DhcpPluginApi(self.transport, self.host, f"dhcp-{self.host}",
                                    timeout=timeout, server=server)
        self.reporter = StateReporter(self.transport, self.host, timeout=timeout,
                                      server=server)
        self.reconciler = Reconciler(
            dhcp_config.settings(conf), dhcp_config.state_dir(conf),
            get_dhcp_port=self.plugin.get_dhcp_port,
            release_dhcp_port=self.plugin.release_dhcp_port,
            host_namespace=host_namespace, own_all_namespaces=own_all_namespaces,
            proxies=MetadataProxies(dhcp_config.metadata_proxy_dir(conf),
                                    conf.metadata_proxy_socket),
            host=self.host, ovs=dhcp_config.ovs_plug(conf))
        # One DHCP agent per host: taken in start(), before anything is touched.
        self.lock = HostLock(conf.state_path, BINARY, self.host)
        self.counts: Result | None = None
        self.loop = service.agent_loop(conf, self.sync, self.report)
        # dhcp_agent: resource changes (fanout) and this host's scheduling changes
        # (dhcp_agent.<host>); any of them means "look again".
        self.listener = NotificationListener(self.transport, self.host,
                                             self.loop.trigger, [topics.DHCP_AGENT])
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    def sync(self) -> None:
        desired = self.plugin.get_desired_state("dhcp")
        result = self.reconciler.reconcile(desired)
        self.counts = result
        if result.failed:
            raise RuntimeError(f"{len(result.failed)} network(s) failed, first: "
                               f"{result.failed[0][0]}: {result.failed[0][1]}")

    def report(self, start_flag: bool) -> None:
        self.reporter.report(agent_state(self.host, self.conf, self.counts, start_flag))

    def _watch_processes(self) -> None:
        interval = self.conf.AGENT.check_child_processes_interval
        while not self._stop.wait(interval):
            try:
                dead = self.reconciler.dead()
            except Exception:  # noqa: BLE001 - keep watching
                LOG.exception("checking dnsmasq processes failed")
                continue
            if dead:
                LOG.warning("dnsmasq or metadata proxy of network(s) %s died; resyncing",
                            ", ".join(dead))
                self.loop.trigger("dnsmasq or metadata proxy died")

    def start(self) -> DhcpAgent:
        self.lock.acquire()  # AgentAlreadyRunning: another one owns this host's
        self.loop.start()
        if self.conf.AGENT.check_child_processes_interval > 0:
            self._watchdog = threading.Thread(target=self._watch_processes,
                                              name="dnsmasq-watchdog", daemon=True)
            self._watchdog.start()
        service.start_listener(self.listener)
        return self

    def stop(self) -> None:
        """Stop the agent; the dnsmasq processes keep serving (a restarted agent
        adopts them), as upstream's do."""
        self._stop.set()
        self.loop.stop()
        self.listener.stop()
        if self._watchdog is not None:
            self._watchdog.join(2)
        self.reconciler.close()
        self.lock.release()


def check_config(conf: cfg.ConfigOpts) -> list[str]:
    """What is wrong with the configuration for this host (empty: fine)."""
    problems = []
    if conf.interface_driver not in (*dhcp_config.LINUXBRIDGE_DRIVERS,
                                     *dhcp_config.OVS_DRIVERS):
        problems.append(f"interface_driver {conf.interface_driver!r} is not supported: "
                        "use 'linuxbridge' or 'openvswitch'")
    return problems


def main(argv: list[str] | None = None) -> int:
    return service.main(
        argv, BINARY, dhcp_config.register_opts, check_config, DhcpAgent,
        lambda agent: (f"state in {agent.reconciler.state_dir}, availability zone "
                       f"{agent.conf.AGENT.availability_zone}"),
        needs_root_for="it creates namespaces, links and dnsmasq processes")


if __name__ == "__main__":
    sys.exit(main())
