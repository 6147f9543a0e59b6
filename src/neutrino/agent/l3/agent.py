"""``neutrino-l3-agent --config-file …``: the L3 agent of a host (legacy routers).

It reports itself as upstream's "L3 agent" (topic ``l3_agent``), so the server
schedules routers to it; it asks for the host's routers with ``sync_routers``
(the "l3" desired state; the server binds the routers' ports to this host on the
way, so the Linux bridge agent plugs their taps) and realises each in a
``qrouter-<id>`` namespace (reconciler.py), whenever a ``routers_updated``
notification (``l3_agent`` fanout) or the periodic resync says so
(agent/common/loop.py). After each sync it reports the floating IP statuses that
changed (``update_floatingip_statuses``). HA routers run keepalived
(keepalived.py); the states its notify scripts write are reported as they change
(``update_ha_routers_states``, ha_states.py).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import oslo_messaging
from oslo_config import cfg

from neutrino.agent.common import service
from neutrino.agent.common.hostlock import HostLock
from neutrino.agent.common.rpc import NotificationListener, PluginApi
from neutrino.agent.l3 import config as l3_config
from neutrino.agent.l3.ha_states import HaStateReporter
from neutrino.agent.l3.keepalived import Keepalived
from neutrino.agent.l3.proxies import MetadataProxies, RouterMetadataProxies
from neutrino.agent.l3.radvd import Radvd
from neutrino.agent.l3.reconciler import Reconciler, Result
from neutrino.agent.l3.vpn.reporter import VpnStatusReporter
from neutrino.agent.l3.vpn.strongswan import Strongswan
from neutrino.agent.metadata import proxies as md_proxies
from neutrino.contract import bus as rpc_transport
from neutrino.contract import topics
from neutrino.contract.agent_state import AgentState
from neutrino.contract.bus import StateReporter
from neutrino.contract.l3 import FIREWALL_PLUGIN, VPN_PLUGIN, L3State, VpnServiceStatus

LOG = logging.getLogger(__name__)

BINARY = "neutrino-l3-agent"


class L3PluginApi(PluginApi):
    """PluginApi plus the L3 agent's calls on q-plugin (docs/rpc.md)."""

    def sync_routers(self) -> L3State:
        state: L3State = self.client.call({}, "sync_routers", host=self.host)
        return state

    def update_floatingip_statuses(self, router_id: str, fip_statuses: dict[str, str]
                                   ) -> None:
        self.client.call({}, "update_floatingip_statuses", router_id=router_id,
                         fip_statuses=fip_statuses, host=self.host)

    def update_ha_routers_states(self, states: dict[str, str]) -> None:
        self.client.call({}, "update_ha_routers_states", host=self.host, states=states)


class FirewallPluginApi:
    """FWaaS v2 (issue 16): the status of the firewall groups applied, on
    upstream's topic q-firewall-plugin."""

    def __init__(self, transport: Any, host: str, timeout: float | None = None,
                 server: str | None = None) -> None:
        self.host = host
        target = oslo_messaging.Target(topic=FIREWALL_PLUGIN, version="1.0")
        client = oslo_messaging.get_rpc_client(transport, target, timeout=timeout)
        self.client: Any = client.prepare(server=server) if server else client

    def set_firewall_group_status(self, fwg_id: str, status: str, expected: str) -> None:
        self.client.call({}, "set_firewall_group_status", fwg_id=fwg_id, status=status,
                         expected=expected, host=self.host)


class VpnPluginApi:
    """VPNaaS (issue 16): the status of the VPN services and their site
    connections, on upstream's topic ipsec_driver (a cast, as upstream's)."""

    def __init__(self, transport: Any, host: str, server: str | None = None) -> None:
        self.host = host
        target = oslo_messaging.Target(topic=VPN_PLUGIN, version="1.0")
        client = oslo_messaging.get_rpc_client(transport, target)
        self.client: Any = client.prepare(server=server) if server else client

    def update_status(self, status: list[VpnServiceStatus]) -> None:
        # Upstream's signature: no host (contract/l3.py VPN_PLUGIN).
        self.client.cast({}, "update_status", status=status)


def agent_state(host: str, conf: cfg.ConfigOpts, counts: Result | None,
                start_flag: bool) -> AgentState:
    """The state report (heartbeat), with upstream's configurations."""
    configurations: dict[str, object] = {
        "agent_mode": conf.agent_mode,
        "handle_internal_only_routers": conf.handle_internal_only_routers,
        "interface_driver": conf.interface_driver,
        "log_agent_heartbeats": conf.AGENT.log_agent_heartbeats,
        "extensions": [],
        "routers": counts.routers if counts else 0,
        "ex_gw_ports": counts.ex_gw_ports if counts else 0,
        "interfaces": counts.interfaces if counts else 0,
        "floating_ips": counts.floating_ips if counts else 0,
    }
    state: AgentState = {"agent_type": topics.AGENT_TYPE_L3, "binary": BINARY,
                         "topic": topics.L3_AGENT, "host": host,
                         "availability_zone": conf.AGENT.availability_zone,
                         "configurations": configurations}
    if start_flag:
        state["start_flag"] = True
    return state


class L3Agent:
    """The parts of the agent wired together; `start`/`stop` for tests and main."""

    def __init__(self, conf: cfg.ConfigOpts, transport: Any = None,
                 host_namespace: str | None = None, server: str | None = None,
                 own_all_namespaces: bool = False,
                 metadata_proxies: MetadataProxies | None = None) -> None:
        """`metadata_proxies`: the routers' metadata proxies (None: the real ones,
        agent/l3/proxies.py; tests give a stand-in)."""
        self.conf = conf
        self.host: str = conf.host
        self.transport = transport or rpc_transport.get_transport(conf)
        timeout = conf.rpc_response_timeout
        self.plugin = L3PluginApi(self.transport, self.host, f"l3-{self.host}",
                                  timeout=timeout, server=server)
        self.reporter = StateReporter(self.transport, self.host, timeout=timeout,
                                      server=server)
        self.firewall = FirewallPluginApi(self.transport, self.host, timeout=timeout,
                                          server=server)
        self.keepalived = Keepalived(l3_config.ha_confs_dir(conf),
                                     l3_config.ha_settings(conf))
        # VPNaaS: charon per router with an enabled VPN service (agent/l3/vpn/).
        self.vpn = VpnPluginApi(self.transport, self.host, server=server)
        self.charons = Strongswan(l3_config.ipsec_dir(conf))
        self.vpn_states = VpnStatusReporter(self.charons, self.vpn.update_status)
        if metadata_proxies is None:
            # Also with enable_metadata_proxy off: its proxies left from before go.
            metadata_proxies = RouterMetadataProxies(
                md_proxies.MetadataProxies(
                    l3_config.metadata_proxy_dir(conf), conf.metadata_proxy_socket),
                conf.metadata_port)
        self.reconciler = Reconciler(
            l3_config.settings(conf), self.host, host_namespace=host_namespace,
            own_all_namespaces=own_all_namespaces, metadata_proxies=metadata_proxies,
            garp_count=conf.send_arp_for_ha,
            router_advertisements=Radvd(conf.ra_confs, l3_config.ra_settings(conf)),
            keepalived=self.keepalived, vpn=self.charons,
            ovs=l3_config.ovs_target(conf))
        self.ha_states = HaStateReporter(self.keepalived.states,
                                         self.plugin.update_ha_routers_states)
        # One L3 agent per host: taken in start(), before anything is touched.
        self.lock = HostLock(conf.state_path, BINARY, self.host)
        self.counts: Result | None = None
        self.loop = service.agent_loop(conf, self.sync, self.report)
        # l3_agent: routers_updated fanouts (and l3_agent.<host>); any message means
        # "look again".
        self.listener = NotificationListener(self.transport, self.host,
                                             self.loop.trigger, [topics.L3_AGENT])

    def sync(self) -> None:
        desired = self.plugin.sync_routers()
        result = self.reconciler.reconcile(desired)
        self.counts = result
        for router_id, statuses in sorted(result.statuses.items()):
            try:
                self.plugin.update_floatingip_statuses(router_id, statuses)
            except Exception as error:  # noqa: BLE001 - the next sync reports again
                LOG.warning("floating IP statuses of router %s not reported: %s",
                            router_id, error)
        self._report_firewall_groups(result)
        self.vpn_states.watch(result.vpn_routers)
        if result.failed:
            raise RuntimeError(f"{len(result.failed)} router(s) failed, first: "
                               f"{result.failed[0][0]}: {result.failed[0][1]}")

    def _report_firewall_groups(self, result: Result) -> None:
        """FWaaS v2: the groups whose status changed here (ACTIVE, DOWN, ERROR)."""
        for group_id, (seen, status) in sorted(result.firewall_statuses.items()):
            try:
                self.firewall.set_firewall_group_status(group_id, status, seen)
            except Exception as error:  # noqa: BLE001 - the next sync reports again
                LOG.warning("firewall group %s status not reported: %s", group_id,
                            error)

    def report(self, start_flag: bool) -> None:
        state = agent_state(self.host, self.conf, self.counts, start_flag)
        if self.conf.AGENT.log_agent_heartbeats:
            LOG.info("heartbeat: %s", state["configurations"])
        self.reporter.report(state)

    def start(self) -> L3Agent:
        self.lock.acquire()  # AgentAlreadyRunning: another one owns this host's
        self.loop.start()
        self.ha_states.start()
        self.vpn_states.start()
        service.start_listener(self.listener)
        return self

    def stop(self) -> None:
        """Stop the agent; the routers keep forwarding (a restarted agent converges
        them), as upstream's do."""
        self.loop.stop()
        self.ha_states.stop()
        self.vpn_states.stop()
        self.listener.stop()
        self.lock.release()


def check_config(conf: cfg.ConfigOpts) -> list[str]:
    """What is wrong with the configuration for this host (empty: fine)."""
    return l3_config.check(conf)


def main(argv: list[str] | None = None) -> int:
    return service.main(
        argv, BINARY, l3_config.register_opts, check_config, L3Agent,
        lambda agent: (f"agent_mode {agent.conf.agent_mode}, metadata proxy redirect "
                       f"{'on' if agent.conf.enable_metadata_proxy else 'off'}, "
                       f"availability zone {agent.conf.AGENT.availability_zone}"),
        needs_root_for="it creates namespaces, links, routes and NAT rules")


if __name__ == "__main__":
    sys.exit(main())
