"""The Linux bridge agent's options (upstream's names and sections)."""

from __future__ import annotations

from oslo_config import cfg

from neutrino.agent.common import config as agent_config
from neutrino.agent.firewall import config as firewall_config
from neutrino.agent.linuxbridge.plan import OWNER_ALIAS, VXLAN_PORT, Settings
from neutrino.contract import options

# state_path: where the agent's host lock lives (agent/common/hostlock.py).
SHARED_OPTS: list[cfg.Opt] = [options.STATE_PATH]

linux_bridge_opts: list[cfg.Opt] = [
    cfg.ListOpt("physical_interface_mappings", default=[],
                help="<physical_network>:<physical_interface> pairs: flat networks of "
                     "that physical network are bridged to that interface."),
    cfg.ListOpt("bridge_mappings", default=[],
                help="Not supported (<physical_network>:<bridge>): reported empty."),
]

vxlan_opts: list[cfg.Opt] = [
    cfg.BoolOpt("enable_vxlan", default=True,
                help="Realise VXLAN networks (needs local_ip)."),
    cfg.IPOpt("local_ip", version=4,
              help="This host's VTEP address: the source of VXLAN traffic, what "
                   "other hosts send this host's VXLAN traffic to."),
    cfg.BoolOpt("l2_population", default=True,
                help="Forwarding entries for every port of the other hosts come from "
                     "the server (no learning). Off: only the flood entries to every "
                     "other host, and the kernel learns where MACs are. There is no "
                     "multicast mode (vxlan_group): flooding is always head-end "
                     "replication to the hosts the server names."),
    cfg.PortOpt("udp_dstport", default=VXLAN_PORT,
                help="UDP destination port of VXLAN traffic."),
]

GROUPS: list[tuple[str, list[cfg.Opt]]] = [
    ("linux_bridge", linux_bridge_opts), ("vxlan", vxlan_opts),
    (firewall_config.GROUP, firewall_config.securitygroup_opts),
    (firewall_config.LOG_GROUP, firewall_config.network_log_opts)]


def register_opts(conf: cfg.ConfigOpts) -> None:
    agent_config.register_opts(conf)
    conf.register_opts(SHARED_OPTS)
    for group, opts in GROUPS:
        conf.register_opts(opts, group=group)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    common = agent_config.list_opts()
    return [(None, [*common[0][1], *SHARED_OPTS]), *common[1:], *GROUPS]


def parse_mappings(entries: list[str]) -> dict[str, str]:
    """"physnet:interface" pairs -> {physnet: interface}; ValueError on a malformed or
    repeated one."""
    return agent_config.parse_mappings(entries, "interface")


def settings(conf: cfg.ConfigOpts) -> Settings:
    return Settings(local_ip=conf.vxlan.local_ip, enable_vxlan=conf.vxlan.enable_vxlan,
                    l2_population=conf.vxlan.l2_population,
                    interface_mappings=parse_mappings(
                        conf.linux_bridge.physical_interface_mappings),
                    vxlan_port=conf.vxlan.udp_dstport,
                    owner=OWNER_ALIAS.format(conf.host))
