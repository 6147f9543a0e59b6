"""Address groups: CRUD plus add_addresses / remove_addresses.

A change of addresses bumps the group's revision and publishes
("address_group", AFTER_UPDATE); rules referring to it (remote_address_group_id)
keep it from being deleted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources.address_group import (
    ADDRESS_GROUP,
    AddressesAlreadyExist,
    AddressesNotFound,
    AddressGroupInUse,
    AddressGroupNotFound,
)
from neutrino.services import common, rbac
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

__all__ = ["AddressGroupNotFound", "AddressGroupService"]

A = models.AddressGroup
AA = models.AddressGroupAddress
COLUMNS = {
    "id": A.id, "name": A.name, "description": A.description,
    "project_id": A.project_id, "tenant_id": A.project_id, "created_at": A.created_at,
    "updated_at": A.updated_at, "revision_number": A.revision_number,
}


class AddressGroupService:
    resource = ADDRESS_GROUP
    model = A

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _row(self, session: Session, group_id: str, lock: bool = False) -> A:
        row = session.get(A, group_id, with_for_update=lock)
        if row is None:
            raise AddressGroupNotFound(address_group_id=group_id)
        return row

    def get(self, ctx: Context, group_id: str) -> dict:
        return self.deps.db.run(
            lambda s: self.to_dicts(s, [self._row(s, group_id)], ctx=ctx)[0], write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(A).where(*filter_clauses(A, query, COLUMNS))
            if not ctx.is_admin:
                stmt = stmt.where(rbac.visible_clause(A, "address_group", ctx))
            rows = fetch_page(session, stmt, query, COLUMNS, A,
                              lambda i: AddressGroupNotFound(address_group_id=i))
            return self.to_dicts(session, rows, ctx=ctx)
        return self.deps.db.run(run, write=False)

    def to_dicts(self, session: Session, rows: list[A], fields: Any = None,
                 ctx: Context | None = None) -> list[dict]:
        # `shared` is for policy only (shared_address_groups); upstream hides it.
        shared = rbac.shared_ids(session, "address_group", [r.id for r in rows],
                                 ctx.project_id if ctx is not None else None)
        addresses: dict[str, list[str]] = defaultdict(list)
        stmt = select(AA.address_group_id, AA.address)
        for group_id, address in rows_for_ids(session, stmt, AA.address_group_id,
                                              [r.id for r in rows]):
            addresses[group_id].append(address)
        out = []
        for row in rows:
            item = common.standard_dict(row, [])
            del item["tags"]
            item["addresses"] = sorted(addresses.get(row.id, []))
            item["shared"] = row.id in shared
            out.append(item)
        return out

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        return common.create_all(
            self.deps, "address_group", ctx, items,
            lambda session, data: self._create(session, data, authorize), self.to_dicts)

    def _create(self, session: Session, data: dict, authorize: Authorize) -> A:
        authorize(data, dict(data, tenant_id=data["project_id"]))
        row = A(id=common.new_id(), project_id=data["project_id"], name=data["name"],
                description=data["description"], revision_number=0)
        session.add(row)
        session.flush()
        for address in data["addresses"]:
            session.add(AA(address_group_id=row.id, address=address))
        return row

    def update(self, ctx: Context, group_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self._row(session, group_id, lock=True)
            common.check_revision(row, revision)
            common.apply_standard(row, data)
            common.bump_revision(row)
            session.flush()
            return self.to_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.deps.events.publish("address_group", events.AFTER_UPDATE,
                                 events.Payload(ctx, group_id, states=(None, new)))
        return new

    def change_addresses(self, ctx: Context, group_id: str, addresses: list[str],
                         add: bool) -> dict:
        def run(session: Session) -> dict:
            row = self._row(session, group_id, lock=True)
            current = set(session.scalars(select(AA.address).where(
                AA.address_group_id == group_id)))
            if add:
                present = [a for a in addresses if a in current]
                if present:
                    raise AddressesAlreadyExist(addresses=present,
                                                address_group_id=group_id)
                for address in addresses:
                    session.add(AA(address_group_id=group_id, address=address))
            else:
                missing = [a for a in addresses if a not in current]
                if missing:
                    raise AddressesNotFound(addresses=missing, address_group_id=group_id)
                session.execute(delete(AA).where(AA.address_group_id == group_id,
                                                 AA.address.in_(addresses)))
            common.bump_revision(row)
            session.flush()
            return self.to_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.deps.events.publish("address_group", events.AFTER_UPDATE,
                                 events.Payload(ctx, group_id, states=(None, new)))
        return new

    def delete(self, ctx: Context, group_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = self._row(session, group_id, lock=True)
            common.check_revision(row, revision)
            used = session.scalars(select(models.SecurityGroupRule.id).where(
                models.SecurityGroupRule.remote_address_group_id == group_id)
                .limit(1)).first()
            if used is not None:
                raise AddressGroupInUse(address_group_id=group_id)
            session.execute(delete(AA).where(AA.address_group_id == group_id))
            rbac.delete_for_object(session, "address_group", group_id)
            session.delete(row)
        self.deps.db.run(run)
        self.deps.events.publish("address_group", events.AFTER_DELETE,
                                 events.Payload(ctx, group_id))
