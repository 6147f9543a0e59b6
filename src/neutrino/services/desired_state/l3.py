"""The desired state kind "l3" (contract/l3.py): every router scheduled to the
host's L3 agent, with its interfaces, gateway, SNAT flag, extra routes and floating
IPs with their port forwardings and QoS limits (and, per address, its subnet's IPv6
RA/address modes and name servers); a HA router also its VRRP id and this agent's
HA port. A fixed number of queries whatever the number of routers.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from typing import cast

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from neutrino.contract import names, topics
from neutrino.contract.common import Route
from neutrino.contract.l3 import FloatingIp, L3State, PortForwarding, Router, RouterPort
from neutrino.contract.qos import BandwidthLimitRule
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.services import qos_l3
from neutrino.services.l3_ha import HA_OWNER
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
PF = models.PortForwarding
HB = models.HaRouterAgentPortBinding
VR = models.HaRouterVrIdAllocation
FB = models.QosFipPolicyBinding


def build(session: Session, host: str) -> L3State:
    agent_id = session.scalars(select(A.id).where(
        A.agent_type == topics.AGENT_TYPE_L3, A.host == host)).first()
    if agent_id is None:
        return {"host": host, "routers": []}
    # Columns, not Router objects (issue 17: no ORM work per router).
    routers = session.connection().execute(
        select(R.id, R.revision_number, R.admin_state_up, R.enable_snat, R.ha)
        .join(B, B.router_id == R.id).where(B.l3_agent_id == agent_id)
        .order_by(R.id)).all()
    ids = [r.id for r in routers]
    ports = _router_ports(session, ids)
    routes: dict[str, list[Route]] = defaultdict(list)
    stmt = select(RR.router_id, RR.destination, RR.nexthop).order_by(RR.destination,
                                                                      RR.nexthop)
    for router_id, dest, nexthop in rows_for_ids(session, stmt, RR.router_id, ids):
        routes[router_id].append({"destination": dest, "nexthop": nexthop})
    fips: dict[str, list[FloatingIp]] = defaultdict(list)
    # The floating IPs with their QoS policy (joined), selected by router: no list
    # of their ids is sent back (issue 17).
    fip_stmt = (select(FIP.router_id, FIP.id, FIP.floating_ip_address,
                       FIP.fixed_ip_address, FIP.fixed_port_id, FIP.status,
                       FIP.revision_number, FB.qos_policy_id)
                .outerjoin(FB, FB.fip_id == FIP.id).order_by(FIP.floating_ip_address))
    fip_rows = rows_for_ids(session, fip_stmt, FIP.router_id, ids)
    forwardings = _port_forwardings(session, ids)
    gateway_qos = qos_l3.gateway_policies(session, ids)
    qos_rules = cast(dict[str, list[BandwidthLimitRule]], qos_l3.l3_rules(
        session, [*(row.qos_policy_id for row in fip_rows if row.qos_policy_id),
                  *gateway_qos.values()]))
    no_rules: list[BandwidthLimitRule] = []
    for (router_id, fip_id, address, fixed_address, fixed_port, status, revision,
         policy_id) in fip_rows:
        fips[router_id].append({
            "id": fip_id, "floating_ip_address": address,
            "fixed_ip_address": fixed_address, "port_id": fixed_port,
            "status": status, "revision_number": revision,
            "port_forwardings": forwardings.get(fip_id, []),
            "qos_rules": qos_rules.get(policy_id, no_rules) if policy_id else []})
    ha_ids = [r.id for r in routers if r.ha]
    vr_ids = dict(rows_for_ids(session, select(VR.router_id, VR.vr_id), VR.router_id,
                               ha_ids))
    ha_ports = _router_ports(session, ha_ids, ha_agent=agent_id) if ha_ids else {}
    out: list[Router] = []
    for router in routers:
        mine = ports.get(router.id, [])
        item: Router = {
            "id": router.id, "revision_number": router.revision_number,
            "admin_state_up": router.admin_state_up, "enable_snat": router.enable_snat,
            "gateway": next((p for kind, p in mine if kind == GW_OWNER), None),
            "interfaces": [p for kind, p in mine if kind != GW_OWNER],
            "routes": routes.get(router.id, []),
            "floating_ips": fips.get(router.id, []),
            "gateway_qos_rules": cast(list[BandwidthLimitRule], qos_rules.get(
                gateway_qos.get(router.id, ""), []))}
        if router.ha:
            item.update(ha=True, ha_vr_id=vr_ids.get(router.id),
                        ha_interface=next((p for _, p in ha_ports.get(router.id, [])),
                                          None))
        out.append(item)
    return {"host": host, "agent_id": agent_id, "routers": out}


def _port_forwardings(session: Session, router_ids: list[str]
                      ) -> dict[str, list[PortForwarding]]:
    """The port forwardings of the routers' floating IPs (one query), in a stable
    order."""
    out: dict[str, list[PortForwarding]] = defaultdict(list)
    stmt = (select(PF.floatingip_id, PF.id, PF.protocol, PF.external_port_start,
                   PF.external_port_end, PF.internal_ip_address, PF.internal_port_start,
                   PF.internal_port_end)
            .join(FIP, FIP.id == PF.floatingip_id)
            .order_by(PF.protocol, PF.external_port_start, PF.id))
    for row in rows_for_ids(session, stmt, FIP.router_id, router_ids):
        out[row.floatingip_id].append({
            "id": row.id, "protocol": row.protocol,
            "external_port_start": row.external_port_start,
            "external_port_end": row.external_port_end,
            "internal_ip_address": row.internal_ip_address,
            "internal_port_start": row.internal_port_start,
            "internal_port_end": row.internal_port_end})
    return out


def _router_ports(session: Session, router_ids: list[str], ha_agent: str | None = None
                  ) -> dict[str, list[tuple[str, RouterPort]]]:
    """The routers' ports (interfaces and gateway) with their addresses and subnets;
    with `ha_agent`, the routers' HA ports of that agent instead."""
    owner = (RP.router_id, RP.port_type, RP.port_id) if ha_agent is None else (
        HB.router_id, literal(HA_OWNER), HB.port_id)
    stmt = (select(owner[0], owner[1], P.id, P.network_id, P.mac_address,
                   P.revision_number, models.Network.mtu, IPA.subnet_id, IPA.ip_address,
                   S.cidr, S.gateway_ip, S.ip_version, S.ipv6_ra_mode,
                   S.ipv6_address_mode)
            .join(P, P.id == owner[2])
            .join(models.Network, models.Network.id == P.network_id)
            .outerjoin(IPA, IPA.port_id == P.id)
            .outerjoin(S, S.id == IPA.subnet_id)
            .order_by(owner[0], P.id, IPA.subnet_id))
    if ha_agent is not None:
        stmt = stmt.where(HB.l3_agent_id == ha_agent)
    by_port: dict[str, RouterPort] = {}
    out: dict[str, list[tuple[str, RouterPort]]] = defaultdict(list)
    for row in rows_for_ids(session, stmt, owner[0], router_ids):
        (router_id, port_type, port_id, network_id, mac, revision, mtu, subnet_id, ip,
         cidr, gateway_ip, ip_version, ra_mode, address_mode) = row
        port = by_port.get(port_id)
        if port is None:
            port = by_port[port_id] = {
                "port_id": port_id, "network_id": network_id,
                "mac_address": mac, "mtu": mtu, "revision_number": revision,
                "device": _device(port_type, port_id),
                "fixed_ips": []}
            out[router_id].append((port_type, port))
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


def _add_dns_nameservers(session: Session, ports: Iterable[RouterPort]) -> None:
    """Each fixed IP's subnet's dns_nameservers (in their order): one query."""
    fixed_ips = [f for port in ports for f in port["fixed_ips"]]
    subnet_ids = sorted({f["subnet_id"] for f in fixed_ips})
    servers: dict[str, list[str]] = defaultdict(list)
    stmt = select(DNS.subnet_id, DNS.address).order_by(DNS.subnet_id, DNS.order)
    for subnet_id, address in rows_for_ids(session, stmt, DNS.subnet_id, subnet_ids):
        servers[subnet_id].append(address)
    for fixed in fixed_ips:
        fixed["dns_nameservers"] = list(servers.get(fixed["subnet_id"], []))


def _device(port_type: str, port_id: str) -> str:
    if port_type == GW_OWNER:
        return names.router_gateway(port_id)
    if port_type == HA_OWNER:
        return names.router_ha_interface(port_id)
    return names.router_interface(port_id)
