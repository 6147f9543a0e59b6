"""Security group logging (issue 14): log objects, CRUD.

A create is checked as upstream: the resource type must be loggable, a named
security group (``resource_id``) and port (``target_id``) must exist, and a port
named with a group must be one of the group's members. Deleting a security group
deletes the logs of that group, in its transaction (upstream's behaviour; the
group has no ports then, so no agent has anything to drop). Writes publish ("log",
AFTER_CREATE/AFTER_UPDATE/AFTER_DELETE) with the log's dict, so the ports it covers
can be brought to the agents again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.resources import log as lr
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

G = models.Log
COLUMNS = {
    "id": G.id, "name": G.name, "description": G.description,
    "project_id": G.project_id, "tenant_id": G.project_id,
    "resource_type": G.resource_type, "resource_id": G.resource_id,
    "target_id": G.target_id, "event": G.event, "enabled": G.enabled,
    "created_at": G.created_at, "updated_at": G.updated_at,
    "revision_number": G.revision_number,
}


def log_dict(row: G) -> dict:
    item = common.standard_dict(row, [])
    del item["tags"]
    item.update(resource_type=row.resource_type, resource_id=row.resource_id,
                target_id=row.target_id, event=row.event, enabled=row.enabled)
    return item


def check_request(session: Session, data: dict) -> None:
    """Upstream's checks of a new log, in its order (type, group, port, both)."""
    if data["resource_type"] not in lr.LOGGABLE_TYPES:
        raise lr.InvalidLogResourceType(resource_type=data["resource_type"])
    group_id, port_id = data.get("resource_id"), data.get("target_id")
    if group_id and session.get(models.SecurityGroup, group_id) is None:
        raise lr.ResourceNotFound(resource_id=group_id)
    if port_id and session.get(models.Port, port_id) is None:
        raise lr.TargetResourceNotFound(target_id=port_id)
    if group_id and port_id:
        B = models.SecurityGroupPortBinding
        member = session.scalars(select(B.port_id).where(
            B.port_id == port_id, B.security_group_id == group_id)).first()
        if member is None:
            raise lr.InvalidResourceConstraint(
                resource=lr.SECURITY_GROUP, resource_id=group_id,
                target_resource="port", target_id=port_id)


class LogService:
    resource = lr.LOG
    model = G

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _row(self, session: Session, log_id: str, lock: bool = False) -> G:
        row = session.get(G, log_id, with_for_update=lock)
        if row is None:
            raise lr.LogResourceNotFound(log_id=log_id)
        return row

    def get(self, ctx: Context, log_id: str) -> dict:
        return self.deps.db.run(lambda s: log_dict(self._row(s, log_id)), write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(G).where(*filter_clauses(G, query, COLUMNS))
            rows = fetch_page(session, stmt, query, COLUMNS, G,
                              lambda i: lr.LogResourceNotFound(log_id=i))
            return [log_dict(r) for r in rows]
        return self.deps.db.run(run, write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        def create(session: Session, data: dict) -> G:
            authorize(data, dict(data, tenant_id=data["project_id"]))
            check_request(session, data)
            row = G(id=common.new_id(), project_id=data["project_id"],
                    name=data["name"], description=data["description"],
                    resource_type=data["resource_type"],
                    resource_id=data.get("resource_id"),
                    target_id=data.get("target_id"), event=data["event"],
                    enabled=data["enabled"], revision_number=0)
            session.add(row)
            return row
        return common.create_all(self.deps, "log", ctx, items, create,
                                 lambda s, rows: [log_dict(r) for r in rows])

    def update(self, ctx: Context, log_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> tuple[dict, dict]:
            row = self._row(session, log_id, lock=True)
            common.check_revision(row, revision)
            old = log_dict(row)
            common.apply_standard(row, data)
            if "enabled" in data:
                row.enabled = data["enabled"]
            common.bump_revision(row)
            session.flush()
            return old, log_dict(row)
        old, new = self.deps.db.run(run)
        self.deps.events.publish("log", events.AFTER_UPDATE,
                                 events.Payload(ctx, log_id, states=(old, new)))
        return new

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._group_deleted, "security_group", events.PRECOMMIT_DELETE)

    @staticmethod
    def _group_deleted(resource: str, event: str, payload: events.Payload) -> None:
        session: Session = payload.session
        for row in session.scalars(select(G).where(G.resource_id == payload.resource_id)):
            session.delete(row)

    def delete(self, ctx: Context, log_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> dict:
            row = self._row(session, log_id, lock=True)
            common.check_revision(row, revision)
            old = log_dict(row)
            session.delete(row)
            return old
        old = self.deps.db.run(run)
        self.deps.events.publish("log", events.AFTER_DELETE,
                                 events.Payload(ctx, log_id, states=(old,)))
