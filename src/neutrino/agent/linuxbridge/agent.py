"""``neutrino-linuxbridge-agent --config-file …``: the L2 agent of a host.

It reports itself as upstream's "Linux bridge agent" (so the server's linuxbridge
mechanism driver binds ports to this host), asks the server for the host's "l2"
desired state and reconciles bridges, VXLAN devices, FDB entries and taps to it
(reconciler.py), and the security-group firewall (agent/firewall), whenever a
notification, a tap appearing or disappearing or the periodic resync says so
(agent/common/loop.py).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import Any

from oslo_config import cfg

from neutrino.agent.common import service
from neutrino.agent.common.hostlock import HostLock
from neutrino.agent.common.interest import Interest
from neutrino.agent.common.privileged import Kernel, LinkMonitor, vlan_support
from neutrino.agent.common.rpc import NotificationListener, PluginApi
from neutrino.agent.firewall import config as firewall_config
from neutrino.agent.firewall import seclog
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.plan import TAP_PREFIX, Settings
from neutrino.agent.linuxbridge.reconciler import Reconciler
from neutrino.agent.qos import plan as qos_plan
from neutrino.agent.qos.driver import QosDriver
from neutrino.contract import bus as rpc_transport
from neutrino.contract import topics
from neutrino.contract.agent_state import AgentState, LinuxBridgeConfigurations
from neutrino.contract.bus import StateReporter

LOG = logging.getLogger(__name__)

BINARY = "neutrino-linuxbridge-agent"
TOPIC = "N/A"  # upstream's L2 agents report no topic of their own


UNSUPPORTED_NETWORK_TYPES = {
    "vlan": "VLAN is not realised by this agent (no 802.1Q sub-interfaces on this kernel)",
    "gre": "GRE is not realised by this agent (no GRE in this kernel)",
    "geneve": "Geneve is not realised by this agent (no Geneve in this kernel)",
}


def agent_state(host: str, settings: Settings, devices: int, start_flag: bool
                ) -> AgentState:
    """The state report (heartbeat) of this agent, as upstream's shows it."""
    configurations: LinuxBridgeConfigurations = {
        "interface_mappings": dict(settings.interface_mappings),
        "bridge_mappings": {},
        "tunnel_types": settings.tunnel_types,
        "tunneling_ip": settings.local_ip,
        "l2_population": settings.l2_population,
        "devices": devices,
        # What the ML2 driver must not bind here, and why (DESIGN.md: this kernel has
        # no 802.1Q sub-interfaces, GRE or Geneve, so the agent does not realise them).
        "unsupported_network_types": dict(UNSUPPORTED_NETWORK_TYPES),
        # The QoS rule types this agent applies (agent/qos, issue 14).
        "supported_qos_rule_types": list(qos_plan.SUPPORTED_RULE_TYPES),
        # Trunks (issue 14): sub-ports are VLAN sub-interfaces; without them the
        # server binds no sub-port here and says why.
        "trunk_supported": settings.trunk_supported,
    }
    if not settings.trunk_supported:
        configurations["trunk_unsupported_reason"] = (
            settings.trunk_unsupported_reason or "VLAN support not checked")
    state: AgentState = {"agent_type": topics.AGENT_TYPE_LINUXBRIDGE, "binary": BINARY,
                         "topic": TOPIC, "host": host, "configurations": configurations}
    if start_flag:
        state["start_flag"] = True
    return state


class LinuxBridgeAgent:
    """The parts of the agent wired together; `start`/`stop` for tests and main."""

    def __init__(self, conf: cfg.ConfigOpts, transport: Any = None,
                 namespace: str | None = None, server: str | None = None) -> None:
        self.conf = conf
        self.host: str = conf.host
        # Trunks need VLAN sub-interfaces: tried once, in a scratch namespace.
        supported, why = vlan_support()
        if not supported:
            LOG.warning("trunk sub-ports cannot be carried on this host: %s", why)
        self.settings = dataclasses.replace(lb_config.settings(conf),
                                            trunk_supported=supported,
                                            trunk_unsupported_reason=why)
        self.transport = transport or rpc_transport.get_transport(conf)
        self.kernel = Kernel(namespace)
        timeout = conf.rpc_response_timeout
        self.plugin = PluginApi(self.transport, self.host, f"lb-{self.host}",
                                timeout=timeout, server=server)
        self.reporter = StateReporter(self.transport, self.host, timeout=timeout,
                                      server=server)
        self.reconciler = Reconciler(self.kernel, self.settings,
                                     device_up=self.plugin.update_device_up,
                                     device_down=self.plugin.update_device_down,
                                     device_details=self.plugin.get_devices_details_list,
                                     device_list=self.plugin.update_device_list)
        self.firewall = firewall_config.firewall(conf, namespace)
        # Security group logging: the firewall's logged packets, written as lines.
        self.log_reader = (firewall_config.log_reader(conf, namespace)
                           if self.firewall is not None else None)
        self.qos = QosDriver(namespace)
        self.devices = 0
        # One Linux bridge agent per host: taken in start(), before anything is touched.
        self.lock = HostLock(conf.state_path, BINARY, self.host)
        self.loop = service.agent_loop(conf, self.sync, self.report)
        self.monitor = LinkMonitor([TAP_PREFIX], self._device_event, namespace)
        # Only notifications about this host's networks, ports and groups wake it.
        self.interest = Interest(self.host)
        self.listener = NotificationListener(self.transport, self.host, self.loop.trigger,
                                             wants=self.interest.wants)

    def sync(self) -> None:
        desired = self.plugin.get_desired_state("l2")
        self.interest.update(desired)
        if self.firewall is not None:
            # Before L2: the rules match taps by name, so a new port is filtered
            # from the moment its tap joins a bridge. A failure stops the sync
            # (retried) rather than plug ports unfiltered.
            self.firewall.apply(desired)
        if self.log_reader is not None:
            self.log_reader.update(seclog.targets(desired))
        result = self.reconciler.reconcile(desired)
        self.devices = result.devices
        # QoS after L2: limits and marks go on the taps plugged now.
        self.qos.apply(desired, [n for n in result.links if n.startswith(TAP_PREFIX)])
        if result.failed:
            raise RuntimeError(f"{len(result.failed)} change(s) failed, first: "
                               f"{result.failed[0][0]}: {result.failed[0][1]}")

    def report(self, start_flag: bool) -> None:
        self.reporter.report(agent_state(self.host, self.settings, self.devices,
                                         start_flag))

    def _device_event(self, event: str, name: str) -> None:
        self.loop.trigger(f"device {name} {event}")

    def start(self) -> LinuxBridgeAgent:
        self.lock.acquire()  # AgentAlreadyRunning: another one owns this host's
        self.monitor.start()
        self.loop.start()
        service.start_listener(self.listener)
        return self

    def stop(self) -> None:
        self.loop.stop()
        self.listener.stop()
        self.monitor.stop()
        if self.log_reader is not None:
            self.log_reader.stop()
        self.kernel.close()
        self.lock.release()


def check_config(conf: cfg.ConfigOpts) -> list[str]:
    """What is wrong with the configuration for this host (empty: fine)."""
    problems: list[str] = []
    try:
        mappings = lb_config.parse_mappings(conf.linux_bridge.physical_interface_mappings)
    except ValueError as error:
        return [f"[linux_bridge] physical_interface_mappings: {error}"]
    if conf.linux_bridge.bridge_mappings:
        problems.append("[linux_bridge] bridge_mappings is not supported; use "
                        "physical_interface_mappings")
    if conf.vxlan.enable_vxlan and not conf.vxlan.local_ip:
        problems.append("[vxlan] enable_vxlan is set but local_ip is not: set local_ip "
                        "to this host's VTEP address or enable_vxlan = false")
    if mappings:
        with Kernel() as kernel:
            missing = [i for i in mappings.values() if not kernel.exists(i)]
        if missing:
            problems.append("physical_interface_mappings name missing interface(s): "
                            + ", ".join(missing))
    problems += firewall_config.check(conf)
    return problems


def main(argv: list[str] | None = None) -> int:
    return service.main(
        argv, BINARY, lb_config.register_opts, check_config, LinuxBridgeAgent,
        lambda agent: (f"tunnel_types {agent.settings.tunnel_types}, local_ip "
                       f"{agent.settings.local_ip}, interface_mappings "
                       f"{agent.settings.interface_mappings}"),
        needs_root_for="it changes links, bridges and FDB entries")


if __name__ == "__main__":
    sys.exit(main())
