"""What a new security group starts with: rules made from the admin-managed
templates (security-groups-default-rules) and, when its request does not say, the
`stateful` of the project's or the system-wide setting
(security-groups-default-statefulness).

`rules_for_new_group` and `default_stateful` are what group creation calls, inside
its transaction; the two services are the API of the templates and settings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.resources import default_security_group_rule as dsr
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

T = models.DefaultSecurityGroupRule
S = models.SecurityGroupDefaultStatefulness

TEMPLATE_COLUMNS = {
    "id": T.id, "description": T.description, "remote_group_id": T.remote_group_id,
    "remote_address_group_id": T.remote_address_group_id, "direction": T.direction,
    "protocol": T.protocol, "port_range_min": T.port_range_min,
    "port_range_max": T.port_range_max, "ethertype": T.ethertype,
    "remote_ip_prefix": T.remote_ip_prefix, "used_in_default_sg": T.used_in_default_sg,
    "used_in_non_default_sg": T.used_in_non_default_sg,
}
RULE_FIELDS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
               "remote_ip_prefix", "remote_group_id", "remote_address_group_id")


# -- what group creation uses --------------------------------------------------------

def rules_for_new_group(session: Session, group_id: str, project_id: str,
                        default_group: bool, now: dt.datetime) -> list[dict]:
    """Rows of securitygrouprules for a new group, from the templates that apply to
    it ("PARENT" becomes the group itself)."""
    used = T.used_in_default_sg if default_group else T.used_in_non_default_sg
    templates = session.scalars(select(T).where(used.is_(True))
                                .order_by(T.direction, T.ethertype, T.id)).all()
    rows = []
    for template in templates:
        rule = {name: getattr(template, name) for name in RULE_FIELDS}
        if rule["remote_group_id"] == dsr.PARENT:
            rule["remote_group_id"] = group_id
        rows.append(dict(rule, id=common.new_id(), project_id=project_id, name="",
                         description="", security_group_id=group_id, created_at=now,
                         updated_at=now, revision_number=0))
    return rows


def default_stateful(session: Session, project_id: str | None) -> bool:
    """The project's setting, else the system-wide one, else True."""
    scopes = [project_id, ""] if project_id else [""]
    found = dict(session.execute(select(S.scope, S.stateful).where(S.scope.in_(scopes))).all())
    for scope in scopes:
        if scope in found:
            return bool(found[scope])
    return True


# -- /v2.0/default-security-group-rules ----------------------------------------------

def template_dict(row: T) -> dict:
    return {"id": row.id, "tenant_id": None, "description": row.description,
            "remote_group_id": row.remote_group_id,
            "remote_address_group_id": row.remote_address_group_id,
            "direction": row.direction, "protocol": row.protocol,
            "port_range_min": row.port_range_min, "port_range_max": row.port_range_max,
            "ethertype": row.ethertype, "remote_ip_prefix": row.remote_ip_prefix,
            "used_in_default_sg": row.used_in_default_sg,
            "used_in_non_default_sg": row.used_in_non_default_sg}


class DefaultSecurityGroupRuleService:
    resource = dsr.DEFAULT_SECURITY_GROUP_RULE
    model = T

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def get(self, ctx: Context, rule_id: str) -> dict:
        def run(session: Session) -> dict:
            row = session.get(T, rule_id)
            if row is None:
                raise dsr.DefaultSecurityGroupRuleNotFound(id=rule_id)
            return template_dict(row)
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(T).where(*filter_clauses(T, query, TEMPLATE_COLUMNS))
            rows = fetch_page(session, stmt, query, TEMPLATE_COLUMNS, T,
                              lambda i: dsr.DefaultSecurityGroupRuleNotFound(id=i))
            return [template_dict(r) for r in rows]
        return self.deps.db.run(run, write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        for item in items:
            dsr.validate_template(item)
        keys = [dsr.template_key(i) for i in items]
        for i, item in enumerate(items):
            for other, key in zip(items[:i], keys[:i], strict=True):
                if key == keys[i] and _overlap(item, other):
                    raise dsr.DuplicateDefaultSgRuleInPost()

        def run(session: Session) -> list[dict]:
            existing = session.scalars(select(T)).all()
            rows = []
            for item, key in zip(items, keys, strict=True):
                authorize(item, dict(item))
                for row in existing:
                    if dsr.template_key(template_dict(row)) == key and _overlap(
                            item, template_dict(row)):
                        raise dsr.DefaultSecurityGroupRuleExists(rule_id=row.id)
                row = T(id=common.new_id(), description=item["description"],
                        **{name: item[name] for name in RULE_FIELDS},
                        used_in_default_sg=item["used_in_default_sg"],
                        used_in_non_default_sg=item["used_in_non_default_sg"])
                session.add(row)
                rows.append(row)
            session.flush()
            return [template_dict(r) for r in rows]
        return self.deps.db.run(run)

    def update(self, ctx: Context, rule_id: str, data: dict,
               revision: int | None = None) -> dict:
        raise AssertionError("templates are not updatable (no PUT route)")

    def delete(self, ctx: Context, rule_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = session.get(T, rule_id, with_for_update=True)
            if row is None:
                raise dsr.DefaultSecurityGroupRuleNotFound(id=rule_id)
            session.delete(row)
        self.deps.db.run(run)


def _overlap(a: dict, b: dict) -> bool:
    """Two same templates clash when they apply to the same kind of group."""
    return bool((a["used_in_default_sg"] and b["used_in_default_sg"])
                or (a["used_in_non_default_sg"] and b["used_in_non_default_sg"]))


# -- /v2.0/security-groups-default-statefulness --------------------------------------

STATEFULNESS_COLUMNS: dict[str, Any] = {"id": S.id, "project_id": S.project_id,
                                        "stateful": S.stateful}


def statefulness_dict(row: S) -> dict:
    return {"id": row.id, "project_id": row.project_id, "stateful": row.stateful}


class SecurityGroupDefaultStatefulnessService:
    resource = dsr.SECURITY_GROUPS_DEFAULT_STATEFULNESS
    model = S

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _row(self, session: Session, setting_id: str, lock: bool = False) -> S:
        row = session.get(S, setting_id, with_for_update=lock)
        if row is None:
            raise dsr.SecurityGroupDefaultStatefulnessNotFound(id=setting_id)
        return row

    def get(self, ctx: Context, setting_id: str) -> dict:
        return self.deps.db.run(lambda s: statefulness_dict(self._row(s, setting_id)),
                                write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(S).where(*filter_clauses(S, query, STATEFULNESS_COLUMNS))
            rows = fetch_page(session, stmt, query, STATEFULNESS_COLUMNS, S,
                              lambda i: dsr.SecurityGroupDefaultStatefulnessNotFound(id=i))
            return [statefulness_dict(r) for r in rows]
        return self.deps.db.run(run, write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        scopes = [i["project_id"] or "" for i in items]
        if len(set(scopes)) != len(scopes):
            duplicate = next(s for s in scopes if scopes.count(s) > 1)
            raise dsr.SecurityGroupDefaultStatefulnessAlreadyExists(
                project_id=duplicate or "system-wide")

        def run(session: Session) -> list[dict]:
            rows = []
            for item, scope in zip(items, scopes, strict=True):
                authorize(item, dict(item, tenant_id=item["project_id"]))
                if session.scalar(select(S.id).where(S.scope == scope)) is not None:
                    raise dsr.SecurityGroupDefaultStatefulnessAlreadyExists(
                        project_id=scope or "system-wide")
                row = S(id=common.new_id(), project_id=item["project_id"], scope=scope,
                        stateful=item["stateful"])
                session.add(row)
                rows.append(row)
            session.flush()
            return [statefulness_dict(r) for r in rows]
        try:
            return self.deps.db.run(run)
        except IntegrityError:
            # Another request created the same scope's setting meanwhile.
            raise dsr.SecurityGroupDefaultStatefulnessAlreadyExists(
                project_id=scopes[0] or "system-wide") from None

    def update(self, ctx: Context, setting_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self._row(session, setting_id, lock=True)
            if "stateful" in data:
                row.stateful = data["stateful"]
            session.flush()
            return statefulness_dict(row)
        return self.deps.db.run(run)

    def delete(self, ctx: Context, setting_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            session.delete(self._row(session, setting_id, lock=True))
        self.deps.db.run(run)
