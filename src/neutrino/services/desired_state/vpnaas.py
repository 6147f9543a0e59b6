"""VPNaaS (issue 16) in the "l3" desired state: each router's VPN services with their
site connections, policies, local and peer CIDRs (contract/l3.py VpnService). A
fixed number of queries whatever the number of routers or connections."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from neutrino.contract.l3 import IkePolicy, IpsecPolicy, IpsecSiteConnection, L3State, VpnService
from neutrino.db import models
from neutrino.db.listing import IDS_PER_QUERY, in_chunks, rows_for_ids
from neutrino.services.vpnaas import endpoints_of
from neutrino.services.vpnaas_connections import gateway_ips, peer_cidrs_of

S = models.VPNService
C = models.IPsecSiteConnection
IKE = models.IKEPolicy
IPSEC = models.IPsecPolicy


def _orm_rows(session: Session, stmt: Select, column: Any, ids: list[str]) -> list[Any]:
    """ORM rows of `stmt` whose `column` is one of `ids` (rows_for_ids gives plain
    column rows)."""
    out: list[Any] = []
    for chunk in in_chunks(sorted(set(ids)), IDS_PER_QUERY):
        out.extend(session.execute(stmt.where(column.in_(chunk))).all())
    return out


def add_vpn_services(session: Session, state: L3State) -> None:
    router_ids = [r["id"] for r in state["routers"]]
    services = [s for (s,) in _orm_rows(session, select(S).order_by(S.id), S.router_id,
                                        router_ids)]
    rows = _orm_rows(session, select(C, IKE, IPSEC)
                     .join(IKE, IKE.id == C.ikepolicy_id)
                     .join(IPSEC, IPSEC.id == C.ipsecpolicy_id).order_by(C.id),
                     C.vpnservice_id, [s.id for s in services])
    peer_cidrs = peer_cidrs_of(session, [c.id for c, _, _ in rows])
    groups = endpoints_of(session, {g for c, _, _ in rows
                                    for g in (c.local_ep_group_id, c.peer_ep_group_id) if g})
    subnet_ids = {s.subnet_id for s in services if s.subnet_id} | {
        e for c, _, _ in rows if c.local_ep_group_id for e in groups.get(c.local_ep_group_id, [])}
    cidrs = dict(rows_for_ids(session, select(models.Subnet.id, models.Subnet.cidr),
                              models.Subnet.id, sorted(subnet_ids)))
    by_service: dict[str, list[IpsecSiteConnection]] = defaultdict(list)
    subnet_of = {s.id: s.subnet_id for s in services}
    for conn, ike, ipsec in rows:
        if conn.local_ep_group_id:
            local = [cidrs[e] for e in groups.get(conn.local_ep_group_id, []) if e in cidrs]
            peers = list(groups.get(conn.peer_ep_group_id or "", []))
        else:
            subnet = subnet_of.get(conn.vpnservice_id)
            local = [cidrs[subnet]] if subnet in cidrs else []
            peers = peer_cidrs.get(conn.id, [])
        by_service[conn.vpnservice_id].append({
            "id": conn.id, "status": conn.status, "admin_state_up": conn.admin_state_up,
            "peer_address": conn.peer_address, "peer_id": conn.peer_id,
            "local_id": conn.local_id, "local_cidrs": local, "peer_cidrs": peers,
            "psk": conn.psk, "mtu": conn.mtu, "initiator": conn.initiator,
            "dpd_action": conn.dpd_action, "dpd_interval": conn.dpd_interval,
            "dpd_timeout": conn.dpd_timeout, "ikepolicy": _ike(ike),
            "ipsecpolicy": _ipsec(ipsec)})
    ips = gateway_ips(session, {s.router_id for s in services})
    by_router: dict[str, list[VpnService]] = defaultdict(list)
    for service in services:
        by_router[service.router_id].append({
            "id": service.id, "status": service.status,
            "admin_state_up": service.admin_state_up,
            "external_v4_ip": ips.get(service.router_id, {}).get(4),
            "external_v6_ip": ips.get(service.router_id, {}).get(6),
            "connections": by_service.get(service.id, [])})
    for router in state["routers"]:
        router["vpn_services"] = by_router.get(router["id"], [])


def _ike(row: IKE) -> IkePolicy:
    return {"ike_version": row.ike_version, "auth_algorithm": row.auth_algorithm,
            "encryption_algorithm": row.encryption_algorithm, "pfs": row.pfs,
            "lifetime_seconds": row.lifetime_value,
            "phase1_negotiation_mode": row.phase1_negotiation_mode}


def _ipsec(row: IPSEC) -> IpsecPolicy:
    return {"transform_protocol": row.transform_protocol,
            "encapsulation_mode": row.encapsulation_mode,
            "auth_algorithm": row.auth_algorithm,
            "encryption_algorithm": row.encryption_algorithm, "pfs": row.pfs,
            "lifetime_seconds": row.lifetime_value}
