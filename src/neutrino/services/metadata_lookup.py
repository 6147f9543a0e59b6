"""Which instance a metadata request comes from (get_metadata_instance, docs/rpc.md).

(a network, or a router's interface networks) + the VM's source address → exactly
one port with that fixed IP, not a ``network:*`` port, with a device_id → the
instance (device_id) and its project, and what the metadata agent's built-in
upstream serves: the port (addresses, MAC, name, DNS name), its network (MTU), the
subnets of its addresses (gateway, DNS servers, host routes, IPv6 modes) and its
floating IPs. Anything else is None: the agent answers 404, never another
instance's data. A fixed number of queries.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.contract.common import FixedIp, Route
from neutrino.contract.metadata import MetadataInstance, MetadataPort, MetadataSubnet
from neutrino.db import models
from neutrino.services.routers import GW_OWNER

P = models.Port
IPA = models.IPAllocation
RP = models.RouterPort
S = models.Subnet
N = models.Network
FIP = models.FloatingIP


def network_ids_of(session: Session, network_id: str | None, router_id: str | None
                   ) -> list[str]:
    """The networks a request may come from: the given one, or those the router has
    interfaces on (its gateway network is outside: no instance asks from there)."""
    if network_id:
        return [network_id]
    if not router_id:
        return []
    return sorted(set(session.scalars(
        select(P.network_id).join(RP, RP.port_id == P.id)
        .where(RP.router_id == router_id, RP.port_type != GW_OWNER))))


def find_instance(session: Session, ip_address: str, network_id: str | None = None,
                  router_id: str | None = None, port_dns: Any = None
                  ) -> MetadataInstance | None:
    """The instance behind the address (module docstring), or None. `port_dns`
    (services.dns.PortDNS) gives the port's dns_assignment, hence the hostname."""
    try:
        address = str(ipaddress.ip_address(ip_address))
    except ValueError:
        return None
    networks = network_ids_of(session, network_id, router_id)
    if not networks:
        return None
    rows = session.execute(
        select(P.id, P.name, P.network_id, P.mac_address, P.device_id, P.device_owner,
               P.project_id)
        .join(IPA, IPA.port_id == P.id)
        .where(IPA.ip_address == address, IPA.network_id.in_(networks))).all()
    ports = {r.id: r for r in rows if not (r.device_owner or "").startswith("network:")}
    if len(ports) != 1:
        return None  # none, or ambiguous: nobody's data rather than the wrong one's
    row = next(iter(ports.values()))
    if not row.device_id:
        return None
    return _details(session, row, port_dns)


def _details(session: Session, row: Any, port_dns: Any) -> MetadataInstance:
    fixed_ips = [FixedIp(subnet_id=s, ip_address=ip) for s, ip in session.execute(
        select(IPA.subnet_id, IPA.ip_address).where(IPA.port_id == row.id)
        .order_by(IPA.subnet_id, IPA.ip_address))]
    # PortDNS extends API items: dns_name, dns_domain and dns_assignment.
    dns: dict[str, Any] = {"id": row.id, "fixed_ips": fixed_ips}
    if port_dns is not None:
        port_dns.extend(session, [dns])
    port = MetadataPort(id=row.id, name=row.name or "", network_id=row.network_id,
                        mac_address=row.mac_address, device_owner=row.device_owner,
                        fixed_ips=fixed_ips, dns_name=dns.get("dns_name") or "",
                        dns_domain=dns.get("dns_domain") or "")
    assignments = list(dns.get("dns_assignment") or [])
    # The name of its first IPv4 address (the one EC2's local-ipv4 shows), else any.
    assignments.sort(key=lambda a: ipaddress.ip_address(a["ip_address"]).version)
    if assignments:
        port["hostname"] = assignments[0]["hostname"]
        port["fqdn"] = assignments[0]["fqdn"].rstrip(".")
    network = session.execute(select(N.id, N.name, N.mtu).where(
        N.id == row.network_id)).one()
    return {"instance_id": row.device_id, "project_id": row.project_id or "",
            "port": port,
            "network": {"id": network.id, "name": network.name, "mtu": network.mtu},
            "subnets": _subnets(session, sorted({i["subnet_id"] for i in fixed_ips})),
            "floating_ips": list(session.scalars(
                select(FIP.floating_ip_address).where(FIP.fixed_port_id == row.id)
                .order_by(FIP.floating_ip_address)))}


def _subnets(session: Session, ids: list[str]) -> list[MetadataSubnet]:
    if not ids:
        return []
    dns: dict[str, list[tuple[int, str]]] = {}
    DNS = models.DNSNameServer
    for subnet_id, address, order in session.execute(
            select(DNS.subnet_id, DNS.address, DNS.order).where(DNS.subnet_id.in_(ids))):
        dns.setdefault(subnet_id, []).append((order, address))
    routes: dict[str, list[Route]] = {}
    HR = models.HostRoute
    for subnet_id, destination, nexthop in session.execute(
            select(HR.subnet_id, HR.destination, HR.nexthop).where(HR.subnet_id.in_(ids))
            .order_by(HR.destination, HR.nexthop)):
        routes.setdefault(subnet_id, []).append({"destination": destination,
                                                 "nexthop": nexthop})
    out: list[MetadataSubnet] = []
    for r in session.execute(select(S.id, S.cidr, S.ip_version, S.gateway_ip,
                                    S.enable_dhcp, S.ipv6_address_mode, S.ipv6_ra_mode)
                             .where(S.id.in_(ids)).order_by(S.id)):
        out.append({"id": r.id, "cidr": r.cidr, "ip_version": r.ip_version,
                    "gateway_ip": r.gateway_ip, "enable_dhcp": r.enable_dhcp,
                    "ipv6_address_mode": r.ipv6_address_mode,
                    "ipv6_ra_mode": r.ipv6_ra_mode,
                    "dns_nameservers": [a for _, a in sorted(dns.get(r.id, []))],
                    "host_routes": routes.get(r.id, [])})
    return out
