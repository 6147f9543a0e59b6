"""Security groups and security group rules.

Every project has a `default` group, created on first need (listing groups, creating
one, creating a port). Rule changes bump their group's revision and publish
("security_group_rule", AFTER_CREATE/AFTER_DELETE) with the group id in
``payload.metadata``; `ports_affected_by_groups` says which ports a change touches.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import delete, or_, select, true, update
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources import security_group as sgr
from neutrino.resources.address_group import AddressGroupNotFound
from neutrino.resources.security_group import SECURITY_GROUP, SECURITY_GROUP_RULE
from neutrino.services import common, rbac
from neutrino.services.common import Authorize
from neutrino.services.default_security_group import ensure_default_group, find_default_group
from neutrino.services.deps import Deps

G = models.SecurityGroup
R = models.SecurityGroupRule
D = models.DefaultSecurityGroup
B = models.SecurityGroupPortBinding

GROUP_COLUMNS = {
    "id": G.id, "name": G.name, "description": G.description,
    "project_id": G.project_id, "tenant_id": G.project_id, "stateful": G.stateful,
    "created_at": G.created_at, "updated_at": G.updated_at,
    "revision_number": G.revision_number,
}
RULE_COLUMNS = {
    "id": R.id, "project_id": R.project_id, "tenant_id": R.project_id,
    "security_group_id": R.security_group_id, "ethertype": R.ethertype,
    "direction": R.direction, "protocol": R.protocol, "port_range_min": R.port_range_min,
    "port_range_max": R.port_range_max, "remote_ip_prefix": R.remote_ip_prefix,
    "remote_address_group_id": R.remote_address_group_id,
    "remote_group_id": R.remote_group_id, "description": R.description,
    "created_at": R.created_at, "updated_at": R.updated_at,
    "revision_number": R.revision_number,
}
# What a rule dict is built from (one Core row per rule, no ORM objects).
RULE_SELECT = (R.id, R.project_id, R.security_group_id, R.ethertype, R.direction,
               R.protocol, R.port_range_min, R.port_range_max, R.remote_ip_prefix,
               R.remote_address_group_id, R.remote_group_id, R.description, R.created_at,
               R.updated_at, R.revision_number, G.project_id)
# The two egress rules every new (non-default) group starts with.
NEW_GROUP_RULES = ("IPv4", "IPv6")


def _bool_filter(values: list[Any], column_true: Any) -> Any:
    if all(values):
        return column_true
    if not any(values):
        return ~column_true
    return true()


def rule_dict(row: Any, default_groups: set[str]) -> dict:
    prefix = row[8]
    cidr = None
    if prefix is not None:
        cidr = prefix if prefix in sgr.ANY_PREFIXES else sgr.normalized_cidr(prefix)
    return {
        "id": row[0], "project_id": row[1], "security_group_id": row[2],
        "ethertype": row[3], "direction": row[4], "protocol": row[5],
        "port_range_min": row[6], "port_range_max": row[7], "remote_ip_prefix": prefix,
        "remote_address_group_id": row[9], "normalized_cidr": cidr,
        "remote_group_id": row[10], "belongs_to_default_sg": row[2] in default_groups,
        "description": row[11], "created_at": common.fmt_time(row[12]),
        "updated_at": common.fmt_time(row[13]), "revision_number": row[14],
        "tenant_id": row[1],
        # Not an attribute: the group's owner, for the sg_owner policy rule.
        "security_group:project_id": row[15],
    }


def default_group_ids(session: Session, group_ids: list[str]) -> set[str]:
    stmt = select(D.security_group_id)
    return {r[0] for r in rows_for_ids(session, stmt, D.security_group_id, group_ids)}


def ports_affected_by_groups(session: Session, group_ids: list[str] | set[str]
                             ) -> set[str]:
    """Ports whose filtering depends on these groups: members of them, and members of
    groups with a rule whose remote group is one of them."""
    ids = list(group_ids)
    if not ids:
        return set()
    referring = {r[0] for r in rows_for_ids(
        session, select(R.security_group_id).distinct(), R.remote_group_id, ids)}
    wanted = list(set(ids) | referring)
    return {r[0] for r in rows_for_ids(session, select(B.port_id), B.security_group_id,
                                       wanted)}


class _Common:
    deps: Deps

    def _group_for(self, session: Session, ctx: Context, group_id: str,
                   lock: bool = False) -> G:
        """The group, if the caller may use it (its own, or any for an admin)."""
        row = session.get(G, group_id, with_for_update=lock)
        if row is None or not (ctx.is_admin or row.project_id == ctx.project_id):
            raise sgr.SecurityGroupNotFound(id=group_id)
        return row

    def ensure_default(self, project_id: str | None) -> None:
        if project_id is None:
            return
        if self.deps.db.run(lambda s: find_default_group(s, project_id),
                            write=False) is not None:
            return
        self.deps.db.run(lambda s: ensure_default_group(s, project_id))


class SecurityGroupService(_Common):
    resource = SECURITY_GROUP
    model = G

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- reads ---------------------------------------------------------------

    def get(self, ctx: Context, group_id: str) -> dict:
        def run(session: Session) -> dict:
            row = session.get(G, group_id)
            if row is None:
                raise sgr.SecurityGroupNotFound(id=group_id)
            return self.to_dicts(session, [row], ctx=ctx)[0]
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        # As upstream: the listed project gets its default group, the one a
        # project_id filter names when an admin lists another project's groups.
        named = query.filters.get("project_id") or query.filters.get("tenant_id")
        self.ensure_default(str(named[0]) if named and named[0] and ctx.is_admin
                            else ctx.project_id)

        def run(session: Session) -> list[dict]:
            def sub_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
                if name == "shared":
                    return rbac.shared_filter(G, "security_group", ctx.project_id,
                                              [v for _, v in pairs])
                raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")
            stmt = select(G).where(*filter_clauses(G, query, GROUP_COLUMNS, sub_filter))
            if not ctx.is_admin:
                stmt = stmt.where(rbac.visible_clause(G, "security_group", ctx))
            rows = fetch_page(session, stmt, query, GROUP_COLUMNS, G,
                              lambda i: sgr.SecurityGroupNotFound(id=i))
            return self.to_dicts(session, rows, fields, ctx=ctx)
        return self.deps.db.run(run, write=False)

    def to_dicts(self, session: Session, rows: list[G], fields: set[str] | None = None,
                 ctx: Context | None = None) -> list[dict]:
        """`shared`: shared (RBAC) with the caller's project or with everyone."""
        ids = [r.id for r in rows]
        shared = rbac.shared_ids(session, "security_group", ids,
                                 ctx.project_id if ctx is not None else None)
        want = fields or {"security_group_rules", "tags"}
        tags = common.load_tags(session, ids) if "tags" in want else {}
        rules: dict[str, list[dict]] = defaultdict(list)
        if "security_group_rules" in want:
            defaults = default_group_ids(session, ids)
            stmt = (select(*RULE_SELECT).join(G, G.id == R.security_group_id)
                    .order_by(R.created_at, R.id))
            for row in rows_for_ids(session, stmt, R.security_group_id, ids):
                item = rule_dict(row, defaults)
                del item["security_group:project_id"]
                item["tags"] = []
                rules[row[2]].append(item)
        out = []
        for row in rows:
            item = common.standard_dict(row, tags.get(row.id, []))
            item.update(stateful=row.stateful, shared=row.id in shared,
                        security_group_rules=rules.get(row.id, []))
            out.append(item)
        return out

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        for project in {i["project_id"] for i in items}:
            self.ensure_default(project)
        return common.create_all(
            self.deps, "security_group", ctx, items,
            lambda session, data: self._create(session, ctx, data, authorize),
            self.to_dicts)

    def _create(self, session: Session, ctx: Context, data: dict,
                authorize: Authorize) -> G:
        authorize(data, dict(data, tenant_id=data["project_id"]))
        project = data["project_id"]
        ensure_default_group(session, project)
        self.deps.quotas.check(session, project, "security_group", 1)
        self.deps.quotas.check(session, project, "security_group_rule",
                               len(NEW_GROUP_RULES))
        now = models.utcnow()
        # Revision 1: upstream's group is written, then its default rules bump it.
        row = G(id=common.new_id(), project_id=project, name=data["name"],
                description=data["description"], stateful=data["stateful"],
                created_at=now, updated_at=now, revision_number=1)
        session.add(row)
        session.flush()
        session.connection().execute(R.__table__.insert(), [
            {"id": common.new_id(), "project_id": project, "name": "", "description": "",
             "security_group_id": row.id, "direction": "egress", "ethertype": ethertype,
             "protocol": None, "port_range_min": None, "port_range_max": None,
             "remote_ip_prefix": None, "remote_group_id": None,
             "remote_address_group_id": None, "created_at": now, "updated_at": now,
             "revision_number": 0} for ethertype in NEW_GROUP_RULES])
        if data.get("tags"):
            common.set_tags(session, "security_groups", row.id, data["tags"])
        self.deps.events.publish("security_group", events.PRECOMMIT_CREATE,
                                 events.Payload(ctx, row.id, states=(data,),
                                                session=session))
        return row

    def update(self, ctx: Context, group_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = session.get(G, group_id, with_for_update=True)
            if row is None:
                raise sgr.SecurityGroupNotFound(id=group_id)
            common.check_revision(row, revision)
            if "name" in data and data["name"] != row.name and \
                    find_default_group(session, row.project_id) == row.id:
                raise sgr.SecurityGroupCannotUpdateDefault()
            old = self.to_dicts(session, [row])[0]
            common.apply_standard(row, data)
            if "stateful" in data and data["stateful"] != row.stateful:
                # Agents cannot switch a port's filtering mode under live traffic.
                in_use = session.scalars(select(models.SecurityGroupPortBinding.port_id)
                                         .where(models.SecurityGroupPortBinding
                                                .security_group_id == group_id)
                                         .limit(1)).first()
                if in_use is not None:
                    raise sgr.SecurityGroupInUse(id=group_id)
                row.stateful = data["stateful"]
            common.bump_revision(row)
            session.flush()
            new = self.to_dicts(session, [row])[0]
            self.deps.events.publish("security_group", events.PRECOMMIT_UPDATE,
                                     events.Payload(ctx, group_id, (old, new), session))
            return new
        new = self.deps.db.run(run)
        self.deps.events.publish("security_group", events.AFTER_UPDATE,
                                 events.Payload(ctx, group_id, states=(None, new)))
        return new

    def delete(self, ctx: Context, group_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = session.get(G, group_id, with_for_update=True)
            if row is None:
                raise sgr.SecurityGroupNotFound(id=group_id)
            common.check_revision(row, revision)
            if not ctx.is_admin and find_default_group(session, row.project_id) == row.id:
                raise sgr.SecurityGroupCannotRemoveDefault()
            in_use = session.scalars(select(B.port_id).where(
                B.security_group_id == group_id).limit(1)).first()
            if in_use is not None:
                raise sgr.SecurityGroupInUse(id=group_id)
            self.deps.events.publish("security_group", events.PRECOMMIT_DELETE,
                                     events.Payload(ctx, group_id, session=session))
            session.execute(delete(D).where(D.security_group_id == group_id))
            session.execute(delete(R).where(or_(R.security_group_id == group_id,
                                                R.remote_group_id == group_id)))
            common.delete_tags(session, group_id)
            rbac.delete_for_object(session, "security_group", group_id)
            session.delete(row)
        self.deps.db.run(run)
        self.deps.events.publish("security_group", events.AFTER_DELETE,
                                 events.Payload(ctx, group_id))


class SecurityGroupRuleService(_Common):
    resource = SECURITY_GROUP_RULE
    model = R

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- reads ---------------------------------------------------------------

    def _select(self) -> Any:
        return select(*RULE_SELECT).join(G, G.id == R.security_group_id)

    def _dicts(self, session: Session, rows: list[Any]) -> list[dict]:
        defaults = default_group_ids(session, list({r[2] for r in rows}))
        return [rule_dict(r, defaults) for r in rows]

    def get(self, ctx: Context, rule_id: str) -> dict:
        def run(session: Session) -> dict:
            row = session.execute(self._select().where(R.id == rule_id)).first()
            if row is None:
                raise sgr.SecurityGroupRuleNotFound(id=rule_id)
            return self._dicts(session, [row])[0]
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = self._select().where(*filter_clauses(R, query, RULE_COLUMNS,
                                                        self._sub_filter))
            if not ctx.is_admin:
                stmt = stmt.where(or_(R.project_id == ctx.project_id,
                                      G.project_id == ctx.project_id))
            rows = fetch_page(session, stmt, query, RULE_COLUMNS, R,
                              lambda i: sgr.SecurityGroupRuleNotFound(id=i), scalars=False)
            return self._dicts(session, rows)
        return self.deps.db.run(run, write=False)

    def _sub_filter(self, name: str, pairs: list[tuple[str, str]]) -> Any:
        values = [v for _, v in pairs]
        if name == "belongs_to_default_sg":
            return _bool_filter([v.lower() == "true" for v in values],
                                R.security_group_id.in_(select(D.security_group_id)))
        raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        for item in items:
            sgr.validate_rule(item)
        keys = [sgr.rule_key(i) for i in items]
        if len(set(keys)) != len(keys):
            raise sgr.DuplicateSecurityGroupRuleInPost()

        def run(session: Session) -> list[dict]:
            ids = self._create(session, ctx, items, keys, authorize)
            rows = session.execute(self._select().where(R.id.in_(ids))).all()
            order = {rule_id: i for i, rule_id in enumerate(ids)}
            return sorted(self._dicts(session, rows), key=lambda r: order[r["id"]])
        result = self.deps.db.run(run)
        for item in result:
            self.deps.events.publish("security_group_rule", events.AFTER_CREATE, events.Payload(
                ctx, item["id"], states=(item,),
                metadata={"security_group_id": item["security_group_id"]}))
        return result

    def _create(self, session: Session, ctx: Context, items: list[dict], keys: list[tuple],
                authorize: Authorize) -> list[str]:
        groups: dict[str, G] = {}
        for data in items:
            group_id = data["security_group_id"]
            if group_id not in groups:
                groups[group_id] = self._group_for(session, ctx, group_id, lock=True)
            group = groups[group_id]
            authorize(data, dict(data, tenant_id=data["project_id"],
                                 **{"security_group:project_id": group.project_id}))
            if data.get("remote_group_id") is not None:
                self._group_for(session, ctx, data["remote_group_id"])
            if data.get("remote_address_group_id"):
                ag = session.get(models.AddressGroup, data["remote_address_group_id"])
                if ag is None or not (ctx.is_admin or ag.project_id == ctx.project_id
                                      or rbac.is_shared_with(session, "address_group",
                                                             ag.id, ctx.project_id)):
                    raise AddressGroupNotFound(
                        address_group_id=data["remote_address_group_id"])
        existing = session.execute(select(
            R.id, R.security_group_id, R.direction, R.ethertype, R.protocol,
            R.port_range_min, R.port_range_max, R.remote_ip_prefix, R.remote_group_id,
            R.remote_address_group_id).where(R.security_group_id.in_(list(groups))))
        by_key = {}
        for row in existing:
            by_key[sgr.rule_key(dict(
                security_group_id=row[1], direction=row[2], ethertype=row[3],
                protocol=row[4], port_range_min=row[5], port_range_max=row[6],
                remote_ip_prefix=row[7], remote_group_id=row[8],
                remote_address_group_id=row[9]))] = row[0]
        for key in keys:
            if key in by_key:
                raise sgr.SecurityGroupRuleExists(rule_id=by_key[key])
        per_project: dict[str, int] = defaultdict(int)
        for data in items:
            per_project[data["project_id"]] += 1
        for project, count in per_project.items():
            self.deps.quotas.check(session, project, "security_group_rule", count)
        now = models.utcnow()
        values = []
        for data in items:
            values.append({
                "id": common.new_id(), "project_id": data["project_id"], "name": "",
                "description": data["description"],
                "security_group_id": data["security_group_id"],
                "direction": data["direction"], "ethertype": data["ethertype"],
                "protocol": data["protocol"], "port_range_min": data["port_range_min"],
                "port_range_max": data["port_range_max"],
                "remote_ip_prefix": data["remote_ip_prefix"],
                "remote_group_id": data["remote_group_id"],
                "remote_address_group_id": data["remote_address_group_id"],
                "created_at": now, "updated_at": now, "revision_number": 0})
        session.connection().execute(R.__table__.insert(), values)
        for group in groups.values():
            common.bump_revision(group)
        session.flush()
        return [v["id"] for v in values]

    def update(self, ctx: Context, rule_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = session.get(R, rule_id, with_for_update=True)
            if row is None:
                raise sgr.SecurityGroupRuleNotFound(id=rule_id)
            common.check_revision(row, revision)
            if "description" in data:
                row.description = data["description"]
            common.bump_revision(row)
            session.flush()
            return self._dicts(session, [session.execute(
                self._select().where(R.id == rule_id)).one()])[0]
        return self.deps.db.run(run)

    def delete(self, ctx: Context, rule_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> str:
            row = session.get(R, rule_id, with_for_update=True)
            if row is None:
                raise sgr.SecurityGroupRuleNotFound(id=rule_id)
            common.check_revision(row, revision)
            group_id = row.security_group_id
            session.execute(update(G).where(G.id == group_id).values(
                revision_number=G.revision_number + 1, updated_at=models.utcnow()))
            session.delete(row)
            return group_id
        group_id = self.deps.db.run(run)
        self.deps.events.publish("security_group_rule", events.AFTER_DELETE, events.Payload(
            ctx, rule_id, metadata={"security_group_id": group_id}))

