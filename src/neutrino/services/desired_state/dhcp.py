"""The desired state kind "dhcp" (contract/dhcp.py): every network scheduled to a
host's DHCP agent with its subnets, ports (extra DHCP options) and the agent's own
port; and one port as ``get_dhcp_port`` answers it. The ports' DNS attributes are
filled by dns.py (they need the configuration)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.contract import topics
from neutrino.contract.common import FixedIp, Route
from neutrino.contract.dhcp import (
    AllocationPool,
    DhcpNetwork,
    DhcpPort,
    DhcpState,
    DhcpSubnet,
    ExtraDhcpOpt,
)
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.services.desired_state.common import ips_by_port
from neutrino.services.dhcp_scheduler import dhcp_device_id

P = models.Port
N = models.Network
S = models.Subnet
A = models.Agent
EDO = models.ExtraDhcpOpt


def build(session: Session, host: str) -> DhcpState:
    """Every network scheduled to `host`'s DHCP agent, in a fixed number of queries."""
    network_ids = list(session.scalars(
        select(models.NetworkDhcpAgentBinding.network_id)
        .join(A, A.id == models.NetworkDhcpAgentBinding.dhcp_agent_id)
        .where(A.agent_type == topics.AGENT_TYPE_DHCP, A.host == host)))
    if not network_ids:
        return {"host": host, "networks": []}
    subnets = _subnets(session, network_ids)
    port_rows = rows_for_ids(
        session, select(P.id, P.network_id, P.mac_address, P.device_id, P.device_owner,
                        P.revision_number).order_by(P.id), P.network_id, network_ids)
    port_ids = [r.id for r in port_rows]
    ips = ips_by_port(session, port_ids)
    opts: dict[str, list[ExtraDhcpOpt]] = defaultdict(list)
    for port_id, name, value, version in rows_for_ids(
            session, select(EDO.port_id, EDO.opt_name, EDO.opt_value, EDO.ip_version),
            EDO.port_id, port_ids):
        opts[port_id].append({"opt_name": name, "opt_value": value, "ip_version": version})
    ports: dict[str, list[DhcpPort]] = defaultdict(list)
    dhcp_ports: dict[str, DhcpPort] = {}
    for r in port_rows:
        item = dhcp_port(r, ips.get(r.id, []), opts.get(r.id, []))
        ports[r.network_id].append(item)
        if r.device_owner == "network:dhcp" and r.device_id == dhcp_device_id(
                host, r.network_id):
            dhcp_ports[r.network_id] = item
    networks: list[DhcpNetwork] = []
    for row in rows_for_ids(session, select(N.id, N.revision_number, N.mtu,
                                            N.admin_state_up), N.id, network_ids):
        networks.append({
            "id": row.id, "revision_number": row.revision_number, "mtu": row.mtu,
            "admin_state_up": row.admin_state_up, "subnets": subnets.get(row.id, []),
            "ports": ports.get(row.id, []), "dhcp_port": dhcp_ports.get(row.id)})
    networks.sort(key=lambda n: n["id"])
    return {"host": host, "networks": networks}


def port_state(session: Session, port_id: str) -> DhcpPort | None:
    """One port as the DHCP agent sees it (get_dhcp_port); None when it is gone."""
    row = session.execute(select(P.id, P.mac_address, P.device_id, P.device_owner,
                                 P.revision_number).where(P.id == port_id)).first()
    if row is None:
        return None
    ips = ips_by_port(session, [port_id]).get(port_id, [])
    opts: list[ExtraDhcpOpt] = [
        {"opt_name": o.opt_name, "opt_value": o.opt_value, "ip_version": o.ip_version}
        for o in session.scalars(select(EDO).where(EDO.port_id == port_id))]
    return dhcp_port(row, ips, opts)


def dhcp_port(row: Any, fixed_ips: list[FixedIp], extra_dhcp_opts: list[ExtraDhcpOpt]
              ) -> DhcpPort:
    """`row`: a result row with id, mac_address, device_id, device_owner and
    revision_number. The DNS attributes are left empty for dns.add_dns."""
    return {"id": row.id, "mac_address": row.mac_address, "fixed_ips": fixed_ips,
            "device_id": row.device_id, "device_owner": row.device_owner,
            "extra_dhcp_opts": sorted(extra_dhcp_opts,
                                      key=lambda o: (o["opt_name"], o["ip_version"])),
            "revision_number": row.revision_number,
            "dns_name": "", "dns_domain": "", "dns_assignment": []}


def _subnets(session: Session, network_ids: list[str]) -> dict[str, list[DhcpSubnet]]:
    rows = rows_for_ids(session, select(
        S.id, S.network_id, S.cidr, S.ip_version, S.gateway_ip, S.enable_dhcp,
        S.ipv6_ra_mode, S.ipv6_address_mode, S.revision_number).order_by(S.id),
        S.network_id, network_ids)
    ids = [r.id for r in rows]
    dns: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for subnet_id, address, order in rows_for_ids(
            session, select(models.DNSNameServer.subnet_id, models.DNSNameServer.address,
                            models.DNSNameServer.order),
            models.DNSNameServer.subnet_id, ids):
        dns[subnet_id].append((order, address))
    routes: dict[str, list[Route]] = defaultdict(list)
    HR = models.HostRoute
    for subnet_id, destination, nexthop in rows_for_ids(
            session, select(HR.subnet_id, HR.destination, HR.nexthop), HR.subnet_id, ids):
        routes[subnet_id].append({"destination": destination, "nexthop": nexthop})
    pools: dict[str, list[AllocationPool]] = defaultdict(list)
    AP = models.AllocationPool
    for subnet_id, first, last in rows_for_ids(
            session, select(AP.subnet_id, AP.first_ip, AP.last_ip).order_by(AP.id),
            AP.subnet_id, ids):
        pools[subnet_id].append({"start": first, "end": last})
    out: dict[str, list[DhcpSubnet]] = defaultdict(list)
    for r in rows:
        out[r.network_id].append({
            "id": r.id, "cidr": r.cidr, "ip_version": r.ip_version,
            "gateway_ip": r.gateway_ip, "enable_dhcp": r.enable_dhcp,
            "dns_nameservers": [a for _, a in sorted(dns.get(r.id, []))],
            "host_routes": sorted(routes.get(r.id, []),
                                  key=lambda h: (h["destination"], h["nexthop"])),
            "allocation_pools": pools.get(r.id, []),
            "ipv6_ra_mode": r.ipv6_ra_mode, "ipv6_address_mode": r.ipv6_address_mode,
            "revision_number": r.revision_number})
    return out
