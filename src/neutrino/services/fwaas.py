"""FWaaS v2 (issue 16): firewall rules and policies, and what they share with the
groups (services/fwaas_groups.py): visibility, the pending-state lock, and the
routers to tell.

Upstream's plugin, in order: a change to a rule or a policy is refused while a group
using it is PENDING_* (FirewallGroupInPendingState, 409: the agent has not yet
confirmed the previous change); then the body is checked; the change marks the
policies it touches not ``audited`` and the groups using them that have ports
PENDING_UPDATE, and their routers' L3 agents are told (``routers_updated``) after
commit. The agents report the groups ACTIVE (or DOWN) again once applied
(rpc/fwaas_endpoints.py).

A non-admin caller sees (and may refer to) its project's rules and policies and the
shared ones, as upstream's queries; a reference to anything else is "not found".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import delete, exists, false, or_, select, update
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources import fwaas as fr
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

FIREWALL_V2 = "firewall_v2"  # the service plugin's name in service_plugins

R = models.FirewallRule
P = models.FirewallPolicy
PR = models.FirewallPolicyRule
G = models.FirewallGroup
GP = models.FirewallGroupPort

RoutersUpdated = Callable[[Iterable[str]], None]
T = TypeVar("T")

RULE_COLUMNS = {"id": R.id, "name": R.name, "description": R.description,
                "project_id": R.project_id, "tenant_id": R.project_id,
                "shared": R.shared, "protocol": R.protocol, "ip_version": R.ip_version,
                "source_ip_address": R.source_ip_address,
                "destination_ip_address": R.destination_ip_address,
                "action": R.action, "enabled": R.enabled}
POLICY_COLUMNS = {"id": P.id, "name": P.name, "description": P.description,
                  "project_id": P.project_id, "tenant_id": P.project_id,
                  "shared": P.shared, "audited": P.audited}


def enabled(conf: Any) -> bool:
    """Whether the firewall_v2 service plugin is in ``service_plugins``."""
    return FIREWALL_V2 in (conf.service_plugins or [])


def visible(row: Any, ctx: Context) -> bool:
    return bool(ctx.is_admin or row.project_id == ctx.project_id or row.shared)


def visible_row(session: Session, model: type[T], row_id: str, ctx: Context | None,
                lock: bool, missing: Callable[[], Exception]) -> T:
    """The row (locked when `lock`), if there and visible to `ctx` (None: to all);
    else `missing()` is raised: another project's object is as good as absent."""
    row = session.get(model, row_id, with_for_update=lock)
    if row is None or (ctx is not None and not visible(row, ctx)):
        raise missing()
    return row


def visible_clause(model: Any, ctx: Context) -> Any:
    return or_(model.project_id == ctx.project_id, model.shared.is_(True))


def member_of(column: Any, association: Any, key: Any, values: list[Any]) -> Any:
    """A list filter on a list attribute: rows associated with one of `values`."""
    ids = [str(v) for v in values]
    if not ids:
        return false()
    return exists().where(key == column, association.in_(ids))


# -- what rules and policies change in the groups ------------------------------------

def groups_of_policies(session: Session, policy_ids: Iterable[str]) -> list[G]:
    ids = sorted(set(policy_ids))
    if not ids:
        return []
    return list(session.scalars(select(G).where(or_(
        G.ingress_firewall_policy_id.in_(ids), G.egress_firewall_policy_id.in_(ids)))
        .order_by(G.id)))


def ensure_not_pending(groups: Iterable[G]) -> None:
    for group in groups:
        if group.status in fr.PENDING:
            raise fr.FirewallGroupInPendingState(firewall_id=group.id,
                                                 pending_state=group.status)


def group_ports(session: Session, group_ids: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    stmt = select(GP.firewall_group_id, GP.port_id).order_by(GP.port_id)
    for group_id, port_id in rows_for_ids(session, stmt, GP.firewall_group_id,
                                          sorted(set(group_ids))):
        out[group_id].append(port_id)
    return out


def routers_of_ports(session: Session, port_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(port_ids))
    if not ids:
        return set()
    stmt = select(models.RouterPort.router_id)
    return {r for (r,) in rows_for_ids(session, stmt, models.RouterPort.port_id, ids)}


def mark_updated(session: Session, groups: Iterable[G]) -> set[str]:
    """Groups whose rules changed: those that filter (ports and a policy) go
    PENDING_UPDATE; the routers of their ports (to be told)."""
    groups = list(groups)
    ports = group_ports(session, [g.id for g in groups])
    touched: list[str] = []
    for group in groups:
        if ports.get(group.id) and (group.ingress_firewall_policy_id
                                    or group.egress_firewall_policy_id):
            group.status = fr.PENDING_UPDATE
            touched += ports[group.id]
    return routers_of_ports(session, touched)


class FwaasNotifier:
    """After commit: the routers whose firewall changed -> their L3 agents."""

    def __init__(self, deps: Deps, routers_updated: RoutersUpdated) -> None:
        self.deps = deps
        self.routers_updated = routers_updated

    def changed(self, resource: str, event: str, ctx: Context, item_id: str,
                item: dict | None, routers: Iterable[str]) -> None:
        self.deps.events.publish(resource, event, events.Payload(
            ctx, item_id, states=(item,) if item is not None else ()))
        self.routers_updated(routers)


# -- rules ---------------------------------------------------------------------------

def rule_dict(row: R, policies: list[str]) -> dict:
    return {"id": row.id, "name": row.name, "description": row.description,
            "project_id": row.project_id, "tenant_id": row.project_id,
            "firewall_policy_id": policies or None, "shared": row.shared,
            "protocol": row.protocol, "ip_version": row.ip_version,
            "source_ip_address": row.source_ip_address,
            "destination_ip_address": row.destination_ip_address,
            "source_port": fr.port_text(row.source_port_range_min,
                                        row.source_port_range_max),
            "destination_port": fr.port_text(row.destination_port_range_min,
                                             row.destination_port_range_max),
            "action": row.action, "enabled": row.enabled}


def _apply_rule(row: R, data: dict) -> None:
    for name in ("name", "description", "shared", "protocol", "ip_version",
                 "source_ip_address", "destination_ip_address", "action", "enabled"):
        if name in data:
            setattr(row, name, data[name])
    if "source_port" in data:
        row.source_port_range_min, row.source_port_range_max = fr.port_bounds(
            data["source_port"])
    if "destination_port" in data:
        row.destination_port_range_min, row.destination_port_range_max = \
            fr.port_bounds(data["destination_port"])


class FirewallRuleService:
    resource = fr.RULE
    model = R

    def __init__(self, deps: Deps, notifier: FwaasNotifier) -> None:
        self.deps = deps
        self.notifier = notifier

    def _row(self, session: Session, rule_id: str, ctx: Context | None = None,
             lock: bool = False) -> R:
        return visible_row(session, R, rule_id, ctx, lock,
                           lambda: fr.FirewallRuleNotFound(firewall_rule_id=rule_id))

    def to_dicts(self, session: Session, rows: list[R]) -> list[dict]:
        policies: dict[str, list[str]] = defaultdict(list)
        stmt = select(PR.firewall_rule_id, PR.firewall_policy_id).order_by(
            PR.firewall_policy_id)
        for rule_id, policy_id in rows_for_ids(session, stmt, PR.firewall_rule_id,
                                               [r.id for r in rows]):
            policies[rule_id].append(policy_id)
        return [rule_dict(r, policies.get(r.id, [])) for r in rows]

    def get(self, ctx: Context, rule_id: str) -> dict:
        return self.deps.db.run(
            lambda s: self.to_dicts(s, [self._row(s, rule_id)])[0], write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def sub_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
            return member_of(R.id, PR.firewall_policy_id, PR.firewall_rule_id,
                             [v for _, v in pairs])

        def run(session: Session) -> list[dict]:
            stmt = select(R).where(*filter_clauses(R, query, RULE_COLUMNS, sub_filter))
            if not ctx.is_admin:
                stmt = stmt.where(visible_clause(R, ctx))
            rows = fetch_page(session, stmt, query, RULE_COLUMNS, R,
                              lambda i: fr.FirewallRuleNotFound(firewall_rule_id=i))
            return self.to_dicts(session, rows)
        return self.deps.db.run(run, write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        for data in items:
            fr.check_rule(data)

        def create(session: Session, data: dict) -> R:
            authorize(data, dict(data, tenant_id=data["project_id"]))
            self.deps.quotas.check(session, data["project_id"], "firewall_rule", 1)
            return self.insert(session, data)
        return common.create_all(self.deps, "firewall_rule", ctx, items, create,
                                 self.to_dicts)

    @staticmethod
    def insert(session: Session, data: dict) -> R:
        row = R(id=common.new_id(), project_id=data["project_id"])
        _apply_rule(row, {"name": "", "description": "", "shared": False,
                          "protocol": None, "ip_version": 4, "source_ip_address": None,
                          "destination_ip_address": None, "action": fr.DENY,
                          "enabled": True, **data})
        session.add(row)
        return row

    def update(self, ctx: Context, rule_id: str, data: dict,
               revision: int | None = None) -> dict:
        routers: set[str] = set()

        def run(session: Session) -> dict:
            routers.clear()
            row = self._row(session, rule_id, lock=True)
            policy_ids = list(session.scalars(select(PR.firewall_policy_id).where(
                PR.firewall_rule_id == rule_id)))
            groups = groups_of_policies(session, policy_ids)
            ensure_not_pending(groups)
            current = self.to_dicts(session, [row])[0]
            fr.check_rule(dict(current, **data))
            _apply_rule(row, data)
            if policy_ids:
                session.execute(update(P).where(P.id.in_(policy_ids)).values(
                    audited=False))
            routers.update(mark_updated(session, groups))
            session.flush()
            return self.to_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.notifier.changed("firewall_rule", events.AFTER_UPDATE, ctx, rule_id, new,
                              routers)
        return new

    def delete(self, ctx: Context, rule_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = self._row(session, rule_id, lock=True)
            used = session.scalars(select(PR.firewall_policy_id).where(
                PR.firewall_rule_id == rule_id).limit(1)).first()
            if used is not None:
                raise fr.FirewallRuleInUse(firewall_rule_id=rule_id)
            session.delete(row)
        self.deps.db.run(run)
        self.notifier.changed("firewall_rule", events.AFTER_DELETE, ctx, rule_id, None,
                              ())


# -- policies ------------------------------------------------------------------------

def policy_dicts(session: Session, rows: list[P]) -> list[dict]:
    rules: dict[str, list[str]] = defaultdict(list)
    stmt = select(PR.firewall_policy_id, PR.firewall_rule_id).order_by(
        PR.firewall_policy_id, PR.position)
    for policy_id, rule_id in rows_for_ids(session, stmt, PR.firewall_policy_id,
                                           [r.id for r in rows]):
        rules[policy_id].append(rule_id)
    return [{"id": r.id, "name": r.name, "description": r.description,
             "project_id": r.project_id, "tenant_id": r.project_id,
             "firewall_rules": rules.get(r.id, []), "shared": r.shared,
             "audited": r.audited} for r in rows]


def check_not_default_policy(name: str | None) -> None:
    if name in (fr.DEFAULT_FWP_INGRESS, fr.DEFAULT_FWP_EGRESS):
        raise fr.FirewallDefaultParameterExists(resource_type="Firewall Policy",
                                                name=name)


def set_rules(session: Session, ctx: Context, policy: P, rule_ids: list[str],
              shared: bool) -> None:
    """The policy's rules become `rule_ids`, in that order, after upstream's checks
    (every rule visible; a shared policy only shared rules; another project's
    unshared rule never)."""
    found = {r.id: r for r in session.scalars(select(R).where(R.id.in_(rule_ids)))} \
        if rule_ids else {}
    for rule_id in rule_ids:
        rule = found.get(rule_id)
        if rule is None or not visible(rule, ctx):
            raise fr.FirewallRuleNotFound(firewall_rule_id=rule_id)
        if shared and not rule.shared:
            raise fr.FirewallRuleSharingConflict(firewall_rule_id=rule_id,
                                                 firewall_policy_id=policy.id)
        if not shared and not rule.shared and rule.project_id != policy.project_id:
            raise fr.FirewallRuleConflict(firewall_rule_id=rule_id,
                                          project_id=rule.project_id)
    session.execute(delete(PR).where(PR.firewall_policy_id == policy.id))
    session.flush()
    for position, rule_id in enumerate(rule_ids, start=1):
        session.add(PR(firewall_policy_id=policy.id, firewall_rule_id=rule_id,
                       position=position))


def _rule_info(body: object) -> tuple[str, str | None, bool]:
    """insert_rule/remove_rule's body: (rule, reference rule, insert before it)."""
    if not isinstance(body, dict) or "firewall_rule_id" not in body:
        raise fr.FirewallRuleInfoMissing()
    rule_id = body["firewall_rule_id"]
    if not isinstance(rule_id, str) or not fr.v.UUID_RE.match(rule_id):
        raise fr.FirewallRuleNotFound(firewall_rule_id=rule_id)
    before, after = body.get("insert_before"), body.get("insert_after")
    if before:
        return rule_id.lower(), str(before), True
    return rule_id.lower(), str(after) if after else None, False


class FirewallPolicyService:
    resource = fr.POLICY
    model = P

    def __init__(self, deps: Deps, notifier: FwaasNotifier) -> None:
        self.deps = deps
        self.notifier = notifier

    def _row(self, session: Session, policy_id: str, ctx: Context | None = None,
             lock: bool = False) -> P:
        return visible_row(session, P, policy_id, ctx, lock,
                           lambda: fr.FirewallPolicyNotFound(firewall_policy_id=policy_id))

    def get(self, ctx: Context, policy_id: str) -> dict:
        return self.deps.db.run(lambda s: policy_dicts(s, [self._row(s, policy_id)])[0],
                                write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def sub_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
            return member_of(P.id, PR.firewall_rule_id, PR.firewall_policy_id,
                             [v for _, v in pairs])

        def run(session: Session) -> list[dict]:
            stmt = select(P).where(*filter_clauses(P, query, POLICY_COLUMNS, sub_filter))
            if not ctx.is_admin:
                stmt = stmt.where(visible_clause(P, ctx))
            rows = fetch_page(session, stmt, query, POLICY_COLUMNS, P,
                              lambda i: fr.FirewallPolicyNotFound(firewall_policy_id=i))
            return policy_dicts(session, rows)
        return self.deps.db.run(run, write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        for data in items:
            check_not_default_policy(data.get("name"))

        def create(session: Session, data: dict) -> P:
            authorize(data, dict(data, tenant_id=data["project_id"]))
            self.deps.quotas.check(session, data["project_id"], "firewall_policy", 1)
            return self.insert(session, ctx, data)
        return common.create_all(self.deps, "firewall_policy", ctx, items, create,
                                 policy_dicts)

    @staticmethod
    def insert(session: Session, ctx: Context, data: dict) -> P:
        row = P(id=common.new_id(), project_id=data["project_id"],
                name=data.get("name", ""), description=data.get("description", ""),
                shared=data.get("shared", False), audited=data.get("audited", False))
        session.add(row)
        session.flush()
        set_rules(session, ctx, row, data.get("firewall_rules") or [], row.shared)
        return row

    def update(self, ctx: Context, policy_id: str, data: dict,
               revision: int | None = None) -> dict:
        routers: set[str] = set()

        def run(session: Session) -> dict:
            routers.clear()
            row = self._row(session, policy_id, lock=True)
            groups = groups_of_policies(session, [policy_id])
            ensure_not_pending(groups)
            if row.name in (fr.DEFAULT_FWP_INGRESS, fr.DEFAULT_FWP_EGRESS):
                # Upstream names the type so too.
                raise fr.FirewallDefaultObjectUpdateRestricted(
                    resource_type="Firewall Group", resource_id=policy_id)
            if data.get("shared") is False and any(g.project_id != row.project_id
                                                   for g in groups):
                raise fr.FirewallPolicyInUse(firewall_policy_id=policy_id)
            shared = data.get("shared", row.shared)
            if "firewall_rules" in data:
                set_rules(session, ctx, row, data["firewall_rules"], shared)
            elif data.get("shared"):
                self._check_rules_shared(session, row)
            for name in ("name", "description", "shared"):
                if name in data:
                    setattr(row, name, data[name])
            row.audited = data.get("audited", False)
            routers.update(mark_updated(session, groups))
            session.flush()
            return policy_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.notifier.changed("firewall_policy", events.AFTER_UPDATE, ctx, policy_id,
                              new, routers)
        return new

    @staticmethod
    def _check_rules_shared(session: Session, row: P) -> None:
        unshared = session.scalars(select(R.id).join(PR, PR.firewall_rule_id == R.id)
                                   .where(PR.firewall_policy_id == row.id,
                                          R.shared.is_(False))
                                   .order_by(PR.position).limit(1)).first()
        if unshared is not None:
            raise fr.FirewallPolicySharingConflict(firewall_rule_id=unshared,
                                                   firewall_policy_id=row.id)

    def delete(self, ctx: Context, policy_id: str, revision: int | None = None) -> None:
        self.deps.db.run(lambda s: self.remove(s, policy_id))
        self.notifier.changed("firewall_policy", events.AFTER_DELETE, ctx, policy_id,
                              None, ())

    def remove(self, session: Session, policy_id: str) -> None:
        row = self._row(session, policy_id, lock=True)
        if groups_of_policies(session, [policy_id]):
            raise fr.FirewallPolicyInUse(firewall_policy_id=policy_id)
        session.execute(delete(PR).where(PR.firewall_policy_id == policy_id))
        session.delete(row)

    def insert_rule(self, ctx: Context, policy_id: str, body: object) -> dict:
        return self._change_rules(ctx, policy_id, body, insert=True)

    def remove_rule(self, ctx: Context, policy_id: str, body: object) -> dict:
        return self._change_rules(ctx, policy_id, body, insert=False)

    def _change_rules(self, ctx: Context, policy_id: str, body: object, insert: bool
                      ) -> dict:
        routers: set[str] = set()

        def run(session: Session) -> dict:
            routers.clear()
            row = self._row(session, policy_id, lock=True)
            groups = groups_of_policies(session, [policy_id])
            ensure_not_pending(groups)
            rule_id, reference, before = _rule_info(body)
            order = list(session.scalars(select(PR.firewall_rule_id).where(
                PR.firewall_policy_id == policy_id).order_by(PR.position)))
            if insert:
                order = self._inserted(session, ctx, row, order, rule_id, reference,
                                       before)
            else:
                rule = session.get(R, rule_id)
                if rule is None or not visible(rule, ctx):
                    raise fr.FirewallRuleNotFound(firewall_rule_id=rule_id)
                if rule_id not in order:
                    raise fr.FirewallRuleNotAssociatedWithPolicy(
                        firewall_rule_id=rule_id, firewall_policy_id=policy_id)
                order.remove(rule_id)
            session.execute(delete(PR).where(PR.firewall_policy_id == policy_id))
            session.flush()
            for position, rid in enumerate(order, start=1):
                session.add(PR(firewall_policy_id=policy_id, firewall_rule_id=rid,
                               position=position))
            row.audited = False
            routers.update(mark_updated(session, groups))
            session.flush()
            return policy_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.notifier.changed("firewall_policy", events.AFTER_UPDATE, ctx, policy_id,
                              new, routers)
        return new

    @staticmethod
    def _inserted(session: Session, ctx: Context, policy: P, order: list[str],
                  rule_id: str, reference: str | None, before: bool) -> list[str]:
        if rule_id in order:
            raise fr.FirewallRuleAlreadyAssociated(firewall_rule_id=rule_id,
                                                   firewall_policy_id=policy.id)
        rule = session.get(R, rule_id)
        if rule is None or not visible(rule, ctx):
            raise fr.FirewallRuleNotFound(firewall_rule_id=rule_id)
        if not rule.shared and rule.project_id != policy.project_id:
            raise fr.FirewallRuleConflict(firewall_rule_id=rule_id,
                                          project_id=rule.project_id)
        if reference is None:
            return [rule_id, *order]  # upstream: the top when no reference is given
        if reference not in order:
            raise fr.FirewallRuleNotAssociatedWithPolicy(
                firewall_rule_id=reference, firewall_policy_id=policy.id)
        at = order.index(reference) + (0 if before else 1)
        return [*order[:at], rule_id, *order[at:]]
