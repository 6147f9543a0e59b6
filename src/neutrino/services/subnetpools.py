"""Subnet pools: CRUD with upstream's rules, and add_prefixes / remove_prefixes.

A pool's prefixes are kept summarised (overlaps and neighbours merged). They can
only grow through an update; remove_prefixes takes away space no subnet uses.
Subnets are carved from pools by services/subnet_allocation.py.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session, object_session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.ipam import prefix_allocation as pa
from neutrino.resources.address_scope import (
    AddressScopeNotFound,
    NetworkAddressScopeAffinityError,
)
from neutrino.resources.subnet import UNSET
from neutrino.resources.subnetpool import (
    SUBNETPOOL,
    AddressScopePrefixConflict,
    EmptySubnetPoolPrefixList,
    IllegalSubnetPoolIpVersionAssociationToAddressScope,
    IllegalSubnetPoolPrefixBounds,
    IllegalSubnetPoolPrefixUpdate,
    IllegalSubnetPoolUpdate,
    PrefixVersionMismatch,
    SubnetPoolDeleteError,
    SubnetPoolNotFound,
)
from neutrino.services import address_scopes, common, rbac
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

P = models.SubnetPool
PP = models.SubnetPoolPrefix
COLUMNS = {
    "id": P.id, "name": P.name, "description": P.description,
    "project_id": P.project_id, "tenant_id": P.project_id, "ip_version": P.ip_version,
    "default_prefixlen": P.default_prefixlen, "min_prefixlen": P.min_prefixlen,
    "max_prefixlen": P.max_prefixlen, "default_quota": P.default_quota,
    "is_default": P.is_default, "address_scope_id": P.address_scope_id,
    "created_at": P.created_at, "updated_at": P.updated_at,
    "revision_number": P.revision_number,
}
PREFIXLEN_KEYS = ("min_prefixlen", "max_prefixlen", "default_prefixlen")


def visible_clause(ctx: Context) -> Any:
    """What a project may see or allocate from: its own pools and those an RBAC
    policy (rbac-subnetpool) shares with it or with everyone."""
    return rbac.visible_clause(P, "subnetpool", ctx)


def is_visible(ctx: Context, pool: P) -> bool:
    return (ctx.is_admin or pool.project_id == ctx.project_id
            or rbac.is_shared_with(object_session(pool), "subnetpool", pool.id,
                                   ctx.project_id))


def read_pool(values: dict) -> dict:
    """Upstream's rules for a pool's prefixes and prefix lengths (pure).

    ``values`` holds ``prefixes`` and the three prefix lengths (UNSET when not
    given: min 8 / 64, max 32 / 128, default = min). Returns the settled values with
    the prefixes summarised and ``ip_version`` derived from them.
    """
    prefixes = values["prefixes"]
    if not prefixes:
        raise EmptySubnetPoolPrefixList()
    versions = {ipaddress.ip_network(p, strict=False).version for p in prefixes}
    if len(versions) > 1:
        raise PrefixVersionMismatch()
    version = versions.pop()

    def given(key: str, default: int) -> int:
        value = values.get(key, UNSET)
        return default if value is UNSET or value is None else value

    low = given("min_prefixlen", pa.DEFAULT_MIN_PREFIXLEN[version])
    high = given("max_prefixlen", pa.MAX_PREFIXLEN[version])
    default = given("default_prefixlen", low)
    limit = pa.MAX_PREFIXLEN[version]
    # Checked in upstream's order; the first violation is reported.
    violations = [("min_prefixlen", low, "max_prefixlen", high, low > high),
                  ("max_prefixlen", high, "ip_version_max", limit, high > limit),
                  ("default_prefixlen", default, "min_prefixlen", low, default < low),
                  ("default_prefixlen", default, "max_prefixlen", high, default > high)]
    for name, length, base_name, base, violated in violations:
        if violated:
            raise IllegalSubnetPoolPrefixBounds(
                prefix_type=name, prefixlen=length, base_prefix_type=base_name,
                base_prefixlen=base)
    return {"ip_version": version, "prefixes": pa.summarize(version, prefixes),
            "min_prefixlen": low, "max_prefixlen": high, "default_prefixlen": default}


def check_growth(old: list[str], new: list[str]) -> None:
    """An update may only add to a pool's prefixes."""
    by_version: dict[int, list[str]] = defaultdict(list)
    for prefix in new:
        by_version[ipaddress.ip_network(prefix, strict=False).version].append(prefix)
    old_by_version: dict[int, list[str]] = defaultdict(list)
    for prefix in old:
        old_by_version[ipaddress.ip_network(prefix).version].append(prefix)
    if not all(pa.covers(version, by_version.get(version, []), prefixes)
               for version, prefixes in old_by_version.items()):
        raise IllegalSubnetPoolPrefixUpdate(
            msg="Existing prefixes must be a subset of the new prefixes")


def pool_prefixes(session: Session, pool_id: str) -> list[str]:
    return list(session.scalars(select(PP.cidr).where(PP.subnetpool_id == pool_id)))


def allocated_cidrs(session: Session, pool_id: str) -> list[str]:
    return list(session.scalars(select(models.Subnet.cidr)
                                .where(models.Subnet.subnetpool_id == pool_id)))


class SubnetPoolService:
    resource = SUBNETPOOL
    model = P

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- reads ---------------------------------------------------------------

    def _row(self, session: Session, pool_id: str, lock: bool = False) -> P:
        row = session.get(P, pool_id, with_for_update=lock, populate_existing=lock)
        if row is None:
            raise SubnetPoolNotFound(subnetpool_id=pool_id)
        return row

    def get(self, ctx: Context, pool_id: str) -> dict:
        return self.deps.db.run(
            lambda s: self.to_dicts(s, [self._row(s, pool_id)], ctx=ctx)[0], write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            def shared(name: str, pairs: list[tuple[str, str]]) -> Any:
                if name != "shared":
                    raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for "
                                             "filtering")
                return rbac.shared_filter(P, "subnetpool", ctx.project_id,
                                          [value for _, value in pairs])
            stmt = select(P).where(*filter_clauses(P, query, COLUMNS, shared))
            if not ctx.is_admin:
                stmt = stmt.where(visible_clause(ctx))
            rows = fetch_page(session, stmt, query, COLUMNS, P,
                              lambda i: SubnetPoolNotFound(subnetpool_id=i))
            return self.to_dicts(session, rows, ctx=ctx)
        return self.deps.db.run(run, write=False)

    def to_dicts(self, session: Session, rows: list[P], ctx: Context | None = None
                 ) -> list[dict]:
        """`shared`: an RBAC policy shares the pool with the caller's project or with
        everyone (without a context: with everyone)."""
        ids = [r.id for r in rows]
        shared = rbac.shared_ids(session, "subnetpool", ids,
                                 ctx.project_id if ctx is not None else None)
        tags = common.load_tags(session, ids)
        prefixes: dict[str, list[str]] = defaultdict(list)
        for pool_id, cidr in rows_for_ids(session, select(PP.subnetpool_id, PP.cidr),
                                          PP.subnetpool_id, ids):
            prefixes[pool_id].append(cidr)
        out = []
        for row in rows:
            item = common.standard_dict(row, tags.get(row.id, []))
            item.update(
                prefixes=sorted(prefixes.get(row.id, []),
                                key=lambda c: ipaddress.ip_network(c).network_address),
                # Strings, as upstream shows them (clients such as tempest compare
                # them with the strings they sent).
                ip_version=row.ip_version, default_prefixlen=str(row.default_prefixlen),
                min_prefixlen=str(row.min_prefixlen), max_prefixlen=str(row.max_prefixlen),
                default_quota=row.default_quota, is_default=row.is_default,
                shared=row.id in shared, address_scope_id=row.address_scope_id)
            out.append(item)
        return out

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        settled = [dict(data, **read_pool(data)) for data in items]  # no DB needed
        return common.create_all(
            self.deps, "subnetpool", ctx, settled,
            lambda session, data: self._create(session, ctx, data, authorize),
            self.to_dicts)

    def _create(self, session: Session, ctx: Context, data: dict,
                authorize: Authorize) -> P:
        authorize(data, dict(data, tenant_id=data["project_id"]))
        pool_id = common.new_id()
        version = data["ip_version"]
        if data["is_default"]:
            self._check_no_default(session, version)
        self._check_scope(session, ctx, data["address_scope_id"], pool_id,
                          data["prefixes"], version)
        self.deps.quotas.check(session, data["project_id"], "subnetpool", 1)
        row = P(id=pool_id, project_id=data["project_id"], name=data["name"],
                description=data["description"], ip_version=version,
                default_prefixlen=data["default_prefixlen"],
                min_prefixlen=data["min_prefixlen"], max_prefixlen=data["max_prefixlen"],
                is_default=data["is_default"],
                default_version=version if data["is_default"] else None,
                default_quota=data["default_quota"],
                address_scope_id=data["address_scope_id"], revision_number=0)
        session.add(row)
        session.flush()
        if data["shared"]:  # a "*" access_as_shared policy, as upstream
            rbac.add_policy(session, "subnetpool", row.id, rbac.SHARED, rbac.WILDCARD,
                            row.project_id)
        self._write_prefixes(session, pool_id, data["prefixes"])
        if data.get("tags"):
            common.set_tags(session, "subnetpools", pool_id, data["tags"])
        return row

    @staticmethod
    def _check_no_default(session: Session, version: int) -> None:
        """One default per IP version (the unique default_version column settles a
        race: the loser is retried and ends here)."""
        if session.scalars(select(P.id).where(P.default_version == version)).first():
            raise exc.InvalidInput(
                "A default subnetpool for this IP family has already been set. Only one "
                "default may exist per IP family")

    def _check_scope(self, session: Session, ctx: Context, scope_id: str | None,
                     pool_id: str, prefixes: list[str], version: int,
                     rescoped: bool = False) -> None:
        """A pool may join a scope it can see, of its IP version, without sharing
        addresses with the scope's other pools, and without leaving a network with
        subnets in different scopes."""
        if scope_id is None:
            return
        # The scope row lock makes pools joining one scope take turns, so two cannot
        # both pass the overlap check with overlapping prefixes.
        scope = session.get(models.AddressScope, scope_id, with_for_update=True)
        if scope is None or not address_scopes.is_accessible(ctx, scope):
            raise AddressScopeNotFound(address_scope_id=scope_id)
        if scope.ip_version != version:
            raise IllegalSubnetPoolIpVersionAssociationToAddressScope(
                subnetpool_id=pool_id, address_scope_id=scope_id,
                ip_version=scope.ip_version)
        if rescoped:
            self._check_network_affinity(session, pool_id, version, scope_id)
        others = session.scalars(select(PP.cidr).join(P, P.id == PP.subnetpool_id).where(
            P.address_scope_id == scope_id, P.id != pool_id)).all()
        if others and pa.overlaps(version, prefixes, others):
            raise AddressScopePrefixConflict()

    @staticmethod
    def _check_network_affinity(session: Session, pool_id: str, version: int,
                                scope_id: str) -> None:
        """Moving a pool into a scope must not leave a network of its subnets with
        subnets of this version outside that scope."""
        S = models.Subnet
        networks = select(S.network_id).where(S.subnetpool_id == pool_id)
        in_scope = select(P.id).where(P.address_scope_id == scope_id)
        stray = session.scalars(select(S.id).where(
            S.network_id.in_(networks), S.ip_version == version,
            or_(S.subnetpool_id.is_(None),
                and_(S.subnetpool_id != pool_id, S.subnetpool_id.not_in(in_scope))))
            .limit(1)).first()
        if stray is not None:
            raise NetworkAddressScopeAffinityError()

    def _write_prefixes(self, session: Session, pool_id: str, prefixes: list[str]) -> None:
        session.execute(delete(PP).where(PP.subnetpool_id == pool_id))
        for cidr in prefixes:
            session.add(PP(subnetpool_id=pool_id, cidr=cidr))

    def update(self, ctx: Context, pool_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self._row(session, pool_id, lock=True)
            common.check_revision(row, revision)
            self._apply_update(session, ctx, row, data)
            common.bump_revision(row)
            session.flush()
            return self.to_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.deps.events.publish("subnetpool", events.AFTER_UPDATE,
                                 events.Payload(ctx, pool_id, states=(None, new)))
        return new

    def _apply_update(self, session: Session, ctx: Context, row: P, data: dict) -> None:
        current = pool_prefixes(session, row.id)
        if "prefixes" in data:
            check_growth(current, data["prefixes"])
        merged = {"prefixes": data.get("prefixes", current)}
        for key in PREFIXLEN_KEYS:
            merged[key] = data[key] if key in data else getattr(row, key)
        settled = read_pool(merged)
        is_default = data.get("is_default", row.is_default)
        if is_default and not row.is_default:
            self._check_no_default(session, settled["ip_version"])
        if row.address_scope_id is not None:
            scope = session.get(models.AddressScope, row.address_scope_id)
            if scope is not None and not (ctx.is_admin or scope.project_id == ctx.project_id):
                raise IllegalSubnetPoolUpdate(
                    reason=f"subnetpool {row.id} cannot be updated when associated with "
                           f"shared address scope {row.address_scope_id}")
        scope_id = data.get("address_scope_id", row.address_scope_id)
        self._check_scope(session, ctx, scope_id, row.id, settled["prefixes"],
                          settled["ip_version"], rescoped=scope_id != row.address_scope_id)
        common.apply_standard(row, data)
        for key in PREFIXLEN_KEYS:
            setattr(row, key, settled[key])
        if "default_quota" in data:
            row.default_quota = data["default_quota"]
        row.is_default = is_default
        row.default_version = settled["ip_version"] if is_default else None
        row.address_scope_id = scope_id
        if settled["prefixes"] != sorted(current, key=_address_key):
            self._write_prefixes(session, row.id, settled["prefixes"])

    def change_prefixes(self, ctx: Context, pool_id: str, prefixes: list[str],
                        add: bool) -> dict:
        """add_prefixes / remove_prefixes; answers the pool's prefixes afterwards."""
        def run(session: Session) -> dict:
            row = self._row(session, pool_id, lock=True)
            current = pool_prefixes(session, pool_id)
            if add:
                self._apply_update(session, ctx, row, {"prefixes": current + prefixes})
            else:
                new = self._removed(session, row, current, prefixes)
                if new is None:
                    return {"prefixes": sorted(current, key=_address_key)}
                self._write_prefixes(session, pool_id, new)
            common.bump_revision(row)
            session.flush()
            return {"prefixes": sorted(pool_prefixes(session, pool_id), key=_address_key)}
        result = self.deps.db.run(run)
        self.deps.events.publish("subnetpool", events.AFTER_UPDATE,
                                 events.Payload(ctx, pool_id, states=(None, None)))
        return result

    @staticmethod
    def _removed(session: Session, row: P, current: list[str],
                 prefixes: list[str]) -> list[str] | None:
        """The prefixes left after removing ``prefixes``; None when nothing changes."""
        version = row.ip_version
        removal = [p for p in prefixes
                   if ipaddress.ip_network(p, strict=False).version == version]
        if not removal or not pa.overlaps(version, current, removal):
            return None
        if pa.overlaps(version, allocated_cidrs(session, row.id), removal):
            raise IllegalSubnetPoolPrefixUpdate(
                msg="One or more the prefixes to be removed is in use by a subnet")
        return [str(b) for b in pa.free_blocks(version, current, removal)]

    def delete(self, ctx: Context, pool_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = self._row(session, pool_id, lock=True)
            common.check_revision(row, revision)
            if allocated_cidrs(session, pool_id):
                raise SubnetPoolDeleteError(reason="Subnet pool has existing allocations")
            session.execute(delete(PP).where(PP.subnetpool_id == pool_id))
            common.delete_tags(session, pool_id)
            rbac.delete_for_object(session, "subnetpool", pool_id)
            session.delete(row)
        self.deps.db.run(run)
        self.deps.events.publish("subnetpool", events.AFTER_DELETE,
                                 events.Payload(ctx, pool_id))


def _address_key(cidr: str) -> Any:
    return ipaddress.ip_network(cidr).network_address
