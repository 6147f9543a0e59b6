"""The desired state of an L3 agent (get_desired_state kind "l3"): every router
scheduled to the host's L3 agent, with its interfaces, gateway, SNAT flag, extra
routes and floating IPs (and, per address, its subnet's IPv6 RA/address modes and
name servers). A fixed number of queries whatever the number of routers.
The payload is documented in docs/rpc.md.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.db import models
from neutrino.rpc import topics
from neutrino.services.listing import rows_for_ids
from neutrino.services.routers import GW_OWNER

A = models.Agent
B = models.RouterL3AgentBinding
R = models.Router
RP = models.RouterPort
RR = models.RouterRoute
FIP = models.FloatingIP
P = models.Port
IPA = models.IPAllocation
S = models.Subnet
DNS = models.DNSNameServer


def l3_state(session: Session, host: str) -> dict:
    agent_id = session.scalars(select(A.id).where(
        A.agent_type == topics.AGENT_TYPE_L3, A.host == host)).first()
    if agent_id is None:
        return {"host": host, "routers": []}
    routers = list(session.scalars(select(R).join(B, B.router_id == R.id).where(
        B.l3_agent_id == agent_id).order_by(R.id)))
    ids = [r.id for r in routers]
    ports = _router_ports(session, ids)
    routes: dict[str, list[dict]] = defaultdict(list)
    stmt = select(RR.router_id, RR.destination, RR.nexthop).order_by(RR.destination,
                                                                      RR.nexthop)
    for router_id, dest, nexthop in rows_for_ids(session, stmt, RR.router_id, ids):
        routes[router_id].append({"destination": dest, "nexthop": nexthop})
    fips: dict[str, list[dict]] = defaultdict(list)
    stmt = select(FIP.router_id, FIP.id, FIP.floating_ip_address, FIP.fixed_ip_address,
                  FIP.fixed_port_id, FIP.status, FIP.revision_number).order_by(
        FIP.floating_ip_address)
    for router_id, *values in rows_for_ids(session, stmt, FIP.router_id, ids):
        fips[router_id].append(dict(zip(
            ("id", "floating_ip_address", "fixed_ip_address", "port_id", "status",
             "revision_number"), values, strict=True)))
    out = []
    for router in routers:
        mine = ports.get(router.id, [])
        gateway = next((p for p in mine if p["port_type"] == GW_OWNER), None)
        out.append({
            "id": router.id, "revision_number": router.revision_number,
            "admin_state_up": router.admin_state_up, "enable_snat": router.enable_snat,
            "gateway": _strip(gateway),
            "interfaces": [_strip(p) for p in mine if p["port_type"] != GW_OWNER],
            "routes": routes.get(router.id, []),
            "floating_ips": fips.get(router.id, [])})
    return {"host": host, "agent_id": agent_id, "routers": out}


def _strip(port: dict | None) -> dict | None:
    if port is None:
        return None
    return {k: v for k, v in port.items() if k != "port_type"}


def _router_ports(session: Session, router_ids: list[str]) -> dict[str, list[dict]]:
    """The routers' ports (interfaces and gateway) with their addresses and subnets."""
    stmt = (select(RP.router_id, RP.port_type, P.id, P.network_id, P.mac_address,
                   P.revision_number, models.Network.mtu, IPA.subnet_id, IPA.ip_address,
                   S.cidr, S.gateway_ip, S.ip_version, S.ipv6_ra_mode,
                   S.ipv6_address_mode)
            .join(P, P.id == RP.port_id)
            .join(models.Network, models.Network.id == P.network_id)
            .outerjoin(IPA, IPA.port_id == P.id)
            .outerjoin(S, S.id == IPA.subnet_id)
            .order_by(RP.router_id, P.id, IPA.subnet_id))
    by_port: dict[str, dict[str, Any]] = {}
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows_for_ids(session, stmt, RP.router_id, router_ids):
        (router_id, port_type, port_id, network_id, mac, revision, mtu, subnet_id, ip,
         cidr, gateway_ip, ip_version, ra_mode, address_mode) = row
        port = by_port.get(port_id)
        if port is None:
            port = by_port[port_id] = {
                "port_id": port_id, "port_type": port_type, "network_id": network_id,
                "mac_address": mac, "mtu": mtu, "revision_number": revision,
                "device": ("qg-" if port_type == GW_OWNER else "qr-") + port_id[:11],
                "fixed_ips": []}
            out[router_id].append(port)
        if subnet_id is not None:
            port["fixed_ips"].append({
                "subnet_id": subnet_id, "ip_address": ip, "cidr": cidr,
                "prefixlen": ipaddress.ip_network(cidr).prefixlen,
                "ip_version": ip_version,
                # On an interface this is the router's own address; on the gateway,
                # the external subnet's gateway (the router's default route).
                "gateway_ip": gateway_ip,
                # IPv6: what the router advertises on the interface (agent/l3/ra.py).
                "ipv6_ra_mode": ra_mode, "ipv6_address_mode": address_mode,
                "dns_nameservers": []})
    _add_dns_nameservers(session, by_port.values())
    return out


def _add_dns_nameservers(session: Session, ports: Iterable[dict[str, Any]]) -> None:
    """Each fixed IP's subnet's dns_nameservers (in their order): one query."""
    fixed_ips = [f for port in ports for f in port["fixed_ips"]]
    subnet_ids = sorted({f["subnet_id"] for f in fixed_ips})
    servers: dict[str, list[str]] = defaultdict(list)
    stmt = select(DNS.subnet_id, DNS.address).order_by(DNS.subnet_id, DNS.order)
    for subnet_id, address in rows_for_ids(session, stmt, DNS.subnet_id, subnet_ids):
        servers[subnet_id].append(address)
    for fixed in fixed_ips:
        fixed["dns_nameservers"] = list(servers.get(fixed["subnet_id"], []))
