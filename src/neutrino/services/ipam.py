"""IP address management against the database.

Addresses are picked at random from the pools and inserted; the primary key
(ip_address, subnet_id) makes a concurrent double allocation fail at flush, and the
request's transaction is retried (neutrino.db.engine.Database.run). No global lock.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.db import models
from neutrino.ipam import allocator
from neutrino.ipam import subnet_math as sm

_RNG = random.SystemRandom()
CANDIDATES = 16          # random probes per attempt before listing what is free
FREE_SCAN_LIMIT = 4096   # addresses considered when a subnet is nearly full

IPA = models.IPAllocation


@dataclass
class SubnetInfo:
    id: str
    network_id: str
    ip_version: int
    cidr: str
    gateway_ip: str | None
    auto_address: bool
    pools: list[tuple[str, str]]

    @property
    def net(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr)


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


def pick_address(session: Session, subnet: SubnetInfo,
                 avoid: frozenset[str] = frozenset()) -> str | None:
    """A free address from the subnet's pools, not one of `avoid`, or None when
    there is none."""
    if not subnet.pools:
        return None
    candidates = allocator.random_candidates(subnet.pools, CANDIDATES, _RNG)
    taken = set(session.connection().scalars(
        _TAKEN, {"subnet_id": subnet.id, "candidates": candidates}))
    free = [c for c in candidates if c not in taken and c not in avoid]
    if free:
        return free[0]
    used = set(session.scalars(select(IPA.ip_address).where(IPA.subnet_id == subnet.id)))
    remaining = allocator.free_addresses(subnet.pools, used | avoid, limit=FREE_SCAN_LIMIT)
    return _RNG.choice(remaining) if remaining else None


def check_address_for_subnet(subnet: SubnetInfo, ip: str) -> str:
    """A requested address must be a host address inside the subnet."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise exc.InvalidIpForSubnet(ip_address=ip) from None
    net = subnet.net
    if address.version != net.version or address not in net:
        raise exc.InvalidIpForSubnet(ip_address=ip)
    if net.num_addresses > 2 and (address == net.network_address or (
            net.version == 4 and address == net.broadcast_address)):
        raise exc.InvalidIpForSubnet(ip_address=ip)
    return str(address)


def subnet_for_address(subnets: list[SubnetInfo], ip: str) -> SubnetInfo:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise exc.InvalidIpForNetwork(ip_address=ip) from None
    for subnet in subnets:
        if address.version == subnet.ip_version and address in subnet.net:
            return subnet
    raise exc.InvalidIpForNetwork(ip_address=ip)


def used_count(session: Session, subnet_id: str) -> int:
    return session.scalar(select(func.count()).select_from(IPA)
                          .where(IPA.subnet_id == subnet_id)) or 0
