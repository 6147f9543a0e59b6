"""RBAC: who may use which object of another project.

The queries every feature asks (is this object shared with project P? which objects
may P see?) and the object types the ``/v2.0/rbac-policies`` API accepts. Services of
shareable objects call these inside their own transaction:

* ``visible_clause(model, object_type, ctx)``: SQL pre-filter for lists (own objects
  plus those shared with the caller's project or with everyone);
* ``shared_ids`` / ``is_shared_with``: the ``shared`` attribute and "may this project
  use it" checks;
* ``add_policy`` / ``delete_policies`` / ``delete_for_object``: implicit policies
  (a network created ``shared``) and clean-up when the object goes.

A new shareable type registers an `ObjectType` (``register_type``); the API then
accepts it as ``object_type``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, false, or_, select, true, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.services import common

SHARED = "access_as_shared"
EXTERNAL = "access_as_external"
WILDCARD = "*"

R = models.RbacPolicy

# Projects using an object through policies of one action (ports on a shared
# network, routers with their gateway on an external one, ...).
BoundProjects = Callable[[Session, str, str], set[str]]


class RbacPolicyInUse(exc.Conflict):
    message = ("RBAC policy on object %(object_id)s cannot be removed because other "
               "objects depend on it.\nDetails: %(details)s")


@dataclass(frozen=True)
class ObjectType:
    """An object type RBAC policies may name."""

    name: str                      # as the API spells it: "network"
    model: Any                     # ORM model with `id`, `project_id` (and a revision)
    actions: tuple[str, ...]       # valid actions, in upstream's order
    not_found: Callable[[str], exc.NeutronError]
    bound_projects: BoundProjects
    # The "Details" of RbacPolicyInUse when removing a policy would cut off `project`.
    in_use_details: Callable[[str, str, str], str] = (
        lambda object_id, action, project: f"project_id={project}")
    # Upstream's generic RBAC object checks (QoS policies): removing the "*" policy
    # counts every bound project not named by another policy, the owner included
    # (`shared: false` on a QoS policy its own project's network uses is 409), and
    # changing a policy's target is checked as removing the old one (the new
    # target is not counted).
    generic_checks: bool = False


OBJECT_TYPES: dict[str, ObjectType] = {}


def register_type(object_type: ObjectType) -> None:
    OBJECT_TYPES[object_type.name] = object_type


# -- queries -------------------------------------------------------------------

def granted_ids(object_type: str, project_id: str | None,
                actions: Iterable[str] = (SHARED,)) -> Any:
    """SELECT of the ids of objects with a policy of these actions for the project
    (or for every project)."""
    targets = [WILDCARD] if project_id is None else [WILDCARD, project_id]
    return select(R.object_id).where(R.object_type == object_type,
                                     R.action.in_(list(actions)),
                                     R.target_project.in_(targets))


def visible_clause(model: Any, object_type: str, ctx: Context,
                   actions: Iterable[str] = (SHARED,)) -> Any:
    """SQL pre-filter of what a (non-admin) caller may see: its project's objects and
    those shared with it."""
    return or_(model.project_id == ctx.project_id,
               model.id.in_(granted_ids(object_type, ctx.project_id, actions)))


def shared_filter(model: Any, object_type: str, project_id: str | None,
                  values: list[Any], id_column: Any = None) -> Any:
    """``?shared=true|false``: shared with the caller's project or with everyone (an
    object shared only with other projects counts as not shared). ``id_column`` is
    the shared object's id when it is not the model's own (a subnet's network_id)."""
    wanted = {str(v).lower() in ("true", "1") for v in values}
    column = model.id if id_column is None else id_column
    clause = column.in_(granted_ids(object_type, project_id))
    if wanted == {True}:
        return clause
    if wanted == {False}:
        return ~clause
    return true() if wanted else false()


def shared_ids(session: Session, object_type: str, ids: list[str],
               project_id: str | None) -> set[str]:
    """Of these objects, those shared (access_as_shared) with the project or with
    everyone: their ``shared`` attribute as that project sees it."""
    if not ids:
        return set()
    targets = [WILDCARD] if project_id is None else [WILDCARD, project_id]
    stmt = select(R.object_id).where(R.object_type == object_type, R.action == SHARED,
                                     R.target_project.in_(targets))
    return {row[0] for row in rows_for_ids(session, stmt, R.object_id, ids)}


def is_shared_with(session: Session, object_type: str, object_id: str,
                   project_id: str | None, action: str = SHARED) -> bool:
    """Whether a policy of `action` gives the project (or everyone) the object."""
    targets = [WILDCARD] if project_id is None else [WILDCARD, project_id]
    return session.scalar(select(exists().where(
        R.object_type == object_type, R.object_id == object_id, R.action == action,
        R.target_project.in_(targets)))) or False


def shared_with_exists(object_type: str, object_id: Any, project_id: Any) -> Any:
    """EXISTS clause (for statements built once with bind parameters)."""
    return exists().where(R.object_type == object_type, R.object_id == object_id,
                          R.action == SHARED,
                          or_(R.target_project == WILDCARD, R.target_project == project_id))


def targets(session: Session, object_type: str, object_id: str, action: str,
            exclude_id: str | None = None) -> set[str]:
    stmt = select(R.target_project).where(R.object_type == object_type,
                                          R.object_id == object_id, R.action == action)
    if exclude_id is not None:
        stmt = stmt.where(R.id != exclude_id)
    return set(session.scalars(stmt))


def projects_cut_off(session: Session, object_type: str, object_id: str, owner: str | None,
                     action: str, target: str, exclude_id: str | None = None,
                     new_target: str | None = None) -> set[str]:
    """Projects that use the object and would lose access if the policy (action,
    target) went away (or moved to `new_target`); empty when the removal is safe.

    The owner never needs a policy; any other policy (a "*" one covers everyone)
    keeps its projects' access.
    """
    if target == owner:
        return set()
    generic = OBJECT_TYPES[object_type].generic_checks
    remaining = targets(session, object_type, object_id, action, exclude_id)
    if exclude_id is None:
        remaining.discard(target)
    if new_target is not None and not generic:
        remaining.add(new_target)
    if WILDCARD in remaining:
        return set()
    bound = OBJECT_TYPES[object_type].bound_projects(session, object_id, action)
    affected = bound if target == WILDCARD else bound & {target}
    return {p for p in affected if (generic or p != owner) and p not in remaining}


# -- writes (inside the caller's transaction) ------------------------------------

def add_policy(session: Session, object_type: str, object_id: str, action: str,
               target: str, project_id: str | None) -> str:
    """An implicit policy (no quota, no checks); an existing identical one is kept."""
    found = session.scalars(select(R.id).where(
        R.object_type == object_type, R.object_id == object_id, R.action == action,
        R.target_project == target)).first()
    if found is not None:
        return found
    policy_id = common.new_id()
    session.add(R(id=policy_id, project_id=project_id or "", object_type=object_type,
                  object_id=object_id, action=action, target_project=target))
    session.flush()
    return policy_id


def delete_policies(session: Session, object_type: str, object_id: str,
                    action: str | None = None, target: str | None = None) -> int:
    stmt = delete(R).where(R.object_type == object_type, R.object_id == object_id)
    if action is not None:
        stmt = stmt.where(R.action == action)
    if target is not None:
        stmt = stmt.where(R.target_project == target)
    return session.execute(stmt).rowcount or 0


def delete_for_object(session: Session, object_type: str, object_id: str) -> None:
    """The object is being deleted: its policies go with it."""
    delete_policies(session, object_type, object_id)


def bump_object(session: Session, object_type: str, object_id: str) -> None:
    """A policy change is a change of the object (upstream bumps its revision)."""
    model = OBJECT_TYPES[object_type].model
    if hasattr(model, "revision_number"):
        session.execute(update(model).where(model.id == object_id).values(
            revision_number=model.revision_number + 1, updated_at=models.utcnow()))


# -- the built-in object types ----------------------------------------------------

def _network_bound(session: Session, network_id: str, action: str) -> set[str]:
    if action == EXTERNAL:
        # Routers whose gateway is on the network.
        gateway_ports = select(models.Port.id).where(
            models.Port.network_id == network_id,
            models.Port.device_owner == "network:router_gateway")
        return set(session.scalars(select(models.Router.project_id).distinct().where(
            models.Router.gw_port_id.in_(gateway_ports))))
    return set(session.scalars(select(models.Port.project_id).distinct().where(
        models.Port.network_id == network_id)))


def _network_in_use(network_id: str, action: str, project: str) -> str:
    if action == EXTERNAL:
        return ("There are routers attached to this network that depend on this policy "
                "for access.")
    return (f"Unable to reconfigure sharing settings for network {network_id}. "
            "Multiple tenants are using it.")


def _security_group_bound(session: Session, group_id: str, action: str) -> set[str]:
    B = models.SecurityGroupPortBinding
    return set(session.scalars(select(models.Port.project_id).distinct().join(
        B, B.port_id == models.Port.id).where(B.security_group_id == group_id)))


def _address_group_bound(session: Session, group_id: str, action: str) -> set[str]:
    rule = models.SecurityGroupRule
    return set(session.scalars(select(rule.project_id).distinct().where(
        rule.remote_address_group_id == group_id)))


def _address_scope_bound(session: Session, scope_id: str, action: str) -> set[str]:
    pool = models.SubnetPool
    return set(session.scalars(select(pool.project_id).distinct().where(
        pool.address_scope_id == scope_id)))


def _subnetpool_bound(session: Session, pool_id: str, action: str) -> set[str]:
    subnet = models.Subnet
    return set(session.scalars(select(subnet.project_id).distinct().where(
        subnet.subnetpool_id == pool_id)))


def _qos_policy_bound(session: Session, policy_id: str, action: str) -> set[str]:
    """Projects with networks, ports, floating IPs or router gateways using the QoS
    policy (issue 14)."""
    networks = select(models.Network.project_id).join(
        models.QosNetworkPolicyBinding,
        models.QosNetworkPolicyBinding.network_id == models.Network.id).where(
        models.QosNetworkPolicyBinding.qos_policy_id == policy_id)
    ports = select(models.Port.project_id).join(
        models.QosPortPolicyBinding,
        models.QosPortPolicyBinding.port_id == models.Port.id).where(
        models.QosPortPolicyBinding.qos_policy_id == policy_id)
    fips = select(models.FloatingIP.project_id).join(
        models.QosFipPolicyBinding,
        models.QosFipPolicyBinding.fip_id == models.FloatingIP.id).where(
        models.QosFipPolicyBinding.qos_policy_id == policy_id)
    routers = select(models.Router.project_id).join(
        models.QosRouterGatewayPolicyBinding,
        models.QosRouterGatewayPolicyBinding.router_id == models.Router.id).where(
        models.QosRouterGatewayPolicyBinding.qos_policy_id == policy_id)
    return {p for stmt in (networks, ports, fips, routers) for p in session.scalars(stmt)}


def _not_found(message: str) -> Callable[[str], exc.NeutronError]:
    def make(object_id: str) -> exc.NeutronError:
        return exc.NotFound(message % {"id": object_id})
    return make


register_type(ObjectType(
    "network", models.Network, (SHARED, EXTERNAL),
    lambda i: exc.NetworkNotFound(net_id=i), _network_bound, _network_in_use))
register_type(ObjectType(
    "security_group", models.SecurityGroup, (SHARED,),
    _not_found("Security group %(id)s does not exist"), _security_group_bound))
register_type(ObjectType(
    "address_group", models.AddressGroup, (SHARED,),
    _not_found("Address group %(id)s could not be found."), _address_group_bound))
register_type(ObjectType(
    "address_scope", models.AddressScope, (SHARED,),
    _not_found("Address scope %(id)s could not be found."), _address_scope_bound))
register_type(ObjectType(
    "subnetpool", models.SubnetPool, (SHARED,),
    _not_found("Subnet pool %(id)s could not be found."), _subnetpool_bound))
register_type(ObjectType(  # QoS (issue 14)
    "qos_policy", models.QosPolicy, (SHARED,),
    _not_found("QoS policy %(id)s could not be found."), _qos_policy_bound,
    generic_checks=True))
