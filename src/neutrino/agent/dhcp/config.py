"""The DHCP agent's options (upstream's names and sections, dhcp_agent.ini)."""

from __future__ import annotations

import os

from oslo_config import cfg

from neutrino.agent.common import config as agent_config
from neutrino.agent.common import interface
from neutrino.agent.dhcp.render import Settings
from neutrino.agent.metadata import config as metadata_config
from neutrino.contract import options

# Accepted values of interface_driver (agent/common/interface.py, shared with the
# L3 agent).
LINUXBRIDGE_DRIVERS = interface.LINUXBRIDGE_DRIVERS
OVS_DRIVERS = interface.OVS_DRIVERS

# The server's own definitions (same objects: one neutron.conf-style file, or one
# process in the all-in-one, registers them once).
SHARED_OPTS: list[cfg.Opt] = [options.STATE_PATH, options.DNS_DOMAIN]

dhcp_opts: list[cfg.Opt] = [
    cfg.StrOpt("dhcp_confs", default="$state_path/dhcp",
               help="Where the agent keeps each network's dnsmasq files (one "
                    "directory per network: pid, host, addn_hosts, opts, leases). "
                    "They must be readable by dnsmasq after it drops its privileges "
                    "(user nobody), so keep the directory world-traversable."),
    cfg.ListOpt("dnsmasq_dns_servers", default=[],
                help="DNS servers dnsmasq forwards the guests' queries to (the "
                     "guests of a subnet without dns_nameservers are told to ask "
                     "dnsmasq)."),
    cfg.IntOpt("dnsmasq_lease_max", default=2 ** 24, min=1,
               help="Limit on the number of leases of one network (denial of "
                    "service protection)."),
    cfg.IntOpt("dhcp_lease_duration", default=86400, min=-1,
               help="DHCP lease duration in seconds; -1: infinite."),
    cfg.BoolOpt("enable_isolated_metadata", default=False,
                help="Serve metadata on isolated networks (an IPv4 subnet with DHCP "
                     "whose gateway is not a router interface): a metadata proxy on "
                     "169.254.169.254:80 in the network's DHCP namespace, and the "
                     "guests get a route to it through the DHCP port (option 121). "
                     "Needs a metadata agent on this host (metadata_proxy_socket)."),
    cfg.BoolOpt("force_metadata", default=False,
                help="Serve metadata from the DHCP namespace on every network with an "
                     "IPv4 DHCP subnet, routed or not (the route to 169.254.169.254 "
                     "goes through the DHCP port)."),
    cfg.BoolOpt("enable_metadata_network", default=False,
                help="With enable_isolated_metadata: a network with a subnet inside "
                     "169.254.0.0/16 is a metadata network reached through a router; "
                     "its DHCP namespace serves metadata for that router (no option "
                     "121)."),
    cfg.StrOpt("interface_driver", default="linuxbridge",
               help="How the DHCP port is plugged: 'linuxbridge' (a veth pair whose "
                    "host end tap<port> the Linux bridge agent puts in the network's "
                    "bridge; upstream's neutron.agent.linux.interface."
                    "BridgeInterfaceDriver is accepted as the same) or 'openvswitch' "
                    "(the same veth pair, its host end also a port of [ovs] "
                    "integration_bridge with external_ids iface-id=<port>, so the "
                    "Open vSwitch agent tags it; upstream's OVSInterfaceDriver "
                    "accepted as the same)."),
]

# Where the 'openvswitch' interface driver plugs (upstream's [ovs] names; the same
# objects as the L3 agent's).
ovs_opts: list[cfg.Opt] = interface.ovs_opts

dhcp_agent_opts: list[cfg.Opt] = [
    cfg.StrOpt("availability_zone", default="nova",
               help="Availability zone of this agent (networks' "
                    "availability_zone_hints schedule to it)."),
    cfg.FloatOpt("check_child_processes_interval", default=60, min=0,
                 help="Seconds between two checks that every dnsmasq still runs; one "
                      "that died is restarted by a resync. 0: no check (the "
                      "periodic resync still restarts it)."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    agent_config.register_opts(conf)
    conf.register_opts(SHARED_OPTS)
    conf.register_opts(dhcp_opts)
    conf.register_opts(metadata_config.socket_opts)
    conf.register_opts(dhcp_agent_opts, group="AGENT")
    conf.register_opts(ovs_opts, group="ovs")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [*agent_config.list_opts_with(
        [*SHARED_OPTS, *dhcp_opts, *metadata_config.socket_opts], dhcp_agent_opts),
        ("ovs", ovs_opts)]


def settings(conf: cfg.ConfigOpts) -> Settings:
    return Settings(dns_domain=conf.dns_domain,
                    dns_servers=tuple(conf.dnsmasq_dns_servers),
                    lease_duration=conf.dhcp_lease_duration,
                    lease_max=conf.dnsmasq_lease_max,
                    enable_isolated_metadata=conf.enable_isolated_metadata,
                    force_metadata=conf.force_metadata,
                    enable_metadata_network=conf.enable_metadata_network)


def state_dir(conf: cfg.ConfigOpts) -> str:
    return os.path.abspath(str(conf.dhcp_confs))


def metadata_proxy_dir(conf: cfg.ConfigOpts) -> str:
    """The pid files and logs of the DHCP namespaces' metadata proxies (this agent's
    own directory: it removes every proxy there it does not want)."""
    return os.path.join(state_dir(conf), "metadata-proxy")


def ovs_plug(conf: cfg.ConfigOpts) -> tuple[str, str] | None:
    """(ovsdb connection, bridge) where DHCP ports are plugged with
    interface_driver = openvswitch; None with the Linux bridge driver."""
    return interface.ovs_target(conf)
