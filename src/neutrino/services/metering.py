"""Metering labels and their rules (issue 14): create, show, list, delete; no
update (as upstream's plugin).

Writes publish ("metering_label" | "metering_label_rule", AFTER_CREATE/AFTER_DELETE);
`MeteringAgentNotifier` turns them into one ``metering_agent`` fanout that makes the
metering agents resync (level-triggered: the message carries no state). A rule is
checked before its transaction (prefixes, upstream's order) and inside it against its
label's other rules of the same direction and ``excluded`` (overlapping
``remote_ip_prefix`` is a 409), the label's row locked so two concurrent creates
cannot both pass.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.resources import metering as mr
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

L = models.MeteringLabel
R = models.MeteringLabelRule
LABEL_COLUMNS = {"id": L.id, "name": L.name, "description": L.description,
                 "project_id": L.project_id, "tenant_id": L.project_id, "shared": L.shared}
RULE_COLUMNS = {"id": R.id, "metering_label_id": R.metering_label_id,
                "direction": R.direction, "excluded": R.excluded,
                "remote_ip_prefix": R.remote_ip_prefix,
                "source_ip_prefix": R.source_ip_prefix,
                "destination_ip_prefix": R.destination_ip_prefix}
RESOURCES = ("metering_label", "metering_label_rule")


def _label(session: Session, label_id: str, lock: bool = False) -> L:
    row = session.get(L, label_id, with_for_update=lock)
    if row is None:
        raise mr.MeteringLabelNotFound(label_id=label_id)
    return row


def label_dict(row: L) -> dict:
    return {"id": row.id, "name": row.name, "description": row.description,
            "project_id": row.project_id, "tenant_id": row.project_id,
            "shared": row.shared}


def rule_dict(row: R) -> dict:
    return {"id": row.id, "metering_label_id": row.metering_label_id,
            "direction": row.direction, "excluded": row.excluded,
            "remote_ip_prefix": row.remote_ip_prefix,
            "source_ip_prefix": row.source_ip_prefix,
            "destination_ip_prefix": row.destination_ip_prefix}


class MeteringLabelService:
    resource = mr.LABEL
    model = L

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def get(self, ctx: Context, label_id: str) -> dict:
        return self.deps.db.run(lambda s: label_dict(_label(s, label_id)), write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(L).where(*filter_clauses(L, query, LABEL_COLUMNS))
            rows = fetch_page(session, stmt, query, LABEL_COLUMNS, L,
                              lambda i: mr.MeteringLabelNotFound(label_id=i))
            return [label_dict(r) for r in rows]
        return self.deps.db.run(run, write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        def create(session: Session, data: dict) -> L:
            authorize(data, dict(data, tenant_id=data["project_id"]))
            row = L(id=common.new_id(), project_id=data["project_id"], name=data["name"],
                    description=data["description"], shared=data["shared"])
            session.add(row)
            return row
        return common.create_all(self.deps, "metering_label", ctx, items, create,
                                 lambda s, rows: [label_dict(r) for r in rows])

    def delete(self, ctx: Context, label_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = _label(session, label_id, lock=True)
            # Its rules go with it (the foreign key cascades too; explicit so SQLite
            # without foreign keys enforced behaves the same).
            for rule in session.scalars(select(R).where(R.metering_label_id == label_id)):
                session.delete(rule)
            session.delete(row)
        self.deps.db.run(run)
        self.deps.events.publish("metering_label", events.AFTER_DELETE,
                                 events.Payload(ctx, label_id))


class MeteringLabelRuleService:
    resource = mr.RULE
    model = R

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _rule(self, session: Session, rule_id: str) -> R:
        row = session.get(R, rule_id)
        if row is None:
            raise mr.MeteringLabelRuleNotFound(rule_id=rule_id)
        return row

    def _with_project(self, session: Session, rows: list[R]) -> list[dict]:
        """The rules' dicts with their label's project (policy targets only: the
        attributes are not shown)."""
        ids = sorted({r.metering_label_id for r in rows})
        projects = dict(session.execute(select(L.id, L.project_id).where(L.id.in_(ids))
                                        ).tuples().all()) if ids else {}
        out = []
        for row in rows:
            item = rule_dict(row)
            item["project_id"] = item["tenant_id"] = projects.get(row.metering_label_id)
            out.append(item)
        return out

    def get(self, ctx: Context, rule_id: str) -> dict:
        return self.deps.db.run(
            lambda s: self._with_project(s, [self._rule(s, rule_id)])[0], write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(R).where(*filter_clauses(R, query, RULE_COLUMNS))
            rows = fetch_page(session, stmt, query, RULE_COLUMNS, R,
                              lambda i: mr.MeteringLabelRuleNotFound(rule_id=i))
            return self._with_project(session, rows)
        return self.deps.db.run(run, write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        for data in items:
            mr.check_rule(data)
        return common.create_all(self.deps, "metering_label_rule", ctx, items,
                                 self._creator(authorize), self._with_project)

    def _creator(self, authorize: Authorize) -> Callable[[Session, dict], R]:
        def create(session: Session, data: dict) -> R:
            label = _label(session, data["metering_label_id"], lock=True)
            authorize(data, dict(data, project_id=label.project_id,
                                 tenant_id=label.project_id))
            _check_overlaps(session, data)
            row = R(id=common.new_id(), metering_label_id=label.id,
                    direction=data["direction"], excluded=data["excluded"],
                    remote_ip_prefix=data.get("remote_ip_prefix"),
                    source_ip_prefix=data.get("source_ip_prefix"),
                    destination_ip_prefix=data.get("destination_ip_prefix"))
            session.add(row)
            session.flush()
            return row
        return create

    def delete(self, ctx: Context, rule_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            session.delete(self._rule(session, rule_id))
        self.deps.db.run(run)
        self.deps.events.publish("metering_label_rule", events.AFTER_DELETE,
                                 events.Payload(ctx, rule_id))


def _check_overlaps(session: Session, data: dict) -> None:
    """Upstream compares remote_ip_prefix only (source/destination rules may
    overlap), among the label's rules of the same direction and excluded flag."""
    new = data.get("remote_ip_prefix")
    if not new:
        return
    existing = session.scalars(select(R.remote_ip_prefix).where(
        R.metering_label_id == data["metering_label_id"],
        R.direction == data["direction"], R.excluded == data["excluded"],
        R.remote_ip_prefix.is_not(None)))
    if any(mr.overlaps(old, new) for old in existing):
        raise mr.MeteringLabelRuleOverlaps(remote_ip_prefix=new)


class MeteringAgentNotifier:
    """Label and rule changes, and routers created, updated (gateway, scheduling)
    or deleted -> one ``metering_agent`` fanout each (any method makes a metering
    agent resync); sent through the process's notifier after commit. Upstream's
    method names, for operators reading the queues."""

    def __init__(self, cast: Callable[[str], None]) -> None:
        self.cast = cast

    def subscribe(self, registry: events.Registry) -> None:
        for resource in RESOURCES:
            for event in (events.AFTER_CREATE, events.AFTER_DELETE):
                registry.subscribe(self._changed, resource, event)
        for event in (events.AFTER_CREATE, events.AFTER_UPDATE, events.AFTER_DELETE):
            registry.subscribe(self._router_changed, "router", event)

    def _changed(self, resource: str, event: str, payload: events.Payload) -> None:
        action = "add" if event == events.AFTER_CREATE else "remove"
        self.cast(f"{action}_{resource}")

    def _router_changed(self, resource: str, event: str, payload: events.Payload
                        ) -> None:
        self.cast("router_deleted" if event == events.AFTER_DELETE
                  else "routers_updated")
