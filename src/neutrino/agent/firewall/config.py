"""The firewall's options (upstream's ``[securitygroup]`` names)."""

from __future__ import annotations

import os
import shutil

from oslo_config import cfg

from neutrino.agent.firewall import seclog
from neutrino.agent.firewall.driver import Firewall
from neutrino.agent.firewall.log_reader import LogOutput, LogReader

securitygroup_opts = [
    cfg.BoolOpt("enable_security_group", default=True,
                help="Filter the traffic of ports with port security by their "
                     "security groups. Off: no filtering at all (no anti-spoofing "
                     "either)."),
    cfg.StrOpt("firewall_driver", default="iptables",
               choices=[("iptables", "iptables/ip6tables rules with -m physdev on "
                                     "bridged traffic (br_netfilter) and ipsets for "
                                     "remote and address groups, nftables' bridge "
                                     "family against ARP and MAC spoofing"),
                        ("noop", "no filtering")],
               help="How security groups are enforced on this host."),
]

GROUP = "securitygroup"

# Security group logging (upstream's [network_log] names and defaults).
network_log_opts = [
    cfg.IntOpt("rate_limit", default=100, min=100, max=seclog.LIMIT_SCALE,
               help="Maximum packets logging per second: the rate of each log rule "
                    "(iptables' limit match, which takes at most 10000)."),
    cfg.IntOpt("burst_limit", default=25, min=25, max=10000,
               help="Maximum number of packets per rate_limit."),
    cfg.StrOpt("local_output_log_base",
               help="Output logfile path on agent side. Unset: the lines go to the "
                    "agent's own log (logger neutrino.security_group_log)."),
]

LOG_GROUP = "network_log"


def log_settings(conf: cfg.ConfigOpts) -> seclog.LogSettings:
    group = conf[LOG_GROUP]
    return seclog.LogSettings(rate_limit=group.rate_limit, burst_limit=group.burst_limit)


def firewall(conf: cfg.ConfigOpts, namespace: str | None = None) -> Firewall | None:
    """The firewall the configuration asks for; None when filtering is off."""
    group = conf[GROUP]
    if not group.enable_security_group or group.firewall_driver == "noop":
        return None
    return Firewall(namespace, log_settings(conf))


def log_reader(conf: cfg.ConfigOpts, namespace: str | None = None) -> LogReader:
    """The reader writing the firewall's logged packets where [network_log] says."""
    return LogReader(namespace, seclog.NFLOG_GROUP,
                     LogOutput(conf[LOG_GROUP].local_output_log_base))


TOOLS = ("iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save",
         "ipset", "nft", "conntrack")


def check(conf: cfg.ConfigOpts) -> list[str]:
    """Why the configured firewall cannot work on this host (empty: it can)."""
    if firewall(conf) is None:
        return []
    problems = []
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        problems.append(f"[securitygroup] firewall_driver = iptables needs "
                        f"{', '.join(missing)} (Debian packages iptables, ipset, "
                        "nftables, conntrack), or set firewall_driver = noop")
    path = conf[LOG_GROUP].local_output_log_base
    if path and not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
        problems.append(f"[network_log] local_output_log_base = {path}: its directory "
                        "does not exist or is not writable")
    return problems
