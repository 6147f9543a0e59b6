"""The database side of IP allocation: the statements, nothing decided here.

The primary key (ip_address, subnet_id) of ``ipallocations`` makes a concurrent
double allocation fail at insert; the request's transaction is then retried
(neutrino.db.engine.Database.run). No lock. ``position`` orders a port's addresses:
the order they were allocated in.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from neutrino.db import models
from neutrino.ipam import subnet_math as sm
from neutrino.ipam.plan import Allocation, PortRef, SubnetInfo

IPA = models.IPAllocation
_S, _AP = models.Subnet, models.AllocationPool

# Built once (hot path of every port create).
_NETWORK_SUBNETS = (
    select(_S.id, _S.ip_version, _S.cidr, _S.gateway_ip, _S.ipv6_ra_mode,
           _S.ipv6_address_mode, _AP.first_ip, _AP.last_ip)
    .outerjoin(_AP, _AP.subnet_id == _S.id)
    .where(_S.network_id == bindparam("network_id"))
    .order_by(_S.created_at, _S.id, _AP.id))
_TAKEN = select(IPA.ip_address).where(
    IPA.subnet_id == bindparam("subnet_id"),
    IPA.ip_address.in_(bindparam("candidates", expanding=True)))
_ALLOCATED = select(IPA.ip_address).where(IPA.subnet_id == bindparam("subnet_id"),
                                          IPA.ip_address == bindparam("ip"))
_INSERT = insert(IPA)


def network_subnets(session: Session, network_id: str) -> list[SubnetInfo]:
    """The network's subnets with their pools, in creation order (one query)."""
    rows = session.connection().execute(_NETWORK_SUBNETS, {"network_id": network_id})
    subnets: dict[str, SubnetInfo] = {}
    for r in rows:
        info = subnets.get(r.id)
        if info is None:
            info = subnets[r.id] = SubnetInfo(
                r.id, network_id, r.ip_version, r.cidr, r.gateway_ip,
                sm.is_auto_address(r.ip_version, r.ipv6_ra_mode, r.ipv6_address_mode), [])
        if r.first_ip is not None:
            info.pools.append((r.first_ip, r.last_ip))
    return list(subnets.values())


def is_allocated(session: Session, subnet_id: str, ip: str) -> bool:
    session.flush()  # addresses added through the ORM in this transaction count too
    return session.connection().execute(
        _ALLOCATED, {"subnet_id": subnet_id, "ip": ip}).first() is not None


def taken_among(session: Session, subnet_id: str, candidates: list[str]) -> set[str]:
    return set(session.connection().scalars(
        _TAKEN, {"subnet_id": subnet_id, "candidates": candidates}))


def used_addresses(session: Session, subnet_id: str) -> set[str]:
    return set(session.scalars(select(IPA.ip_address).where(IPA.subnet_id == subnet_id)))


def used_count(session: Session, subnet_id: str) -> int:
    return session.scalar(select(func.count()).select_from(IPA)
                          .where(IPA.subnet_id == subnet_id)) or 0


def port_allocations(session: Session, port_id: str) -> list[tuple[Allocation, int]]:
    """A port's addresses in allocation order, with their positions."""
    session.flush()
    rows = session.execute(select(IPA.subnet_id, IPA.ip_address, IPA.position)
                           .where(IPA.port_id == port_id)
                           .order_by(IPA.position, IPA.subnet_id, IPA.ip_address))
    return [(Allocation(s, ip), position) for s, ip, position in rows]


def next_position(session: Session, port_id: str) -> int:
    """The position a further address of the port takes (0 for its first)."""
    session.flush()
    top = session.scalar(select(func.max(IPA.position)).where(IPA.port_id == port_id))
    return 0 if top is None else top + 1


def next_positions(session: Session, network_id: str) -> dict[str, int]:
    """next_position of each port of the network that has addresses (one query)."""
    session.flush()
    rows = session.execute(select(IPA.port_id, func.max(IPA.position))
                           .where(IPA.network_id == network_id).group_by(IPA.port_id))
    return {port_id: top + 1 for port_id, top in rows}


def insert_allocations(session: Session, port: PortRef, allocations: list[Allocation],
                       first_position: int) -> None:
    """The port's new addresses, numbered on from ``first_position``."""
    insert_rows(session, [(port, a, first_position + i) for i, a in enumerate(allocations)])


def insert_rows(session: Session, rows: list[tuple[PortRef, Allocation, int]]) -> None:
    """One insert for all (port, allocation, position); a concurrent request that took
    one of the addresses fails it on the primary key and the transaction is retried."""
    if not rows:
        return
    session.connection().execute(_INSERT, [
        {"subnet_id": a.subnet_id, "ip_address": a.ip_address, "port_id": port.id,
         "network_id": port.network_id, "position": position}
        for port, a, position in rows])


def delete_allocations(session: Session, port_id: str,
                       allocations: Iterable[Allocation]) -> None:
    """Delete these allocations of the port."""
    for a in allocations:
        session.execute(delete(IPA).where(IPA.port_id == port_id,
                                          IPA.ip_address == a.ip_address,
                                          IPA.subnet_id == a.subnet_id))


def delete_where(session: Session, *, port_id: str | None = None,
                 subnet_id: str | None = None) -> None:
    """Delete every allocation of the port and/or of the subnet."""
    if port_id is None and subnet_id is None:
        raise ValueError("delete_where needs a port or a subnet")
    stmt = delete(IPA)
    if port_id is not None:
        stmt = stmt.where(IPA.port_id == port_id)
    if subnet_id is not None:
        stmt = stmt.where(IPA.subnet_id == subnet_id)
    session.execute(stmt)
