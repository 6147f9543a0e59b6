"""``/v2.0/rbac-policies``: create, list, show, update (target only), delete.

Checks as upstream: only the object's owner (or an admin) manages its policies; an
action must suit the object type; a policy other projects depend on (ports on a
shared network, ports in a shared security group, routers on an external network)
cannot be removed or retargeted (409 RbacPolicyInUse). Creating an
access_as_external policy makes the network external; removing the last one makes
it internal again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.resources.external_net import ExternalNetworkInUse
from neutrino.resources.rbac_policy import (
    RBAC_POLICY,
    DuplicateRbacPolicy,
    InvalidActionForType,
    RbacPolicyNotFound,
)
from neutrino.services import common, rbac
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

R = models.RbacPolicy
COLUMNS = {
    "id": R.id, "project_id": R.project_id, "tenant_id": R.project_id,
    "object_type": R.object_type, "object_id": R.object_id, "action": R.action,
    "target_tenant": R.target_project,
}
GATEWAY = "network:router_gateway"


def policy_dict(row: R) -> dict:
    return {"id": row.id, "project_id": row.project_id, "tenant_id": row.project_id,
            "object_type": row.object_type, "object_id": row.object_id,
            "action": row.action, "target_tenant": row.target_project}


class RbacPolicyService:
    resource = RBAC_POLICY
    model = R

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- reads ---------------------------------------------------------------

    @staticmethod
    def _row(session: Session, policy_id: str, lock: bool = False) -> R:
        row = session.get(R, policy_id, with_for_update=lock)
        if row is None:
            raise RbacPolicyNotFound(id=policy_id)
        return row

    def get(self, ctx: Context, policy_id: str) -> dict:
        return self.deps.db.run(lambda s: policy_dict(self._row(s, policy_id)), write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(R).where(*filter_clauses(R, query, COLUMNS))
            if not ctx.is_admin:
                stmt = stmt.where(R.project_id == ctx.project_id)
            rows = fetch_page(session, stmt, query, COLUMNS, R,
                              lambda i: RbacPolicyNotFound(id=i))
            return [policy_dict(r) for r in rows]
        return self.deps.db.run(run, write=False)

    # -- checks --------------------------------------------------------------

    @staticmethod
    def _object(session: Session, ctx: Context, object_type: str, object_id: str
                ) -> Any:
        """The object, if the caller may manage its policies (owner or admin); else
        400 as upstream (its policy callbacks answer InvalidInput)."""
        kind = rbac.OBJECT_TYPES[object_type]
        obj = session.get(kind.model, object_id, with_for_update=True)
        visible = obj is not None and (
            ctx.is_admin or obj.project_id == ctx.project_id
            or any(rbac.is_shared_with(session, object_type, object_id, ctx.project_id,
                                       action) for action in kind.actions))
        if not visible:
            raise exc.InvalidInput(kind.not_found(object_id).msg)
        if not ctx.is_admin and obj.project_id != ctx.project_id:
            what = "networks" if object_type == "network" else "objects"
            raise exc.InvalidInput(
                f"Only admins can manipulate policies on {what} they do not own")
        return obj

    def _check_removal(self, session: Session, row: R, owner: str | None,
                       new_target: str | None = None) -> None:
        if (row.object_type == "network" and row.action == rbac.EXTERNAL
                and row.target_project == rbac.WILDCARD):
            default = session.get(models.ExternalNetwork, row.object_id)
            if default is not None and default.is_default:
                raise rbac.RbacPolicyInUse(
                    object_id=row.object_id,
                    details="Default external networks must be shared to everyone.")
        cut_off = rbac.projects_cut_off(session, row.object_type, row.object_id, owner,
                                        row.action, row.target_project,
                                        exclude_id=row.id, new_target=new_target)
        if cut_off:
            details = rbac.OBJECT_TYPES[row.object_type].in_use_details(
                row.object_id, row.action, sorted(cut_off)[0])
            raise rbac.RbacPolicyInUse(object_id=row.object_id, details=details)

    @staticmethod
    def _check_pool_scope(session: Session, pool: Any, target: str) -> None:
        """A pool in an address scope is shared only with projects that may use the
        scope (upstream's RbacPolicyInitError, answered as InvalidInput like its other
        policy callbacks)."""
        scope_id = pool.address_scope_id
        if scope_id is None:
            return
        scope = session.get(models.AddressScope, scope_id)
        if scope is None or scope.project_id == target or rbac.is_shared_with(
                session, "address_scope", scope_id, target):
            return
        raise exc.InvalidInput(
            f"Failed to create RBAC policy on object {pool.id} because target project "
            "doesn't have access to associated address scope.")

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        for data in items:
            kind = rbac.OBJECT_TYPES[data["object_type"]]
            if data["action"] not in kind.actions:
                raise InvalidActionForType(action=data["action"], object_type=kind.name,
                                           valid_actions=kind.actions)
        return common.create_all(
            self.deps, "rbac_policy", ctx, items,
            lambda session, data: self._create(session, ctx, data, authorize),
            lambda session, rows: [policy_dict(r) for r in rows])

    def _create(self, session: Session, ctx: Context, data: dict,
                authorize: Authorize) -> R:
        authorize(data, dict(data, tenant_id=data["project_id"]))
        self.deps.quotas.check(session, data["project_id"], "rbac_policy", 1)
        object_type, object_id = data["object_type"], data["object_id"]
        obj = self._object(session, ctx, object_type, object_id)
        target, action = data["target_tenant"], data["action"]
        if object_type == "subnetpool":
            self._check_pool_scope(session, obj, target)
        if rbac.targets(session, object_type, object_id, action) & {target}:
            raise DuplicateRbacPolicy()
        if object_type == "network" and action == rbac.EXTERNAL:
            self._make_external(session, object_id)
        row = R(id=common.new_id(), project_id=data["project_id"], object_type=object_type,
                object_id=object_id, action=action, target_project=target)
        session.add(row)
        session.flush()
        rbac.bump_object(session, object_type, object_id)
        return row

    @staticmethod
    def _make_external(session: Session, network_id: str) -> None:
        """An access_as_external policy makes its network external (without a "*"
        policy: only the targets see it)."""
        EN = models.ExternalNetwork
        if session.get(EN, network_id) is None:
            session.execute(insert(EN), {"network_id": network_id, "is_default": False})

    def update(self, ctx: Context, policy_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self._row(session, policy_id, lock=True)
            new_target = data.get("target_tenant", row.target_project)
            if new_target == row.target_project:
                return policy_dict(row)
            obj = self._object(session, ctx, row.object_type, row.object_id)
            self._check_removal(session, row, obj.project_id, new_target)
            if row.object_type == "subnetpool":
                self._check_pool_scope(session, obj, new_target)
            if new_target in rbac.targets(session, row.object_type, row.object_id,
                                          row.action):
                raise DuplicateRbacPolicy()
            row.target_project = new_target
            session.flush()
            rbac.bump_object(session, row.object_type, row.object_id)
            return policy_dict(row)
        new = self.deps.db.run(run)
        self.deps.events.publish("rbac_policy", events.AFTER_UPDATE,
                                 events.Payload(ctx, policy_id, states=(None, new)))
        return new

    def delete(self, ctx: Context, policy_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = self._row(session, policy_id, lock=True)
            kind = rbac.OBJECT_TYPES[row.object_type]
            obj = session.get(kind.model, row.object_id, with_for_update=True)
            owner = obj.project_id if obj is not None else None
            self._check_removal(session, row, owner)
            if row.object_type == "network" and row.action == rbac.EXTERNAL:
                self._maybe_internal(session, row)
            session.delete(row)
            session.flush()
            rbac.bump_object(session, row.object_type, row.object_id)
        self.deps.db.run(run)
        self.deps.events.publish("rbac_policy", events.AFTER_DELETE,
                                 events.Payload(ctx, policy_id))

    @staticmethod
    def _maybe_internal(session: Session, row: R) -> None:
        """Without access_as_external policies a network is no longer external; it
        cannot stop being one while router gateways use it."""
        others = rbac.targets(session, "network", row.object_id, rbac.EXTERNAL,
                              exclude_id=row.id)
        if others:
            return
        gateway = session.scalars(select(models.Port.id).where(
            models.Port.network_id == row.object_id, models.Port.device_owner == GATEWAY)
            .limit(1)).first()
        if gateway is not None:
            raise ExternalNetworkInUse(net_id=row.object_id)
        EN = models.ExternalNetwork
        session.execute(delete(EN).where(EN.network_id == row.object_id))


# -- router:external <=> a "*" access_as_external policy ------------------------------

EXTERNAL_ATTR = "router:external"


def _network_created(resource: str, event: str, payload: events.Payload) -> None:
    """A network created external gets a "*" access_as_external policy owned by its
    project, as upstream does: every project may use it."""
    data = payload.states[0] if payload.states else {}
    if data.get(EXTERNAL_ATTR):
        rbac.add_policy(payload.session, "network", payload.resource_id, rbac.EXTERNAL,
                        rbac.WILDCARD, data.get("project_id"))


def _network_updated(resource: str, event: str, payload: events.Payload) -> None:
    """router:external turned on adds the "*" policy (owned by the caller, as
    upstream); turned off removes every access_as_external policy of the network."""
    old, new = payload.states
    if EXTERNAL_ATTR not in new or bool(old.get(EXTERNAL_ATTR)) == bool(new[EXTERNAL_ATTR]):
        return
    if new[EXTERNAL_ATTR]:
        rbac.add_policy(payload.session, "network", payload.resource_id, rbac.EXTERNAL,
                        rbac.WILDCARD, payload.context.project_id or new.get("project_id"))
    else:
        rbac.delete_policies(payload.session, "network", payload.resource_id,
                             rbac.EXTERNAL)


def subscribe(registry: events.Registry) -> None:
    registry.subscribe(_network_created, "network", events.PRECOMMIT_CREATE)
    registry.subscribe(_network_updated, "network", events.PRECOMMIT_UPDATE)
