"""The firewall's options (upstream's ``[securitygroup]`` names)."""

from __future__ import annotations

import shutil

from oslo_config import cfg

from neutrino.agent.firewall.driver import Firewall

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


def firewall(conf: cfg.ConfigOpts, namespace: str | None = None) -> Firewall | None:
    """The firewall the configuration asks for; None when filtering is off."""
    group = conf[GROUP]
    if not group.enable_security_group or group.firewall_driver == "noop":
        return None
    return Firewall(namespace)


TOOLS = ("iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save",
         "ipset", "nft", "conntrack")


def check(conf: cfg.ConfigOpts) -> list[str]:
    """Why the configured firewall cannot work on this host (empty: it can)."""
    if firewall(conf) is None:
        return []
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return [f"[securitygroup] firewall_driver = iptables needs {', '.join(missing)} "
                "(Debian packages iptables, ipset, nftables, conntrack), or set "
                "firewall_driver = noop"]
    return []
