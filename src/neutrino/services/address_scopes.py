"""Address scopes: CRUD, and the scopes networks inherit from their subnets' pools."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from neutrino import events
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.exceptions import HTTPBadRequest
from neutrino.resources.address_scope import (
    ADDRESS_SCOPE,
    IPV4_ADDRESS_SCOPE,
    IPV6_ADDRESS_SCOPE,
    AddressScopeInUse,
    AddressScopeNotFound,
    AddressScopeUpdateError,
)
from neutrino.services import common, rbac
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

A = models.AddressScope
COLUMNS = {
    "id": A.id, "name": A.name, "project_id": A.project_id, "tenant_id": A.project_id,
    "ip_version": A.ip_version,
}


def visible_clause(ctx: Context) -> Any:
    """What a project may see or use: its own scopes and those an RBAC policy
    (rbac-address-scope) shares with it or with everyone."""
    return rbac.visible_clause(A, "address_scope", ctx)


def is_accessible(ctx: Context, scope: A) -> bool:
    return (ctx.is_admin or scope.project_id == ctx.project_id
            or rbac.is_shared_with(object_session(scope), "address_scope", scope.id,
                                   ctx.project_id))


class AddressScopeService:
    resource = ADDRESS_SCOPE
    model = A

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _row(self, session: Session, scope_id: str, lock: bool = False) -> A:
        row = session.get(A, scope_id, with_for_update=lock)
        if row is None:
            raise AddressScopeNotFound(address_scope_id=scope_id)
        return row

    def get(self, ctx: Context, scope_id: str) -> dict:
        return self.deps.db.run(lambda s: to_dicts(s, [self._row(s, scope_id)], ctx)[0],
                                write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            def shared(name: str, pairs: list[tuple[str, str]]) -> Any:
                if name != "shared":
                    raise HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")
                return rbac.shared_filter(A, "address_scope", ctx.project_id,
                                          [value for _, value in pairs])
            stmt = select(A).where(*filter_clauses(A, query, COLUMNS, shared))
            if not ctx.is_admin:
                stmt = stmt.where(visible_clause(ctx))
            rows = fetch_page(session, stmt, query, COLUMNS, A,
                              lambda i: AddressScopeNotFound(address_scope_id=i))
            return to_dicts(session, rows, ctx)
        return self.deps.db.run(run, write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        return common.create_all(
            self.deps, "address_scope", ctx, items,
            lambda session, data: self._create(data, authorize, session),
            lambda session, rows: to_dicts(session, rows))

    @staticmethod
    def _create(data: dict, authorize: Authorize, session: Session) -> A:
        authorize(data, dict(data, tenant_id=data["project_id"]))
        row = A(id=common.new_id(), project_id=data["project_id"], name=data["name"],
                ip_version=data["ip_version"])
        session.add(row)
        session.flush()
        if data["shared"]:  # a "*" access_as_shared policy, as upstream
            rbac.add_policy(session, "address_scope", row.id, rbac.SHARED, rbac.WILDCARD,
                            row.project_id)
        return row

    def update(self, ctx: Context, scope_id: str, data: dict,
               revision: int | None = None) -> dict:
        # Address scopes have no revision_number upstream: If-Match does not apply.
        def run(session: Session) -> dict:
            row = self._row(session, scope_id, lock=True)
            shared = row.id in rbac.shared_ids(session, "address_scope", [row.id], None)
            if "shared" in data and shared and not data["shared"]:
                # Upstream: a shared scope stays shared (pools of any project may be
                # in it); its RBAC policies are what to narrow.
                raise AddressScopeUpdateError(
                    address_scope_id=row.id, reason="Shared address scope can't be unshared")
            if data.get("shared") and not shared:
                rbac.add_policy(session, "address_scope", row.id, rbac.SHARED,
                                rbac.WILDCARD, row.project_id)
            if "name" in data:
                row.name = data["name"]
            session.flush()
            return to_dicts(session, [row], ctx)[0]
        new = self.deps.db.run(run)
        self.deps.events.publish("address_scope", events.AFTER_UPDATE,
                                 events.Payload(ctx, scope_id, states=(None, new)))
        return new

    def delete(self, ctx: Context, scope_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = self._row(session, scope_id, lock=True)
            used = session.scalars(select(models.SubnetPool.id).where(
                models.SubnetPool.address_scope_id == scope_id).limit(1)).first()
            if used is not None:
                raise AddressScopeInUse(address_scope_id=scope_id)
            rbac.delete_for_object(session, "address_scope", scope_id)
            session.delete(row)
        self.deps.db.run(run)
        self.deps.events.publish("address_scope", events.AFTER_DELETE,
                                 events.Payload(ctx, scope_id))


def to_dicts(session: Session, rows: list[A], ctx: Context | None = None) -> list[dict]:
    """`shared`: an RBAC policy shares the scope with the caller's project or with
    everyone (without a context: with everyone)."""
    shared = rbac.shared_ids(session, "address_scope", [r.id for r in rows],
                             ctx.project_id if ctx is not None else None)
    return [{"id": row.id, "name": row.name, "project_id": row.project_id,
             "tenant_id": row.project_id, "shared": row.id in shared,
             "ip_version": row.ip_version} for row in rows]


class NetworkAddressScopes:
    """`ipv4_address_scope` / `ipv6_address_scope` of networks: the scope of the
    pools their subnets came from (null when none), computed on every read."""

    attribute = IPV4_ADDRESS_SCOPE
    attributes = (IPV4_ADDRESS_SCOPE, IPV6_ADDRESS_SCOPE)

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        item[IPV4_ADDRESS_SCOPE] = item[IPV6_ADDRESS_SCOPE] = None  # no subnets yet

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        self.extend(session, [item])

    def extend(self, session: Session, items: list[dict]) -> None:
        scopes = network_scopes(session, [item["id"] for item in items])
        for item in items:
            found = scopes.get(item["id"], {})
            item[IPV4_ADDRESS_SCOPE] = found.get(4)
            item[IPV6_ADDRESS_SCOPE] = found.get(6)

    def filters(self) -> dict:
        return {}


def network_scopes(session: Session, network_ids: list[str]) -> dict[str, dict[int, str]]:
    """{network_id: {ip_version: address_scope_id}} from the networks' subnets' pools."""
    S, P = models.Subnet, models.SubnetPool
    stmt = (select(S.network_id, S.ip_version, P.address_scope_id)
            .join(P, P.id == S.subnetpool_id)
            .where(P.address_scope_id.is_not(None)))
    out: dict[str, dict[int, str]] = defaultdict(dict)
    for network_id, version, scope_id in rows_for_ids(session, stmt, S.network_id,
                                                      network_ids):
        out[network_id].setdefault(version, scope_id)
    return out
