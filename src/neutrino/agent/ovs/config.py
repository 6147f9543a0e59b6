"""The Open vSwitch agent's options (upstream's names and sections)."""

from __future__ import annotations

import hashlib

from oslo_config import cfg

from neutrino.agent.common import config as agent_config
from neutrino.agent.ovs.plan import VXLAN_PORT, Settings
from neutrino.contract import options

SHARED_OPTS: list[cfg.Opt] = [options.STATE_PATH]

ovs_opts: list[cfg.Opt] = [
    cfg.StrOpt("integration_bridge", default="br-int",
               help="The bridge VM ports are plugged into (made by the agent)."),
    cfg.StrOpt("tunnel_bridge", default="br-tun",
               help="The bridge of the tunnel ports (made when tunnel_types is set)."),
    cfg.ListOpt("bridge_mappings", default=[],
                help="<physical_network>:<bridge> pairs: flat and VLAN networks of that "
                     "physical network leave through that bridge (made by the agent; "
                     "the operator adds the physical interface to it)."),
    cfg.IPOpt("local_ip", version=4,
              help="This host's tunnel endpoint address (VXLAN)."),
    cfg.StrOpt("datapath_type", default="system", choices=["system", "netdev"],
               help="The bridges' datapath: 'system' (the kernel module) or 'netdev' "
                    "(the userspace datapath, where the kernel has no OVS module)."),
    cfg.StrOpt("ovsdb_connection", default="unix:/var/run/openvswitch/db.sock",
               help="The ovsdb-server to use (unix:<path> or tcp:<host>:<port>)."),
    cfg.IntOpt("ovsdb_timeout", default=10, min=1,
               help="Seconds an OVSDB transaction may take."),
    cfg.StrOpt("ovs_rundir", default="/var/run/openvswitch",
               help="Where ovs-vswitchd's bridge management sockets (<bridge>.mgmt) "
                    "are: ovs-ofctl talks to them."),
]

agent_opts: list[cfg.Opt] = [
    cfg.ListOpt("tunnel_types", default=[],
                help="Tunnel types this host carries: 'vxlan' (needs [ovs] local_ip) "
                     "or none."),
    cfg.BoolOpt("l2_population", default=True,
                help="Unicast flows to every other host's ports from the server's "
                     "data; off: unicast to unknown MACs is flooded to the peers."),
    cfg.PortOpt("vxlan_udp_port", default=VXLAN_PORT,
                help="UDP destination port of VXLAN traffic."),
]

securitygroup_opts: list[cfg.Opt] = [
    cfg.BoolOpt("enable_security_group", default=True,
                help="Filter ports' traffic by their security groups."),
    cfg.StrOpt("firewall_driver", default="openvswitch",
               choices=[("openvswitch", "the OpenFlow firewall: br-int tables 71-93, "
                                        "conntrack zones per network"),
                        ("noop", "no filtering")],
               help="How security groups are enforced on this host."),
]

GROUPS: list[tuple[str, list[cfg.Opt]]] = [
    ("ovs", ovs_opts), ("AGENT", agent_opts), ("securitygroup", securitygroup_opts)]


def register_opts(conf: cfg.ConfigOpts) -> None:
    agent_config.register_opts(conf)
    conf.register_opts(SHARED_OPTS)
    for group, opts in GROUPS:
        conf.register_opts(opts, group=group)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return agent_config.list_opts_with(SHARED_OPTS, agent_opts, ("ovs", ovs_opts),
                                       ("securitygroup", securitygroup_opts))


def parse_mappings(entries: list[str]) -> dict[str, str]:
    """"physnet:bridge" pairs -> {physnet: bridge}; ValueError on a malformed or
    repeated one."""
    return agent_config.parse_mappings(entries, "bridge")


def cookie(host: str) -> int:
    """This agent's flow cookie: fixed per host, so a restarted agent recognises
    (and keeps) its flows; never 0 (what flows added by hand carry)."""
    digest = hashlib.sha256(f"neutrino-openvswitch-agent {host}".encode()).hexdigest()
    return int(digest[:12], 16) or 1


def firewall_enabled(conf: cfg.ConfigOpts) -> bool:
    group = conf.securitygroup
    return bool(group.enable_security_group and group.firewall_driver == "openvswitch")


def settings(conf: cfg.ConfigOpts) -> Settings:
    return Settings(integration_bridge=conf.ovs.integration_bridge,
                    tunnel_bridge=conf.ovs.tunnel_bridge,
                    bridge_mappings=parse_mappings(conf.ovs.bridge_mappings),
                    local_ip=conf.ovs.local_ip,
                    enable_tunneling="vxlan" in conf.AGENT.tunnel_types,
                    l2_population=conf.AGENT.l2_population,
                    vxlan_port=conf.AGENT.vxlan_udp_port,
                    datapath_type=conf.ovs.datapath_type,
                    firewall=firewall_enabled(conf), cookie=cookie(conf.host))
