"""``neutrino-openvswitch-agent --config-file …``: the Open vSwitch L2 agent of a host.

It reports itself as upstream's "Open vSwitch agent" (so the server's openvswitch
mechanism driver binds ports to this host), asks the server for the host's "l2"
desired state (the kind the Linux bridge agent consumes too) and reconciles
bridges, patch and tunnel ports, VM ports' local VLAN tags and its OpenFlow flows
(reconciler.py) whenever a notification, an OVSDB interface change (a VM port
plugged or unplugged) or the periodic resync says so (agent/common/loop.py).
"""

from __future__ import annotations

import logging
import shutil
import sys
from typing import Any

from oslo_config import cfg

from neutrino.agent.common import service
from neutrino.agent.common.hostlock import HostLock
from neutrino.agent.common.interest import Interest
from neutrino.agent.common.rpc import NotificationListener, PluginApi
from neutrino.agent.ovs import config as ovs_config
from neutrino.agent.ovs.firewall_hook import NoopFirewall, OpenflowFirewall, OvsFirewall
from neutrino.agent.ovs.plan import SUPPORTED_TYPES, Settings
from neutrino.agent.ovs.privileged import OpenFlow, Ovsdb
from neutrino.agent.ovs.reconciler import Reconciler
from neutrino.contract import bus as rpc_transport
from neutrino.contract import topics
from neutrino.contract.agent_state import AgentState
from neutrino.contract.bus import StateReporter

LOG = logging.getLogger(__name__)

BINARY = "neutrino-openvswitch-agent"
TOPIC = "N/A"  # upstream's L2 agents report no topic of their own

UNSUPPORTED_NETWORK_TYPES = {
    "gre": "GRE tunnels are not realised by this agent",
    "geneve": "Geneve tunnels are not realised by this agent",
}


def agent_state(host: str, settings: Settings, devices: int, start_flag: bool
                ) -> AgentState:
    """The state report (heartbeat), with the keys upstream's OVS agent reports
    that port binding (ml2/openvswitch.py) reads."""
    configurations: dict[str, object] = {
        "bridge_mappings": dict(settings.bridge_mappings),
        "interface_mappings": {},
        "tunnel_types": settings.tunnel_types,
        "tunneling_ip": settings.local_ip,
        "l2_population": settings.l2_population,
        "devices": devices,
        "datapath_type": settings.datapath_type,
        "integration_bridge": settings.integration_bridge,
        "tunnel_bridge": settings.tunnel_bridge,
        "ovs_hybrid_plug": False,
        "firewall_driver": "openvswitch" if settings.firewall else "noop",
        "supported_network_types": list(SUPPORTED_TYPES),
        "unsupported_network_types": dict(UNSUPPORTED_NETWORK_TYPES),
        "trunk_supported": True,  # trunk bridges and patch ports (trunk.py)
    }
    state: AgentState = {"agent_type": topics.AGENT_TYPE_OVS, "binary": BINARY,
                         "topic": TOPIC, "host": host, "configurations": configurations}
    if start_flag:
        state["start_flag"] = True
    return state


def make_firewall(conf: cfg.ConfigOpts) -> OvsFirewall:
    """The firewall ``[securitygroup]`` asks for: the OpenFlow firewall (tables
    71-93 of the integration bridge, firewall_hook.py describes the seam) or none."""
    if ovs_config.firewall_enabled(conf):
        return OpenflowFirewall(conf.ovs.ovs_rundir, conf.ovs.integration_bridge)
    return NoopFirewall()


class OpenvswitchAgent:
    """The parts of the agent wired together; `start`/`stop` for tests and main."""

    def __init__(self, conf: cfg.ConfigOpts, transport: Any = None,
                 server: str | None = None, firewall: OvsFirewall | None = None) -> None:
        self.conf = conf
        self.host: str = conf.host
        self.settings = ovs_config.settings(conf)
        self.transport = transport or rpc_transport.get_transport(conf)
        timeout = conf.rpc_response_timeout
        self.plugin = PluginApi(self.transport, self.host, f"ovs-{self.host}",
                                timeout=timeout, server=server)
        self.reporter = StateReporter(self.transport, self.host, timeout=timeout,
                                      server=server)
        self.devices = 0
        self.lock = HostLock(conf.state_path, BINARY, self.host)
        self.loop = service.agent_loop(conf, self.sync, self.report)
        self.openflow = OpenFlow(conf.ovs.ovs_rundir)
        self.firewall = firewall or make_firewall(conf)
        self.ovsdb: Ovsdb | None = None
        self.reconciler: Reconciler | None = None
        self.interest = Interest(self.host)
        self.listener = NotificationListener(self.transport, self.host, self.loop.trigger,
                                             wants=self.interest.wants)

    def _connect(self) -> Reconciler:
        if self.reconciler is None:
            # Connected on first use: ovsdb-server may come up after the agent.
            self.ovsdb = Ovsdb(self.conf.ovs.ovsdb_connection,
                               timeout=self.conf.ovs.ovsdb_timeout,
                               on_change=self.loop.trigger)
            self.reconciler = Reconciler(
                self.ovsdb, self.openflow, self.settings, self.firewall,
                device_details=self.plugin.get_devices_details_list,
                device_list=self.plugin.update_device_list)
        return self.reconciler

    def sync(self) -> None:
        reconciler = self._connect()
        desired = self.plugin.get_desired_state("l2")
        self.interest.update(desired)
        result = reconciler.reconcile(desired)
        self.devices = result.devices
        if result.failed:
            raise RuntimeError(f"{len(result.failed)} change(s) failed, first: "
                               f"{result.failed[0][0]}: {result.failed[0][1]}")

    def report(self, start_flag: bool) -> None:
        self.reporter.report(agent_state(self.host, self.settings, self.devices,
                                         start_flag))

    def start(self) -> OpenvswitchAgent:
        self.lock.acquire()
        self.loop.start()
        service.start_listener(self.listener)
        return self

    def stop(self) -> None:
        self.loop.stop()
        self.listener.stop()
        if self.ovsdb is not None:
            self.ovsdb.close()
        self.lock.release()


def check_config(conf: cfg.ConfigOpts) -> list[str]:
    """What is wrong with the configuration for this host (empty: fine)."""
    problems: list[str] = []
    try:
        ovs_config.parse_mappings(conf.ovs.bridge_mappings)
    except ValueError as error:
        problems.append(f"[ovs] bridge_mappings: {error}")
    unknown = [t for t in conf.AGENT.tunnel_types if t != "vxlan"]
    if unknown:
        problems.append(f"[agent] tunnel_types: {', '.join(unknown)} not supported "
                        "(only vxlan)")
    if "vxlan" in conf.AGENT.tunnel_types and not conf.ovs.local_ip:
        problems.append("[agent] tunnel_types has vxlan but [ovs] local_ip is not set")
    if shutil.which("ovs-ofctl") is None:
        problems.append("ovs-ofctl not found (Debian: openvswitch-switch)")
    return problems


def main(argv: list[str] | None = None) -> int:
    return service.main(
        argv, BINARY, ovs_config.register_opts, check_config, OpenvswitchAgent,
        lambda agent: (f"datapath_type {agent.settings.datapath_type}, tunnel_types "
                       f"{agent.settings.tunnel_types}, local_ip "
                       f"{agent.settings.local_ip}, bridge_mappings "
                       f"{agent.settings.bridge_mappings}, firewall "
                       f"{'openvswitch' if agent.settings.firewall else 'noop'}"),
        needs_root_for="it changes Open vSwitch bridges and flows")


if __name__ == "__main__":
    sys.exit(main())
