"""The seam between the OVS agent and its OpenFlow firewall.

The agent owns br-int's tables 0, 60 and 94. With ``[securitygroup] firewall_driver
= openvswitch`` its table 60 sends traffic from a port (``in_port=<ofport>``) to
table 71 and traffic to a port (its MAC on its local VLAN, the VLAN stripped) to
table 81, with upstream's registers set: ``reg5`` the port's ofport, ``reg6`` its
local VLAN (the network's conntrack zone). Tables 71-93 are the firewall's, its
flows under a cookie of its own; what it accepts it sends to table 94 (NORMAL).

Table 60's flows are plan.transient_flows (one per MAC of a port, address pairs'
included); the firewall's tables start at 71/81 with the registers already set
and the VLAN popped, and send traffic between two ports of the host from 73
through the destination's 81 (never NORMAL straight to a filtered port). Ports
without port security and ``network:*`` ports (DHCP, router) take the same path
and are accepted in 71/81.

A firewall is any object with ``apply(ports)``; the agent calls it after every
sync's flows, before reporting devices up, with the ports then on br-int. A failure
fails the sync (retried), as the Linux bridge agent's firewall does.
`OpenflowFirewall` is the OpenFlow firewall (firewall/driver.py) behind this seam.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

from neutrino.agent.ovs.firewall.driver import OvsFirewall as OpenflowDriver
from neutrino.agent.ovs.firewall.flows import Binding
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


def vswitchd_control(rundir: str) -> str | None:
    """ovs-vswitchd's control socket in `rundir`: ``ovs-vswitchd.ctl`` when it was
    started with that name (the tests' private switches), else the one its
    pidfile names (``ovs-vswitchd.<pid>.ctl``, what ovs-ctl starts); None: let
    ovs-appctl find it in its default run directory."""
    fixed = os.path.join(rundir, "ovs-vswitchd.ctl")
    if os.path.exists(fixed):
        return fixed
    try:
        with open(os.path.join(rundir, "ovs-vswitchd.pid")) as pidfile:
            return os.path.join(rundir, f"ovs-vswitchd.{int(pidfile.read().strip())}.ctl")
    except (OSError, ValueError):
        return None


class OpenflowFirewall:
    """The OpenFlow firewall (tables 71-93) of the integration bridge behind the
    seam: each sync's ports become its bindings (port id -> ofport, local VLAN)."""

    def __init__(self, rundir: str, bridge: str) -> None:
        self.rundir, self.bridge = rundir, bridge
        self.driver: OpenflowDriver | None = None

    def apply(self, ports: FirewallInput) -> None:
        if self.driver is None:
            # Made on first use: ovs-vswitchd (its control socket) may come later.
            self.driver = OpenflowDriver(f"unix:{os.path.join(self.rundir, self.bridge)}.mgmt",
                                         vswitchd=vswitchd_control(self.rundir))
        self.driver.apply(ports.desired, {p.port["id"]: Binding(p.ofport, p.local_vlan)
                                          for p in ports.ports})
