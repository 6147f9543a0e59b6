"""The seam between the OVS agent and its OpenFlow firewall.

The agent owns br-int's tables 0, 60 and 94. With ``[securitygroup] firewall_driver
= openvswitch`` its table 60 sends traffic from a port (``in_port=<ofport>``) to
table 71 and traffic to a port (its MAC on its local VLAN, the VLAN stripped) to
table 81, with upstream's registers set: ``reg5`` the port's ofport, ``reg6`` its
local VLAN (the network's conntrack zone). Tables 71-93 are the firewall's, its
flows under a cookie of its own; what it accepts it sends to table 94 (NORMAL).

A firewall is any object with ``apply(ports)``; the agent calls it after every
sync's flows, before reporting devices up, with the ports then on br-int. A failure
fails the sync (retried), as the Linux bridge agent's firewall does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from neutrino.contract.l2 import L2Port, L2State


@dataclass(frozen=True)
class FirewallPort:
    """A port on br-int as the firewall needs it."""

    port: L2Port            # the desired state's port (groups, addresses, pairs)
    ofport: int
    local_vlan: int         # also its conntrack zone (reg6)
    bridge: str             # the integration bridge


@dataclass(frozen=True)
class FirewallInput:
    desired: L2State
    ports: list[FirewallPort] = field(default_factory=list)


class OvsFirewall(Protocol):
    def apply(self, ports: FirewallInput) -> None: ...


class NoopFirewall:
    """No filtering: table 60 sends everything to table 94 (NORMAL)."""

    def apply(self, ports: FirewallInput) -> None:
        return None
