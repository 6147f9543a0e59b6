"""The firewall's options (upstream's ``[securitygroup]`` names)."""

from __future__ import annotations

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
                                     "remote and address groups"),
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
