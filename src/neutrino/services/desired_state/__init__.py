"""The desired state of a host (``get_desired_state``), one module per kind.

Level-triggered agents ask for everything they must realise on their host and
reconcile to it. Each kind is built by one function of (session, host) returning
its neutrino.contract type, in a fixed number of queries whatever the number of
ports or routers, so a host with thousands of ports costs a handful of round trips.
Rows are selected by the host in SQL (a join on the port binding or the router's
agent binding) rather than by lists of thousands of ids sent back from Python; the
few ids that must be sent (networks, groups, routers) go in one array parameter on
PostgreSQL, large IN lists elsewhere (db/listing.py rows_for_ids). Rows are fetched
as tuples (Core selects, no ORM objects) and all at once (issue 17; figures:
docs/rpc.md, bench/desired_state.py).

* l2.py: the Linux bridge agent and its firewall; dhcp.py (+ dns.py, the ports'
  DNS attributes): the DHCP agent; l3.py: the L3 agent.
* Another kind (metadata, QoS, ...): a module with its `build`, its TypedDicts in
  neutrino/contract/, and an entry in `DesiredStates.build` and contract.kinds.
"""

from __future__ import annotations

from oslo_config import cfg
from sqlalchemy.orm import Session

from neutrino.contract.dhcp import DhcpPort
from neutrino.contract.kinds import KINDS, DesiredState
from neutrino.services.desired_state import dhcp, dns, fwaas, l2, l3, vpnaas
from neutrino.services.dns import PortDNS
from neutrino.services.fwaas import enabled as fwaas_enabled
from neutrino.services.vpnaas import enabled as vpnaas_enabled

__all__ = ["KINDS", "DesiredStates", "unknown_kind"]


def unknown_kind(kind: str) -> ValueError:
    return ValueError(f"unknown kind {kind!r}: one of {sorted(KINDS)}")


class DesiredStates:
    """Builds each kind; the DHCP ports' DNS attributes follow the configuration
    (dns_domain) as the API's do."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.port_dns = PortDNS(conf)
        # FWaaS v2 (issue 16): the routers' firewall groups, with its service plugin.
        self.firewall = fwaas_enabled(conf)
        # VPNaaS (issue 16): the routers' VPN services, with its service plugin.
        self.vpn = vpnaas_enabled(conf)

    def build(self, session: Session, host: str, kind: str) -> DesiredState:
        """ValueError for a kind there is not."""
        if kind == "l2":
            return l2.build(session, host)
        if kind == "dhcp":
            state = dhcp.build(session, host)
            dns.add_dns_to_state(self.port_dns, session, state)
            return state
        if kind == "l3":
            l3_state = l3.build(session, host)
            if self.firewall:
                fwaas.add_firewall_groups(session, l3_state)
            if self.vpn:
                vpnaas.add_vpn_services(session, l3_state)
            return l3_state
        raise unknown_kind(kind)

    def dhcp_port(self, session: Session, port_id: str) -> DhcpPort | None:
        """One port as get_dhcp_port answers it; None when it is gone."""
        port = dhcp.port_state(session, port_id)
        if port is not None:
            dns.add_dns(self.port_dns, session, [port])
        return port
