"""The all-in-one: this host's agents inside the API worker process.

``neutrino-server`` with ``[DEFAULT] embedded_agents`` on runs the Linux bridge agent,
the DHCP agent, the metadata agent, the L3 agent and the metering agent of this host
as threads of its (single) API worker process, after the fork, on the same transport
as the worker's RPC servers: the in-process bus (``fake://``) reaches only its own transport object
(DESIGN.md, "What a user gets").
They register under ``[DEFAULT] host`` (the machine's name) like separate agents
would, so ports bound to this host are realised with nothing else to start.

Each agent gets its own ConfigOpts parsed from the server's own configuration files,
so the agents' sections (``[vxlan]``, ``[linux_bridge]``, ``[securitygroup]``,
``[AGENT]``, the DHCP agent's ``[DEFAULT]`` options) may be written in neutrino.conf
or in extra ``--config-file``\\s.

VXLAN (the default tenant network type) needs a VTEP address. Unless ``[vxlan]
local_ip`` is set, the all-in-one uses the host's primary IPv4 address (the source
of its default route), else 127.0.0.1: one host has no peers, so the address only
names the VXLAN device's source; the primary address stays right if the host later
joins others over RabbitMQ (it is what they would send to), where 127.0.0.1 would
not.

Metadata without Nova: unless the configuration says otherwise, the embedded
metadata agent answers from Neutrino's own data (``metadata_upstream = builtin``)
and the DHCP agent serves it on isolated networks (``enable_isolated_metadata =
true``), the L3 agent on routed ones (a proxy in each router namespace): VMs reach
http://169.254.169.254/ with nothing else to run.

Stopping the server stops the agents (their threads); the dataplane they built stays
(bridges, taps, rules, dnsmasq), and the next start reconciles it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import oslo_messaging
from oslo_config import cfg

from neutrino.agent.common import privileged
from neutrino.contract import bus as rpc_transport
from neutrino.contract import lbaas as lbaas_contract

LOG = logging.getLogger(__name__)

FALLBACK_LOCAL_IP = "127.0.0.1"
KERNEL_OVS_MODULE = "/sys/module/openvswitch"
# Only used to ask the kernel which source address a route out of this host takes
# (a UDP connect sends nothing).
_PROBE_ADDRESS = ("8.8.8.8", 53)


@dataclass
class Decision:
    run: bool
    reason: str


def decide(conf: cfg.ConfigOpts) -> Decision:
    """Whether this server runs this host's agents, and why (logged at start).

    Auto (unset): on when root with the in-process bus and one API worker; an
    explicit true still needs root and a single worker (several workers would each
    run a copy of the same host's agents)."""
    setting = conf.embedded_agents
    if setting is False:
        return Decision(False, "embedded_agents = false")
    if conf.api_workers > 1:
        return Decision(False, f"api_workers = {conf.api_workers}: the embedded agents "
                               "need a single API worker process")
    if not privileged.is_root():
        return Decision(False, "not running as root (the agents change links, "
                               "bridges, iptables and namespaces)")
    if setting is None and not rpc_transport.is_in_process(conf):
        return Decision(False, f"transport_url is {_scheme(conf.transport_url)}: run "
                               "the agents as their own processes (or set "
                               "embedded_agents = true)")
    if conf.rpc_workers and rpc_transport.is_in_process(conf):
        return Decision(False, "rpc_workers > 0 with the in-process bus: nothing would "
                               "answer the agents")
    why = "embedded_agents = true" if setting else "auto: root and the in-process bus"
    return Decision(True, why)


def _scheme(url: str | None) -> str:
    return (url or "").split(":", 1)[0] + "://"


def primary_address() -> str:
    """The IPv4 source address of this host's default route; 127.0.0.1 without one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE_ADDRESS)
            address = probe.getsockname()[0]
    except OSError:
        return FALLBACK_LOCAL_IP
    return address if address and address != "0.0.0.0" else FALLBACK_LOCAL_IP


def l2_agent(server_conf: cfg.ConfigOpts) -> str:
    """``[DEFAULT] embedded_l2_agent``: "linuxbridge" or "openvswitch". The Open
    vSwitch agent's ports bind only with the openvswitch mechanism driver: its
    absence is logged (the server's [ml2] is not ours to change)."""
    choice = str(getattr(server_conf, "embedded_l2_agent", "linuxbridge"))
    if choice == "openvswitch":
        try:
            drivers = list(server_conf.ml2.mechanism_drivers)
        except cfg.NoSuchOptError:
            drivers = []
        if "openvswitch" not in drivers:
            LOG.error("embedded_l2_agent = openvswitch but [ml2] mechanism_drivers is "
                      "%s: ports will not bind to the Open vSwitch agent", drivers)
    return choice


def ovs_agent_conf(server_conf: cfg.ConfigOpts, files: list[str], dirs: list[str]
                   ) -> cfg.ConfigOpts:
    """The embedded Open vSwitch agent's options: the all-in-one's defaults are
    VXLAN from the host's primary address (the project networks' default type)
    and, where the kernel has no openvswitch module, the userspace datapath."""
    from neutrino.agent.ovs import config as ovs_config
    conf = _agent_conf(ovs_config.register_opts, files, dirs)
    if not conf.ovs.local_ip:
        conf.set_default("local_ip", primary_address(), group="ovs")
    conf.set_default("tunnel_types", ["vxlan"], group="AGENT")
    if not os.path.exists(KERNEL_OVS_MODULE):
        conf.set_default("datapath_type", "netdev", group="ovs")
    return conf


def _started_switch(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    """ovsdb-server and ovs-vswitchd running (started by ovs-ctl if not): the
    all-in-one needs nothing else started by hand."""
    from neutrino.agent.ovs.privileged import ensure_switch_running
    try:
        ensure_switch_running(conf.ovs.ovs_rundir)
    except Exception as error:  # noqa: BLE001 - the agent's syncs retry meanwhile
        LOG.error("embedded Open vSwitch agent: the switch could not be started: %s",
                  error)
    return conf


class _Agent(Protocol):
    host: str

    def start(self) -> object: ...
    def stop(self) -> None: ...


def _name(agent: _Agent) -> str:
    return {"LinuxBridgeAgent": "Linux bridge agent",
            "OpenvswitchAgent": "Open vSwitch agent",
            "DhcpAgent": "DHCP agent",
            "MetadataAgent": "Metadata agent",
            "L3Agent": "L3 agent",
            "MeteringAgent": "Metering agent",
            "LbaasAgent": "Load balancer agent"}.get(type(agent).__name__, type(agent).__name__)


def _agent_conf(register: Callable[[cfg.ConfigOpts], None], config_files: list[str],
                config_dirs: list[str]) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    register(conf)
    args = [f"--config-file={path}" for path in config_files]
    args += [f"--config-dir={path}" for path in config_dirs]
    conf(args=args, project="neutrino", default_config_files=[])
    return conf


def interface_driver(with_ovs: bool) -> str:
    """The DHCP and L3 agents' interface_driver default in the all-in-one: their
    taps go where the embedded L2 agent expects them."""
    return "openvswitch" if with_ovs else "linuxbridge"


@dataclass
class EmbeddedAgents:
    """This host's agents, started and stopped with the API worker."""

    server_conf: cfg.ConfigOpts
    # The worker's RPC transport (ServerRuntime.transport; required with fake://).
    transport: oslo_messaging.Transport | None = None
    agents: list[_Agent] = field(default_factory=list)
    _own_transport: oslo_messaging.Transport | None = None

    def start(self) -> EmbeddedAgents:
        # Imported here: the agents' modules pull in pyroute2 and the firewall,
        # which a server without embedded agents never needs.
        from neutrino.agent.dhcp import agent as dhcp_agent
        from neutrino.agent.dhcp import config as dhcp_config
        from neutrino.agent.l3 import agent as l3_agent
        from neutrino.agent.l3 import config as l3_config
        from neutrino.agent.linuxbridge import agent as lb_agent
        from neutrino.agent.linuxbridge import config as lb_config
        from neutrino.agent.metadata import agent as md_agent
        from neutrino.agent.metadata import config as md_config
        from neutrino.agent.metering import agent as metering_agent
        from neutrino.agent.metering import config as metering_config

        files = list(self.server_conf.config_file or [])
        dirs = list(self.server_conf.config_dir or [])
        if self.transport is None:  # rpc_workers serve the broker: an own connection
            self._own_transport = rpc_transport.get_transport(self.server_conf)
        transport = self.transport or self._own_transport

        with_ovs = l2_agent(self.server_conf) == "openvswitch"
        if with_ovs:
            from neutrino.agent.ovs import agent as ovs_agent
            ovs_conf = ovs_agent_conf(self.server_conf, files, dirs)
            self._add("Open vSwitch agent", ovs_conf, ovs_agent.check_config,
                      lambda c: ovs_agent.OpenvswitchAgent(_started_switch(c),
                                                           transport=transport))
        else:
            lb_conf = _agent_conf(lb_config.register_opts, files, dirs)
            if lb_conf.vxlan.enable_vxlan and not lb_conf.vxlan.local_ip:
                address = primary_address()
                lb_conf.set_default("local_ip", address, group="vxlan")
                LOG.info("embedded Linux bridge agent: [vxlan] local_ip not set, using "
                         "the host's primary address %s", address)
            self._add("Linux bridge agent", lb_conf, lb_agent.check_config,
                      lambda c: lb_agent.LinuxBridgeAgent(c, transport=transport))

        md_conf = _agent_conf(md_config.register_opts, files, dirs)
        md_conf.set_default("metadata_upstream", md_config.BUILTIN)
        self._add("metadata agent", md_conf, md_agent.check_config,
                  lambda c: md_agent.MetadataAgent(c, transport=transport))

        dhcp_conf = _agent_conf(dhcp_config.register_opts, files, dirs)
        dhcp_conf.set_default("enable_isolated_metadata", True)
        # Its port in br-int, tagged by the Open vSwitch agent (no Linux bridge).
        dhcp_conf.set_default("interface_driver", interface_driver(with_ovs))
        self._add("DHCP agent", dhcp_conf, dhcp_agent.check_config,
                  lambda c: dhcp_agent.DhcpAgent(c, transport=transport))

        l3_conf = _agent_conf(l3_config.register_opts, files, dirs)
        # Its routers' ports in br-int too (the gateway's external network through
        # the Open vSwitch agent's bridge_mappings).
        l3_conf.set_default("interface_driver", interface_driver(with_ovs))
        self._add("L3 agent", l3_conf, l3_agent.check_config,
                  lambda c: l3_agent.L3Agent(c, transport=transport))

        # Metering (issue 14): counts the labels in the L3 agent's router namespaces.
        metering_conf = _agent_conf(metering_config.register_opts, files, dirs)
        self._add("metering agent", metering_conf, metering_agent.check_config,
                  lambda c: metering_agent.MeteringAgent(c, transport=transport))

        # Load balancing (issue 16): when the server serves it (service_plugins) and
        # HAProxy is installed.
        plugins = getattr(self.server_conf, "service_plugins", None) or []
        if any(name in lbaas_contract.PLUGIN_NAMES for name in plugins):
            from neutrino.agent.lbaas import agent as lbaas_agent
            from neutrino.agent.lbaas import config as lbaas_config
            lbaas_conf = _agent_conf(lbaas_config.register_opts, files, dirs)
            self._add("load balancer agent", lbaas_conf, lbaas_config.check,
                      lambda c: lbaas_agent.LbaasAgent(c, transport=transport))

        from neutrino.agent.common.hostlock import AgentAlreadyRunning
        started: list[_Agent] = []
        for agent in self.agents:
            try:
                agent.start()
            except AgentAlreadyRunning as error:
                LOG.error("embedded %s not started: %s", _name(agent), error)
                continue
            started.append(agent)
        self.agents[:] = started
        if self.agents:
            LOG.info("embedded agents started on host %s: %s", self.agents[0].host,
                     ", ".join(_name(a) for a in self.agents))
        return self

    def _add(self, name: str, conf: cfg.ConfigOpts,
             check: Callable[[cfg.ConfigOpts], list[str]],
             build: Callable[[cfg.ConfigOpts], _Agent]) -> None:
        """The agent built, unless its configuration has problems (each logged)."""
        problems = check(conf)
        for problem in problems:
            LOG.error("embedded %s not started: %s", name, problem)
        if not problems:
            self.agents.append(build(conf))

    def stop(self) -> None:
        """Stop the agents' threads; what they built stays for the next start."""
        names = [_name(a) for a in self.agents]
        for agent in reversed(self.agents):
            try:
                agent.stop()
            except Exception:  # noqa: BLE001 - stop the others anyway
                LOG.exception("stopping the embedded %s failed", _name(agent))
        if names:
            LOG.info("embedded agents stopped (%s); the dataplane they built stays",
                     ", ".join(names))
        self.agents.clear()
        if self._own_transport is not None:
            self._own_transport.cleanup()
            self._own_transport = None
