"""Subnets from subnet pools: which pool a subnet request names, and the CIDR it gets.

Called by the subnet service inside the creating transaction. Allocation is
race-free: the pool's row is locked (SELECT ... FOR UPDATE; SQLite serialises
writers anyway) before its allocated CIDRs are read, so two creates from one pool
take turns and the second sees the first's subnet. Deleting or changing the pool
takes the same lock.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.ipam import prefix_allocation as pa
from neutrino.ipam import subnet_math as sm
from neutrino.resources.address_scope import NetworkAddressScopeAffinityError
from neutrino.resources.subnet import UNSET
from neutrino.resources.subnetpool import (
    MaxPrefixSubnetAllocationError,
    MinPrefixSubnetAllocationError,
    NetworkSubnetPoolAffinityError,
    SubnetAllocationError,
    SubnetPoolNotFound,
    SubnetPoolQuotaExceeded,
)
from neutrino.services import address_scopes
from neutrino.services.subnetpools import (
    allocated_cidrs,
    is_visible,
    pool_prefixes,
    visible_clause,
)

P = models.SubnetPool
S = models.Subnet


def _bad(msg: str) -> exc.BadRequest:
    return exc.BadRequest(resource="subnets", msg=msg)


def is_set(value: object) -> bool:
    return value is not UNSET and value is not None


def check_request(data: dict) -> None:
    """Shape rules of a subnet request, checked before anything is read."""
    if is_set(data.get("cidr")) and is_set(data.get("prefixlen")):
        raise _bad("cidr and prefixlen must not be supplied together")
    if data.get("use_default_subnetpool") and data.get("subnetpool_id"):
        raise _bad("subnetpool_id and use_default_subnetpool cannot both be specified")


def pool_for(session: Session, ctx: Context, data: dict) -> P | None:
    """The pool a subnet request allocates from (locked), or None for a plain CIDR."""
    pool_id = data.get("subnetpool_id")
    if pool_id is None and data.get("use_default_subnetpool"):
        version = (sm.parse_cidr(data["cidr"]).version if is_set(data.get("cidr"))
                   else data["ip_version"])
        stmt = select(P.id).where(P.default_version == version)
        if not ctx.is_admin:  # another project's private default is no default here
            stmt = stmt.where(visible_clause(ctx))
        pool_id = session.scalars(stmt).first()
        if pool_id is None:
            raise _bad(f"No default subnetpool found for IPv{version}")
    if pool_id is None:
        return None
    # populate_existing: after waiting for the lock, read the row as committed now.
    pool = session.get(P, pool_id, with_for_update=True, populate_existing=True)
    if pool is None or not is_visible(ctx, pool):
        raise SubnetPoolNotFound(subnetpool_id=pool_id)
    return pool


def allocate(session: Session, pool: P, data: dict) -> str:
    """The CIDR the request gets from the (locked) pool: the requested one if it is
    free, else the best-fitting free prefix of the requested length."""
    if data["ip_version"] != pool.ip_version:
        raise _bad(f"Cannot allocate IPv{data['ip_version']} subnet from "
                   f"IPv{pool.ip_version} subnet pool")
    specific = is_set(data.get("cidr"))
    if not specific and is_set(data.get("allocation_pools")):
        raise _bad("allocation_pools allowed only for specific subnet requests.")
    net = sm.parse_cidr(data["cidr"], data["ip_version"]) if specific else None
    if net is not None:
        prefixlen = net.prefixlen
    elif is_set(data.get("prefixlen")):
        prefixlen = data["prefixlen"]
    else:
        prefixlen = pool.default_prefixlen
    if prefixlen > pool.max_prefixlen:
        raise MaxPrefixSubnetAllocationError(prefixlen=prefixlen,
                                             max_prefixlen=pool.max_prefixlen)
    if prefixlen < pool.min_prefixlen:
        raise MinPrefixSubnetAllocationError(prefixlen=prefixlen,
                                             min_prefixlen=pool.min_prefixlen)
    _check_quota(session, pool, data["project_id"], prefixlen)
    prefixes, taken = pool_prefixes(session, pool.id), allocated_cidrs(session, pool.id)
    if net is not None:
        if not pa.is_free(pool.ip_version, prefixes, taken, net):
            raise SubnetAllocationError(reason="Cannot allocate requested subnet from the "
                                               "available set of prefixes")
        return str(net)
    found = pa.first_free(pool.ip_version, prefixes, taken, prefixlen)
    if found is None:
        raise SubnetAllocationError(
            reason=f"Insufficient prefix space to allocate subnet size /{prefixlen}")
    return str(found)


def _check_quota(session: Session, pool: P, project_id: str | None, prefixlen: int) -> None:
    """default_quota: the space (addresses for IPv4, /64s for IPv6) one project may
    hold in the pool; unset or 0 means unlimited, as upstream. Counted for the
    requesting project (upstream counts the pool owner's subnets: a known bug)."""
    if not pool.default_quota:
        return
    version = pool.ip_version
    held = session.scalars(select(S.cidr).where(S.subnetpool_id == pool.id,
                                                S.project_id == project_id))
    used = sum(pa.quota_units(version, sm.parse_cidr(c).prefixlen) for c in held)
    if used + pa.quota_units(version, prefixlen) > pool.default_quota:
        raise SubnetPoolQuotaExceeded()


def check_network_affinity(session: Session, network_id: str, ip_version: int,
                           pool: P | None) -> None:
    """A network's subnets of one IP version come from one pool (or none), or, when
    address scopes are used, from pools of one scope (upstream's rules)."""
    scope = address_scopes.network_scopes(session, [network_id]).get(
        network_id, {}).get(ip_version)
    if scope is not None and pool is not None and pool.address_scope_id != scope:
        raise NetworkAddressScopeAffinityError()
    existing = session.execute(select(S.ip_version, S.subnetpool_id)
                               .where(S.network_id == network_id)).all()
    for version, pool_id in existing:
        if version != ip_version:
            continue
        if pool is not None and pool_id != pool.id and scope is None:
            raise NetworkSubnetPoolAffinityError()
        if pool is None and pool_id is not None:
            raise NetworkSubnetPoolAffinityError()


def subnet_cidr(session: Session, ctx: Context, data: dict) -> tuple[str | None, str | None]:
    """(cidr, subnetpool_id) for a subnet create; cidr None when the request gives
    neither a CIDR nor a pool."""
    check_request(data)
    pool = pool_for(session, ctx, data)
    if pool is None:
        if not is_set(data.get("cidr")):
            return None, None
        check_network_affinity(session, data["network_id"], data["ip_version"], None)
        return data["cidr"], None
    cidr = allocate(session, pool, data)
    check_network_affinity(session, data["network_id"], data["ip_version"], pool)
    return cidr, pool.id
