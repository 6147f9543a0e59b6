"""QoS policies and their rules: ``/v2.0/qos/policies`` and the rule sub-resources.

A policy's rules come with it (``rules``); a rule belongs to one policy and is at
most one of its type per direction (409 QoSRulesConflict, also a database
constraint). Sharing is RBAC (object type ``qos_policy``, ``access_as_shared``):
``shared: true`` is a policy for every project. ``is_default`` makes the policy the
project's default (one per project, 409 otherwise): new networks of the project
without a ``qos_policy_id`` get it. A policy used by a network, port, floating IP or
router gateway cannot be deleted (409 QosPolicyInUse).

A change of a policy or its rules is checked against what uses it (the loaded
drivers must be able to apply its rules: services/qos_drivers.py) and published as
("qos_policy", AFTER_UPDATE), which tells the agents of the affected networks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.resources.qos import (
    NO_DIRECTION,
    POLICY,
    RULE_TYPES,
    QoSPolicyDefaultAlreadyExists,
    QosPolicyInUse,
    QosPolicyNotFound,
    QosRuleNotFound,
    QoSRulesConflict,
    RuleType,
)
from neutrino.services import common, rbac
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

P = models.QosPolicy
QR = models.QosRule
D = models.QosPolicyDefault
OBJECT_TYPE = "qos_policy"
COLUMNS = {
    "id": P.id, "name": P.name, "description": P.description,
    "project_id": P.project_id, "tenant_id": P.project_id, "created_at": P.created_at,
    "updated_at": P.updated_at, "revision_number": P.revision_number,
}
# What may use a policy, in the order a delete reports them (object type, model,
# id column).
BINDINGS = (("network", models.QosNetworkPolicyBinding, "network_id"),
            ("port", models.QosPortPolicyBinding, "port_id"),
            ("floatingip", models.QosFipPolicyBinding, "fip_id"),
            ("router", models.QosRouterGatewayPolicyBinding, "router_id"))

# (session, policy_id, rules) -> raises when something using the policy could not
# apply the rules (services/qos_bindings.py).
ValidateUse = Callable[[Session, str, list[dict]], None]


def rule_dict(row: QR, with_policy: bool = True) -> dict:
    """A rule as the API shows it; in a policy's ``rules`` also its type and policy."""
    rule_type = RULE_TYPES[row.rule_type]
    item: dict[str, Any] = {"id": row.id}
    for name in rule_type.fields:
        item[name] = getattr(row, name)
    if rule_type.has_direction:
        item["direction"] = row.direction
    if with_policy:
        item["qos_policy_id"] = row.qos_policy_id
        item["type"] = row.rule_type
    return item


def policy_rules(session: Session, policy_ids: list[str]) -> dict[str, list[dict]]:
    rules: dict[str, list[dict]] = defaultdict(list)
    stmt = select(QR).order_by(QR.rule_type, QR.direction, QR.id)
    for row in session.scalars(stmt.where(QR.qos_policy_id.in_(policy_ids))) \
            if policy_ids else []:
        rules[row.qos_policy_id].append(rule_dict(row))
    return rules


def _is_default_filter(values: list[Any]) -> Any:
    wanted = {str(v).lower() in ("true", "1") for v in values}
    defaults = select(D.qos_policy_id)
    if wanted == {True}:
        return P.id.in_(defaults)
    if wanted == {False}:
        return ~P.id.in_(defaults)
    return None


class QosPolicyService:
    resource = POLICY
    model = P

    def __init__(self, deps: Deps, validate_use: ValidateUse | None = None) -> None:
        self.deps = deps
        self.validate_use: ValidateUse = validate_use or (lambda session, policy_id,
                                                          rules: None)

    # -- reads ---------------------------------------------------------------

    @staticmethod
    def row(session: Session, policy_id: str, lock: bool = False) -> P:
        row = session.get(P, policy_id, with_for_update=lock)
        if row is None:
            raise QosPolicyNotFound(policy_id=policy_id)
        return row

    def get(self, ctx: Context, policy_id: str) -> dict:
        return self.deps.db.run(
            lambda s: self.to_dicts(s, [self.row(s, policy_id)], ctx=ctx)[0], write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(P).where(*filter_clauses(P, query, COLUMNS))
            if "shared" in query.filters:
                stmt = stmt.where(rbac.shared_filter(P, OBJECT_TYPE, ctx.project_id,
                                                     query.filters["shared"]))
            if "is_default" in query.filters:
                clause = _is_default_filter(query.filters["is_default"])
                if clause is not None:
                    stmt = stmt.where(clause)
            if not ctx.is_admin:
                stmt = stmt.where(rbac.visible_clause(P, OBJECT_TYPE, ctx))
            rows = fetch_page(session, stmt, query, COLUMNS, P,
                              lambda i: QosPolicyNotFound(policy_id=i))
            return self.to_dicts(session, rows, ctx=ctx)
        return self.deps.db.run(run, write=False)

    def to_dicts(self, session: Session, rows: list[P], fields: Any = None,
                 ctx: Context | None = None) -> list[dict]:
        ids = [r.id for r in rows]
        shared = rbac.shared_ids(session, OBJECT_TYPE, ids,
                                 ctx.project_id if ctx is not None else None)
        defaults = set(session.scalars(select(D.qos_policy_id).where(
            D.qos_policy_id.in_(ids)))) if ids else set()
        rules = policy_rules(session, ids)
        tags = common.load_tags(session, ids)
        out = []
        for row in rows:
            item = common.standard_dict(row, tags.get(row.id, []))
            item.update(shared=row.id in shared, rules=rules.get(row.id, []),
                        is_default=row.id in defaults)
            out.append(item)
        return out

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        return common.create_all(
            self.deps, OBJECT_TYPE, ctx, items,
            lambda session, data: self._create(session, data, authorize),
            lambda session, rows: self.to_dicts(session, rows, ctx=ctx))

    def _create(self, session: Session, data: dict, authorize: Authorize) -> P:
        authorize(data, dict(data, tenant_id=data["project_id"]))
        row = P(id=common.new_id(), project_id=data["project_id"], name=data["name"],
                description=data["description"], revision_number=0)
        session.add(row)
        session.flush()
        if data.get("shared"):
            rbac.add_policy(session, OBJECT_TYPE, row.id, rbac.SHARED, rbac.WILDCARD,
                            row.project_id)
        if data.get("is_default"):
            self._set_default(session, row, True)
        common.set_tags(session, OBJECT_TYPE, row.id, data.get("tags") or [])
        return row

    @staticmethod
    def _set_default(session: Session, row: P, wanted: bool) -> None:
        current = session.get(D, row.project_id or "")
        if wanted:
            if current is None:
                session.add(D(project_id=row.project_id or "", qos_policy_id=row.id))
                session.flush()
            elif current.qos_policy_id != row.id:
                raise QoSPolicyDefaultAlreadyExists(project_id=row.project_id)
        elif current is not None and current.qos_policy_id == row.id:
            session.delete(current)

    def update(self, ctx: Context, policy_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self.row(session, policy_id, lock=True)
            common.check_revision(row, revision)
            common.apply_standard(row, data)
            if "shared" in data:
                self._set_shared(session, row, data["shared"])
            if "is_default" in data:
                self._set_default(session, row, data["is_default"])
            common.bump_revision(row)
            session.flush()
            return self.to_dicts(session, [row], ctx=ctx)[0]
        new = self.deps.db.run(run)
        self.published(ctx, policy_id, new)
        return new

    @staticmethod
    def _set_shared(session: Session, row: P, shared: bool) -> None:
        if shared:
            rbac.add_policy(session, OBJECT_TYPE, row.id, rbac.SHARED, rbac.WILDCARD,
                            row.project_id)
            return
        cut = rbac.projects_cut_off(session, OBJECT_TYPE, row.id, row.project_id,
                                    rbac.SHARED, rbac.WILDCARD)
        if cut:
            raise rbac.RbacPolicyInUse(object_id=row.id,
                                       details=f"project_id={sorted(cut)[0]}")
        rbac.delete_policies(session, OBJECT_TYPE, row.id, rbac.SHARED, rbac.WILDCARD)

    def delete(self, ctx: Context, policy_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = self.row(session, policy_id, lock=True)
            common.check_revision(row, revision)
            for object_type, model, column in BINDINGS:
                used = session.scalars(select(getattr(model, column)).where(
                    model.qos_policy_id == policy_id).limit(1)).first()
                if used is not None:
                    raise QosPolicyInUse(policy_id=policy_id, object_type=object_type,
                                         object_id=used)
            session.execute(delete(QR).where(QR.qos_policy_id == policy_id))
            session.execute(delete(D).where(D.qos_policy_id == policy_id))
            rbac.delete_for_object(session, OBJECT_TYPE, policy_id)
            common.delete_tags(session, policy_id)
            session.delete(row)
        self.deps.db.run(run)
        self.deps.events.publish(OBJECT_TYPE, events.AFTER_DELETE,
                                 events.Payload(ctx, policy_id))

    def published(self, ctx: Context, policy_id: str, new: dict | None = None) -> None:
        self.deps.events.publish(OBJECT_TYPE, events.AFTER_UPDATE,
                                 events.Payload(ctx, policy_id, states=(None, new)))

    # -- rules -----------------------------------------------------------------

    def rule_row(self, session: Session, rule_type: RuleType, rule_id: str,
                 policy_id: str | None = None, lock: bool = False) -> QR:
        row = session.get(QR, rule_id, with_for_update=lock)
        if row is None or row.rule_type != rule_type.type or (
                policy_id is not None and row.qos_policy_id != policy_id):
            raise QosRuleNotFound(rule_id=rule_id, policy_id=policy_id)
        return row

    def list_rules(self, policy_id: str, rule_type: RuleType) -> list[dict]:
        def run(session: Session) -> list[dict]:
            self.row(session, policy_id)
            rows = session.scalars(select(QR).where(
                QR.qos_policy_id == policy_id, QR.rule_type == rule_type.type)
                .order_by(QR.direction, QR.id))
            return [rule_dict(r, with_policy=False) for r in rows]
        return self.deps.db.run(run, write=False)

    def get_rule(self, rule_type: RuleType, rule_id: str,
                 policy_id: str | None = None) -> dict:
        """The rule and its policy's id (an alias path names only the rule)."""
        def run(session: Session) -> dict:
            row = self.rule_row(session, rule_type, rule_id, policy_id)
            return dict(rule_dict(row, with_policy=False),
                        qos_policy_id=row.qos_policy_id)
        return self.deps.db.run(run, write=False)

    def create_rule(self, ctx: Context, policy_id: str, rule_type: RuleType,
                    data: dict) -> dict:
        def run(session: Session) -> dict:
            policy = self.row(session, policy_id, lock=True)
            row = QR(id=common.new_id(), qos_policy_id=policy_id,
                     rule_type=rule_type.type,
                     direction=data.get("direction", NO_DIRECTION)
                     if rule_type.has_direction else NO_DIRECTION,
                     **{name: data[name] for name in rule_type.fields})
            self._check_rules(session, policy_id, row)
            session.add(row)
            session.flush()
            self._after_rules_change(session, policy)
            return rule_dict(row, with_policy=False)
        new = self.deps.db.run(run)
        self.published(ctx, policy_id)
        return new

    def update_rule(self, ctx: Context, rule_type: RuleType, rule_id: str, data: dict,
                    policy_id: str | None = None) -> dict:
        def run(session: Session) -> tuple[str, dict]:
            row = self.rule_row(session, rule_type, rule_id, policy_id, lock=True)
            policy = self.row(session, row.qos_policy_id, lock=True)
            for name in rule_type.fields:
                if name in data:
                    setattr(row, name, data[name])
            if rule_type.has_direction and "direction" in data:
                row.direction = data["direction"]
            self._check_rules(session, row.qos_policy_id, row)
            session.flush()
            self._after_rules_change(session, policy)
            return row.qos_policy_id, rule_dict(row, with_policy=False)
        owner, new = self.deps.db.run(run)
        self.published(ctx, owner)
        return new

    def delete_rule(self, ctx: Context, rule_type: RuleType, rule_id: str,
                    policy_id: str | None = None) -> None:
        def run(session: Session) -> str:
            row = self.rule_row(session, rule_type, rule_id, policy_id, lock=True)
            policy = self.row(session, row.qos_policy_id, lock=True)
            session.delete(row)
            session.flush()
            common.bump_revision(policy)
            return row.qos_policy_id
        owner = self.deps.db.run(run)
        self.published(ctx, owner)

    @staticmethod
    def _check_rules(session: Session, policy_id: str, new: QR) -> None:
        """One rule of a type per direction; a minimum no larger than the limit of
        the same direction (upstream's QoSRulesConflict / parameter conflict)."""
        others = [r for r in session.scalars(select(QR).where(
            QR.qos_policy_id == policy_id, QR.id != new.id))]
        for other in others:
            if other.rule_type == new.rule_type and other.direction == new.direction:
                raise QoSRulesConflict(new_rule_type=new.rule_type, rule_id=other.id,
                                       policy_id=policy_id)
            pair = {other.rule_type, new.rule_type}
            if other.direction == new.direction and (
                    pair == {"bandwidth_limit", "minimum_bandwidth"}
                    or pair == {"packet_rate_limit", "minimum_packet_rate"}):
                limit, minimum = (other, new) if other.rule_type in (
                    "bandwidth_limit", "packet_rate_limit") else (new, other)
                maximum = limit.max_kbps if limit.rule_type == "bandwidth_limit" \
                    else limit.max_kpps
                least = minimum.min_kbps if minimum.rule_type == "minimum_bandwidth" \
                    else minimum.min_kpps
                if maximum is not None and least is not None and least > maximum:
                    raise QoSRulesConflict(new_rule_type=new.rule_type,
                                           rule_id=other.id, policy_id=policy_id)

    def _after_rules_change(self, session: Session, policy: P) -> None:
        rules = policy_rules(session, [policy.id]).get(policy.id, [])
        self.validate_use(session, policy.id, rules)
        common.bump_revision(policy)
