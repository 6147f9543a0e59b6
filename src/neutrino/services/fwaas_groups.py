"""FWaaS v2 (issue 16): firewall groups, the default group of each project, and the
groups' status.

Members are router interface ports of the group's project (upstream's L3 members;
a VM port is refused as "not supported by the driver", anything else as invalid); a
port belongs to one group at most. Status, as upstream's agent driver:

* ``INACTIVE``: nothing to enforce (no ports, or neither policy);
* ``PENDING_CREATE`` / ``PENDING_UPDATE``: written, not yet confirmed by the L3
  agents, which report ``ACTIVE`` (applied; ``DOWN`` when ``admin_state_up`` is
  false: its ports then pass nothing) or ``ERROR`` (rpc/fwaas_endpoints.py);
* while pending, changes to the group, its policies or their rules are refused
  (FirewallGroupInPendingState, 409). A group with ports cannot be deleted
  (FirewallGroupInUse), so a delete is immediate and ``PENDING_DELETE`` never
  appears, as with upstream's agent driver.

The default group (name ``default``: ingress policy "default ingress" denying IPv4
and IPv6, egress "default egress" allowing them, as upstream's default rules; the
``[default_fwg_rules]`` options change them, with upstream's names) is made
for a project when it first lists its groups or creates another; only an
administrator may delete it (its policies go with it) or rename it, and no one else
may change more than its ports and sharing. ``default``, ``default ingress`` and
``default egress`` are reserved names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.resources import fwaas as fr
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps
from neutrino.services.fwaas import (
    GP,
    FirewallPolicyService,
    FirewallRuleService,
    FwaasNotifier,
    RoutersUpdated,
    ensure_not_pending,
    group_ports,
    member_of,
    routers_of_ports,
    visible,
    visible_clause,
    visible_row,
)

G = models.FirewallGroup
P = models.FirewallPolicy
D = models.DefaultFirewallGroup

ROUTER_INTERFACE_OWNERS = ("network:router_interface",
                           "network:router_interface_distributed",
                           "network:ha_router_replicated_interface")
COMPUTE_PREFIX = "compute:"
COLUMNS = {"id": G.id, "name": G.name, "description": G.description,
           "project_id": G.project_id, "tenant_id": G.project_id, "shared": G.shared,
           "ingress_firewall_policy_id": G.ingress_firewall_policy_id,
           "egress_firewall_policy_id": G.egress_firewall_policy_id,
           "admin_state_up": G.admin_state_up, "status": G.status}
# What only an administrator may change of a default group (its name: no one).
DEFAULT_RESTRICTED = ("name", "description", "admin_state_up",
                      "ingress_firewall_policy_id", "egress_firewall_policy_id")
# Upstream's default rules ([default_fwg_rules] defaults): ingress denied, egress
# allowed, for each IP version.
DEFAULT_ACTIONS = {"ingress": fr.DENY, "egress": fr.ALLOW}


def default_rules(options: Mapping[str, Any] | None = None) -> list[tuple[str, dict]]:
    """The default group's rules as (direction, rule) from the [default_fwg_rules]
    options (conf.py; upstream's names, absent ones at upstream's defaults), in
    upstream's order: ingress IPv4, IPv6, egress IPv4, IPv6. Checked as an API rule
    would be: ValueError names the option at fault (the server does not start)."""
    opts = dict(options or {})
    out: list[tuple[str, dict]] = []
    for direction in ("ingress", "egress"):
        for version in (4, 6):
            rule = {
                "name": f"default {direction} ipv{version}",
                "description": f"default {direction} rule for IPv{version}",
                "ip_version": version,
                "action": opts.get(f"{direction}_action") or DEFAULT_ACTIONS[direction],
                "shared": bool(opts.get("shared", False)),
                "enabled": bool(opts.get("enabled", True)),
                "protocol": opts.get("protocol") or None,
                **{f"{end}_ip_address": opts.get(f"{direction}_{end}_ipv{version}_address")
                   or None for end in ("source", "destination")},
                **{f"{end}_port": opts.get(f"{direction}_{end}_port") or None
                   for end in ("source", "destination")}}
            try:
                rule["protocol"] = fr.protocol(rule["protocol"])
                fr.check_rule(rule)
            except (exc.NeutronError, ValueError) as error:
                raise ValueError(f"[default_fwg_rules] {direction} rule for "
                                 f"IPv{version}: {error}") from error
            if rule["action"] not in fr.ACTIONS:
                raise ValueError(f"[default_fwg_rules] {direction}_action: "
                                 f"{rule['action']!r} is not one of {fr.ACTIONS}")
            out.append((direction, rule))
    return out


def status_of(ports: list[str], ingress: str | None, egress: str | None,
              old: dict | None, admin_state_up: bool) -> str:
    """A group's status after a write (pure): INACTIVE with nothing to enforce,
    PENDING_CREATE when new, PENDING_UPDATE when what the agents enforce changed,
    else unchanged."""
    if not ports or not (ingress or egress):
        return fr.INACTIVE
    if old is None:
        return fr.PENDING_CREATE
    if (set(ports) != set(old["ports"]) or ingress != old["ingress_firewall_policy_id"]
            or egress != old["egress_firewall_policy_id"]
            or admin_state_up != old["admin_state_up"]
            or old["status"] == fr.INACTIVE):
        return fr.PENDING_UPDATE
    return str(old["status"])


def group_dicts(session: Session, rows: list[G]) -> list[dict]:
    ports = group_ports(session, [r.id for r in rows])
    return [{"id": r.id, "name": r.name, "description": r.description,
             "project_id": r.project_id, "tenant_id": r.project_id,
             "ingress_firewall_policy_id": r.ingress_firewall_policy_id,
             "egress_firewall_policy_id": r.egress_firewall_policy_id,
             "admin_state_up": r.admin_state_up, "status": r.status,
             "ports": ports.get(r.id, []), "shared": r.shared} for r in rows]


class FirewallGroupService:
    resource = fr.GROUP
    model = G

    def __init__(self, deps: Deps, notifier: FwaasNotifier,
                 policies: FirewallPolicyService,
                 defaults: list[tuple[str, dict]] | None = None) -> None:
        self.deps = deps
        self.notifier = notifier
        self.policies = policies
        # The default group's rules ([default_fwg_rules]; default_rules()).
        self.defaults = defaults if defaults is not None else default_rules()

    def _row(self, session: Session, group_id: str, lock: bool = False) -> G:
        return visible_row(session, G, group_id, None, lock,
                           lambda: fr.FirewallGroupNotFound(firewall_id=group_id))

    def get(self, ctx: Context, group_id: str) -> dict:
        return self.deps.db.run(lambda s: group_dicts(s, [self._row(s, group_id)])[0],
                                write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        projects = query.filters.get("project_id") or query.filters.get("tenant_id")
        self.ensure_default(str(projects[0]) if projects else ctx.project_id)

        def sub_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
            return member_of(G.id, GP.port_id, GP.firewall_group_id,
                             [v for _, v in pairs])

        def run(session: Session) -> list[dict]:
            stmt = select(G).where(*filter_clauses(G, query, COLUMNS, sub_filter))
            if not ctx.is_admin:
                stmt = stmt.where(visible_clause(G, ctx))
            rows = fetch_page(session, stmt, query, COLUMNS, G,
                              lambda i: fr.FirewallGroupNotFound(firewall_id=i))
            return group_dicts(session, rows)
        return self.deps.db.run(run, write=False)

    # -- the default group ------------------------------------------------------------

    def ensure_default(self, project_id: str | None) -> None:
        """Make the project's default group unless it has one (concurrent first
        requests: the table's key keeps one, the other's retry finds it)."""
        if not project_id or self.deps.db.run(
                lambda s: s.get(D, project_id) is not None, write=False):
            return
        self.deps.db.run(lambda s: self._make_default(s, project_id))

    def _make_default(self, session: Session, project_id: str) -> None:
        if session.get(D, project_id) is not None:
            return
        rules: dict[str, list[str]] = {"ingress": [], "egress": []}
        for direction, data in self.defaults:
            rule = FirewallRuleService.insert(session, {"project_id": project_id, **data})
            rules[direction].append(rule.id)
        session.flush()
        policies = {direction: FirewallPolicyService.insert(session, Context.admin(), {
            "project_id": project_id, "name": f"default {direction}",
            "description": f"{direction.capitalize()} firewall policy",
            "firewall_rules": rules[direction]}) for direction in ("ingress", "egress")}
        group = G(id=common.new_id(), project_id=project_id, name=fr.DEFAULT_FWG,
                  description="Default firewall group",
                  ingress_firewall_policy_id=policies["ingress"].id,
                  egress_firewall_policy_id=policies["egress"].id,
                  admin_state_up=True, status=fr.INACTIVE, shared=False)
        session.add(group)
        session.flush()
        session.add(D(project_id=project_id, firewall_group_id=group.id))
        session.flush()

    # -- writes -------------------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        for data in items:
            if data.get("name") == fr.DEFAULT_FWG:
                raise fr.FirewallDefaultParameterExists(resource_type="Firewall Group",
                                                        name=data["name"])
        for project in sorted({d["project_id"] for d in items if d["project_id"]}):
            self.ensure_default(project)
        routers: set[str] = set()

        def create(session: Session, data: dict) -> G:
            authorize(data, dict(data, tenant_id=data["project_id"]))
            self.deps.quotas.check(session, data["project_id"], "firewall_group", 1)
            self._check_policies(session, ctx, data["project_id"], data)
            self._check_ports(session, ctx, data["project_id"], data["ports"], None)
            ingress = data["ingress_firewall_policy_id"]
            egress = data["egress_firewall_policy_id"]
            row = G(id=common.new_id(), project_id=data["project_id"],
                    name=data["name"], description=data["description"],
                    ingress_firewall_policy_id=ingress, egress_firewall_policy_id=egress,
                    admin_state_up=data["admin_state_up"], shared=data["shared"],
                    status=status_of(data["ports"], ingress, egress, None,
                                     data["admin_state_up"]))
            session.add(row)
            session.flush()
            for port_id in data["ports"]:
                session.add(GP(firewall_group_id=row.id, port_id=port_id))
            routers.update(routers_of_ports(session, data["ports"]))
            return row
        created = common.create_all(self.deps, "firewall_group", ctx, items, create,
                                    group_dicts)
        self.notifier.routers_updated(routers)
        return created

    def update(self, ctx: Context, group_id: str, data: dict,
               revision: int | None = None) -> dict:
        if data.get("name") == fr.DEFAULT_FWG:
            raise fr.FirewallDefaultParameterExists(resource_type="Firewall Group",
                                                    name=data["name"])
        routers: set[str] = set()

        def run(session: Session) -> dict:
            routers.clear()
            row = self._row(session, group_id, lock=True)
            ensure_not_pending([row])
            old = group_dicts(session, [row])[0]
            self._check_policies(session, ctx, row.project_id, data)
            if "ports" in data:
                self._check_ports(session, ctx, row.project_id, data["ports"], group_id)
            if row.name == fr.DEFAULT_FWG:
                restricted = ("name",) if ctx.is_admin else DEFAULT_RESTRICTED
                if any(name in data for name in restricted):
                    raise fr.FirewallDefaultObjectUpdateRestricted(
                        resource_type="Firewall Group", resource_id=group_id)
            for name in ("name", "description", "admin_state_up", "shared",
                         "ingress_firewall_policy_id", "egress_firewall_policy_id"):
                if name in data:
                    setattr(row, name, data[name])
            ports = data.get("ports", old["ports"])
            if "ports" in data:
                session.execute(delete(GP).where(GP.firewall_group_id == group_id))
                session.flush()
                for port_id in ports:
                    session.add(GP(firewall_group_id=group_id, port_id=port_id))
            row.status = status_of(ports, row.ingress_firewall_policy_id,
                                   row.egress_firewall_policy_id, old,
                                   row.admin_state_up)
            routers.update(routers_of_ports(session, [*old["ports"], *ports]))
            session.flush()
            return group_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.notifier.changed("firewall_group", events.AFTER_UPDATE, ctx, group_id, new,
                              routers)
        return new

    def delete(self, ctx: Context, group_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = self._row(session, group_id, lock=True)
            if group_ports(session, [group_id]).get(group_id):
                raise fr.FirewallGroupInUse(firewall_id=group_id)
            policies = [row.ingress_firewall_policy_id, row.egress_firewall_policy_id]
            default = row.name == fr.DEFAULT_FWG
            if default and not ctx.is_admin:
                raise fr.FirewallGroupCannotRemoveDefault()
            session.execute(delete(D).where(D.firewall_group_id == group_id))
            session.delete(row)
            session.flush()
            if default:  # its policies go with it (their rules stay), as upstream
                for policy_id in [p for p in policies if p]:
                    self.policies.remove(session, policy_id)
        self.deps.db.run(run)
        self.notifier.changed("firewall_group", events.AFTER_DELETE, ctx, group_id, None,
                              ())

    # -- checks -------------------------------------------------------------------------

    @staticmethod
    def _check_policies(session: Session, ctx: Context, project_id: str | None,
                        data: dict) -> None:
        for name in ("ingress_firewall_policy_id", "egress_firewall_policy_id"):
            policy_id = data.get(name)
            if not policy_id:
                continue
            policy = session.get(P, policy_id)
            if policy is None or not visible(policy, ctx):
                raise fr.FirewallPolicyNotFound(firewall_policy_id=policy_id)
            if policy.project_id != project_id and not policy.shared:
                raise fr.FirewallPolicyConflict(firewall_policy_id=policy_id)

    @staticmethod
    def _check_ports(session: Session, ctx: Context, project_id: str | None,
                     port_ids: list[str], group_id: str | None) -> None:
        for port_id in port_ids:
            port = session.get(models.Port, port_id)
            if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
                raise exc.PortNotFound(port_id=port_id)
            if port.project_id != project_id:
                raise fr.FirewallGroupPortInvalidProject(port_id=port_id,
                                                         project_id=port.project_id)
            owner = port.device_owner or ""
            if owner.startswith(COMPUTE_PREFIX):
                # Upstream's L2 (VM port) members need its Open vSwitch driver.
                raise fr.FirewallGroupPortNotSupported(port_id=port_id,
                                                       driver_name=fr.DRIVER_NAME)
            if owner not in ROUTER_INTERFACE_OWNERS:
                raise fr.FirewallGroupPortInvalid(port_id=port_id)
        if not port_ids:
            return
        taken = [p for (p,) in session.execute(select(GP.port_id).where(
            GP.port_id.in_(port_ids), GP.firewall_group_id != (group_id or "")))]
        if taken:
            raise fr.FirewallGroupPortInUse(port_ids=sorted(taken))

    # -- the agents and the ports ---------------------------------------------------------

    def set_status(self, group_id: str, status: str, expected: str | None = None
                   ) -> bool:
        """An L3 agent's report: ACTIVE, DOWN or INACTIVE as given, anything else
        ERROR; only over the status the agent saw (`expected`, when given: a change
        made meanwhile stays pending) and never on a group with nothing to enforce."""
        if status not in (fr.ACTIVE, fr.DOWN, fr.INACTIVE):
            status = fr.ERROR

        def run(session: Session) -> bool:
            stmt = update(G).where(G.id == group_id, G.status != fr.INACTIVE,
                                   G.status != fr.PENDING_DELETE)
            if expected is not None:
                stmt = stmt.where(G.status == expected)
            return bool(session.execute(stmt.values(status=status)).rowcount)
        return self.deps.db.run(run)

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._port_deleted, "port", events.PRECOMMIT_DELETE)

    @staticmethod
    def _port_deleted(resource: str, event: str, payload: events.Payload) -> None:
        """A deleted port leaves its group (the key cascades too; explicit for SQLite
        without foreign keys enforced); a group left without ports is INACTIVE."""
        session: Session = payload.session
        group_id = session.scalars(select(GP.firewall_group_id).where(
            GP.port_id == payload.resource_id)).first()
        if group_id is None:
            return
        session.execute(delete(GP).where(GP.port_id == payload.resource_id))
        if not group_ports(session, [group_id]).get(group_id):
            session.execute(update(G).where(G.id == group_id).values(status=fr.INACTIVE))


@dataclass(frozen=True)
class Fwaas:
    """The firewall_v2 service plugin's services (core.py builds them when it is
    in service_plugins)."""

    rules: FirewallRuleService
    policies: FirewallPolicyService
    groups: FirewallGroupService

    @property
    def services(self) -> tuple[FirewallRuleService, FirewallPolicyService,
                                FirewallGroupService]:
        return (self.rules, self.policies, self.groups)


def build(deps: Deps, routers_updated: RoutersUpdated,
          default_fwg_rules: Mapping[str, Any] | None = None) -> Fwaas:
    """The plugin's services; `default_fwg_rules`: the [default_fwg_rules] options
    (checked here, so a bad one stops the server at start)."""
    notifier = FwaasNotifier(deps, routers_updated)
    policies = FirewallPolicyService(deps, notifier)
    return Fwaas(FirewallRuleService(deps, notifier), policies,
                 FirewallGroupService(deps, notifier, policies,
                                      default_rules(default_fwg_rules)))
