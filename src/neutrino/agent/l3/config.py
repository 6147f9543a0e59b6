"""The L3 agent's options (upstream's names and sections, l3_agent.ini)."""

from __future__ import annotations

import os

from oslo_config import cfg

from neutrino.agent.common import config as agent_config
from neutrino.agent.common import interface
from neutrino.agent.l3 import ha
from neutrino.agent.l3.ha import HaSettings
from neutrino.agent.l3.nat import METADATA_PORT, NatSettings
from neutrino.agent.l3.plan import Settings
from neutrino.agent.l3.ra import RaSettings
from neutrino.agent.metadata import config as metadata_config
from neutrino.contract import options

# Accepted values of interface_driver (agent/common/interface.py, shared with the
# DHCP agent).
LINUXBRIDGE_DRIVERS = interface.LINUXBRIDGE_DRIVERS
OVS_DRIVERS = interface.OVS_DRIVERS
LEGACY = "legacy"
AGENT_MODES = (LEGACY, "dvr", "dvr_snat", "dvr_no_external")

# The server's own definition (same object: one file or one process registers it once).
SHARED_OPTS = [options.STATE_PATH]

l3_opts = [
    cfg.StrOpt("agent_mode", default=LEGACY, choices=AGENT_MODES,
               help="How this agent realises routers. Only 'legacy' (every router of "
                    "the agent in a qrouter- namespace on this host, NAT included) is "
                    "supported; the DVR modes are refused at start."),
    cfg.StrOpt("interface_driver", default="linuxbridge",
               help="How router ports are plugged: 'linuxbridge' (a veth pair whose "
                    "host end tap<port> the Linux bridge agent puts in the network's "
                    "bridge; upstream's neutron.agent.linux.interface."
                    "BridgeInterfaceDriver is accepted as the same) or 'openvswitch' "
                    "(the same veth pair, its host end also a port of [ovs] "
                    "integration_bridge with external_ids iface-id=<port>, so the "
                    "Open vSwitch agent tags it; the gateway's external network "
                    "reaches its physical bridge through the Open vSwitch agent's "
                    "bridge_mappings; upstream's OVSInterfaceDriver accepted as the "
                    "same)."),
    cfg.BoolOpt("handle_internal_only_routers", default=True,
                help="Realise routers without an external gateway too (routing "
                     "between their internal subnets). False: only routers with a "
                     "gateway."),
    cfg.BoolOpt("enable_metadata_proxy", default=True,
                help="Redirect instances' requests to 169.254.169.254:80 from the "
                     "routers' internal interfaces to metadata_port in the router "
                     "namespace, where the router's metadata proxy listens and "
                     "forwards them to the metadata agent (metadata_proxy_socket)."),
    cfg.PortOpt("metadata_port", default=METADATA_PORT,
                help="TCP port the routers' metadata proxies listen on, in the router "
                     "namespaces."),
    cfg.IntOpt("send_arp_for_ha", default=3, min=0,
               help="How many gratuitous ARP requests announce an address that "
                    "appears on a router's gateway (its own, a floating IP); 0: one."),
]

# IPv6 router advertisements (radvd per router; agent/l3/radvd.py).
ra_opts = [
    cfg.StrOpt("ra_confs", default="$state_path/ra",
               help="Where the agent keeps each router's radvd files "
                    "(<router>.radvd.conf, .pid, .log)."),
    cfg.IntOpt("min_rtr_adv_interval", default=30, min=3,
               help="MinRtrAdvInterval of the routers' radvd: at least this many "
                    "seconds between two unsolicited router advertisements."),
    cfg.IntOpt("max_rtr_adv_interval", default=100, min=4, max=1800,
               help="MaxRtrAdvInterval of the routers' radvd: at most this many "
                    "seconds between two unsolicited router advertisements."),
]

# Router HA (keepalived per HA router; agent/l3/keepalived.py).
ha_opts = [
    cfg.StrOpt("ha_confs_path", default="$state_path/ha_confs",
               help="Where the agent keeps each HA router's keepalived files "
                    "(<router>/keepalived.conf, notify.sh, state, pid files)."),
    cfg.StrOpt("ha_vrrp_auth_type", default="PASS", choices=ha.AUTH_TYPES,
               help="VRRP authentication type of the HA routers."),
    cfg.StrOpt("ha_vrrp_auth_password", secret=True,
               help="VRRP authentication password (none: no authentication)."),
    cfg.IntOpt("ha_vrrp_advert_int", default=2, min=1,
               help="Seconds between two VRRP advertisements: a standby takes over "
                    "after about three missed ones."),
]

# VPNaaS (issue 16): strongSwan's charon per router (agent/l3/vpn/strongswan.py);
# upstream's vpn_agent.ini [ipsec] config_base_dir.
ipsec_opts: list[cfg.Opt] = [
    cfg.StrOpt("config_base_dir", default="$state_path/ipsec",
               help="Where the agent keeps each router's strongSwan files "
                    "(<router>/strongswan.conf, swanctl.conf, charon.log, "
                    "run/ with charon's pid file and vici socket)."),
]

l3_agent_opts = [
    cfg.StrOpt("availability_zone", default="nova",
               help="Availability zone of this agent (routers' "
                    "availability_zone_hints schedule to it)."),
    cfg.BoolOpt("log_agent_heartbeats", default=False, mutable=True,
                help="Log every state report (heartbeat) sent to the server."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    agent_config.register_opts(conf)
    conf.register_opts(SHARED_OPTS)
    conf.register_opts(l3_opts)
    conf.register_opts(ra_opts)
    conf.register_opts(ha_opts)
    conf.register_opts(metadata_config.socket_opts)
    conf.register_opts(l3_agent_opts, group="AGENT")
    conf.register_opts(ipsec_opts, group="ipsec")
    conf.register_opts(interface.ovs_opts, group="ovs")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return agent_config.list_opts_with(
        [*SHARED_OPTS, *l3_opts, *metadata_config.socket_opts, *ra_opts, *ha_opts],
        l3_agent_opts, ("ipsec", ipsec_opts), ("ovs", interface.ovs_opts))


def settings(conf: cfg.ConfigOpts) -> Settings:
    return Settings(handle_internal_only_routers=conf.handle_internal_only_routers,
                    nat=NatSettings(enable_metadata_proxy=conf.enable_metadata_proxy,
                                    metadata_port=conf.metadata_port))


def ra_settings(conf: cfg.ConfigOpts) -> RaSettings:
    return RaSettings(min_rtr_adv_interval=conf.min_rtr_adv_interval,
                      max_rtr_adv_interval=conf.max_rtr_adv_interval)


def ha_settings(conf: cfg.ConfigOpts) -> HaSettings:
    return HaSettings(advert_int=conf.ha_vrrp_advert_int,
                      auth_type=conf.ha_vrrp_auth_type,
                      auth_password=conf.ha_vrrp_auth_password or None,
                      garp_repeat=max(1, conf.send_arp_for_ha))


def ha_confs_dir(conf: cfg.ConfigOpts) -> str:
    return os.path.abspath(str(conf.ha_confs_path))


def ovs_target(conf: cfg.ConfigOpts) -> tuple[str, str] | None:
    """(ovsdb connection, bridge) where router ports are plugged with
    interface_driver = openvswitch; None with the Linux bridge driver."""
    return interface.ovs_target(conf)


def ipsec_dir(conf: cfg.ConfigOpts) -> str:
    return os.path.abspath(str(conf.ipsec.config_base_dir))


def metadata_proxy_dir(conf: cfg.ConfigOpts) -> str:
    """The pid files and logs of the routers' metadata proxies (this agent's own
    directory: it removes every proxy there whose router it does not realise)."""
    return os.path.join(os.path.abspath(str(conf.state_path)), "l3", "metadata-proxy")


def check(conf: cfg.ConfigOpts) -> list[str]:
    """What is wrong with the configuration (empty: fine)."""
    problems = []
    if conf.agent_mode != LEGACY:
        problems.append(f"agent_mode {conf.agent_mode!r} is not supported: use "
                        f"'{LEGACY}' (no distributed routers)")
    problems += interface.check(conf.interface_driver)
    # radvd refuses MinRtrAdvInterval above 0.75 * MaxRtrAdvInterval.
    if conf.min_rtr_adv_interval > 0.75 * conf.max_rtr_adv_interval:
        problems.append(f"min_rtr_adv_interval ({conf.min_rtr_adv_interval}) must be at "
                        f"most 0.75 * max_rtr_adv_interval ({conf.max_rtr_adv_interval})")
    return problems
