"""The DNS attributes of the DHCP agent's ports: dns_name, dns_domain and
dns_assignment as the API shows them (services/dns.py PortDNS: one query, none
while the dns_domain option is the default), so dnsmasq answers each address with
the port's name."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.orm import Session

from neutrino.contract.dhcp import DhcpPort, DhcpState
from neutrino.services.dns import PortDNS


def add_dns(port_dns: PortDNS, session: Session, ports: list[DhcpPort]) -> None:
    # PortDNS works on the API's plain dicts; it sets exactly the three DNS keys.
    port_dns.extend(session, cast(list[dict[str, Any]], ports))


def add_dns_to_state(port_dns: PortDNS, session: Session, state: DhcpState) -> None:
    add_dns(port_dns, session, [port for network in state["networks"]
                                for port in network["ports"]])
