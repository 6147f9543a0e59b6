"""VPNaaS (issue 16): IKE and IPsec policies and endpoint groups, and what the VPN
services and site connections (services/vpnaas_connections.py) share with them:
visibility, the routers to tell.

Upstream's plugin (neutron-vpnaas's VPNPluginDb and reference validator), in order:
a policy used by a connection can be neither changed nor deleted (IKEPolicyInUse,
IPsecPolicyInUse, 409); an endpoint group's type and endpoints are fixed at create
(subnets must exist, CIDRs be CIDRs) and a group in use cannot be deleted
(EndpointGroupInUse, 400). Nothing here reaches an agent until a connection uses it,
so only services and connections tell the L3 agents of their router.

A non-administrator sees, and may refer to, its project's objects only (upstream's
project-scoped queries): another project's is "not found".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources import validators as v
from neutrino.resources import vpnaas as vr
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

VPNAAS = "vpnaas"  # the service plugin's name in service_plugins

IKE = models.IKEPolicy
IPSEC = models.IPsecPolicy
EG = models.VPNEndpointGroup
EP = models.VPNEndpoint
C = models.IPsecSiteConnection

RoutersUpdated = Callable[[Iterable[str]], None]
T = TypeVar("T")


def enabled(conf: Any) -> bool:
    """Whether the vpnaas service plugin is in ``service_plugins``."""
    return VPNAAS in (conf.service_plugins or [])


def visible(row: Any, ctx: Context | None) -> bool:
    return bool(ctx is None or ctx.is_admin or row.project_id == ctx.project_id)


def owned_row(session: Session, model: type[T], row_id: str | None, ctx: Context | None,
              missing: Callable[[], Exception], lock: bool = False) -> T:
    """The row if there and the caller's (`ctx` None: anyone's), else `missing()`."""
    row = session.get(model, row_id, with_for_update=lock) if row_id else None
    if row is None or not visible(row, ctx):
        raise missing()
    return row


def list_rows(session: Session, ctx: Context, model: Any, query: ListQuery,
              columns: dict[str, Any], missing: Callable[[str], Exception],
              sub_filter: Any = None) -> list[Any]:
    stmt = select(model).where(*filter_clauses(model, query, columns, sub_filter))
    if not ctx.is_admin:
        stmt = stmt.where(model.project_id == ctx.project_id)
    return fetch_page(session, stmt, query, columns, model, missing)


def owned_columns(model: Any, *names: str) -> dict[str, Any]:
    columns = {"id": model.id, "name": model.name, "description": model.description,
               "project_id": model.project_id, "tenant_id": model.project_id}
    columns.update({name: getattr(model, name) for name in names})
    return columns


def owned_dict(row: Any) -> dict:
    return {"id": row.id, "name": row.name, "description": row.description,
            "project_id": row.project_id, "tenant_id": row.project_id}


class VpnNotifier:
    """After commit: the event for notifications and subscribers, and the routers
    whose VPN services changed -> their L3 agents (``routers_updated``)."""

    def __init__(self, deps: Deps, routers_updated: RoutersUpdated) -> None:
        self.deps = deps
        self.routers_updated = routers_updated

    def changed(self, resource: str, event: str, ctx: Context, item_id: str,
                item: dict | None, routers: Iterable[str]) -> None:
        self.deps.events.publish(resource, event, events.Payload(
            ctx, item_id, states=(item,) if item is not None else ()))
        routers = sorted(set(routers))
        if routers:
            self.routers_updated(routers)


# -- IKE and IPsec policies ------------------------------------------------------------

def lifetime_of(row: Any) -> dict:
    return {"units": row.lifetime_units, "value": row.lifetime_value}


class _PolicyService:
    """What the two policies share (upstream's create/update/delete_ikepolicy and
    _ipsecpolicy are the same but for their fields and errors)."""

    resource: Any
    model: Any
    kind: str               # the resource name: "ikepolicy", "ipsecpolicy"
    fields: tuple[str, ...]  # their own fields, besides lifetime
    connection_column: str   # the connections' column that refers to it

    def __init__(self, deps: Deps, notifier: VpnNotifier) -> None:
        self.deps = deps
        self.notifier = notifier
        self.columns = owned_columns(self.model, *self.fields)

    def missing(self, policy_id: str) -> Exception:
        return self.resource.not_found_error(policy_id)

    def in_use(self, policy_id: str) -> Exception:
        raise NotImplementedError

    def to_dict(self, row: Any) -> dict:
        item = owned_dict(row)
        item.update({name: getattr(row, name) for name in self.fields})
        item["lifetime"] = lifetime_of(row)
        return item

    def get(self, ctx: Context, policy_id: str) -> dict:
        return self.deps.db.run(lambda s: self.to_dict(owned_row(
            s, self.model, policy_id, None, lambda: self.missing(policy_id))),
            write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        return self.deps.db.run(lambda s: [self.to_dict(r) for r in list_rows(
            s, ctx, self.model, query, self.columns, self.missing)], write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        def create(session: Session, data: dict) -> Any:
            authorize(data, dict(data, tenant_id=data["project_id"]))
            self.deps.quotas.check(session, data["project_id"], self.kind, 1)
            lifetime = {**vr.DEFAULT_LIFETIME, **(data.get("lifetime") or {})}
            row = self.model(id=common.new_id(), project_id=data["project_id"],
                             name=data["name"], description=data["description"],
                             lifetime_units=lifetime["units"],
                             lifetime_value=lifetime["value"],
                             **{name: data[name] for name in self.fields})
            session.add(row)
            return row
        return common.create_all(self.deps, self.kind, ctx, items, create,
                                 lambda s, rows: [self.to_dict(r) for r in rows])

    def _check_unused(self, session: Session, policy_id: str) -> None:
        if session.scalars(select(C.id).where(getattr(C, self.connection_column) == policy_id)
                           .limit(1)).first() is not None:
            raise self.in_use(policy_id)

    def update(self, ctx: Context, policy_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            self._check_unused(session, policy_id)  # upstream checks this first
            row = owned_row(session, self.model, policy_id, None,
                            lambda: self.missing(policy_id), lock=True)
            for name in ("name", "description", *self.fields):
                if name in data:
                    setattr(row, name, data[name])
            lifetime = data.get("lifetime") or {}
            if lifetime.get("units"):
                row.lifetime_units = lifetime["units"]
            if lifetime.get("value"):
                row.lifetime_value = lifetime["value"]
            session.flush()
            return self.to_dict(row)
        new = self.deps.db.run(run)
        self.notifier.changed(self.kind, events.AFTER_UPDATE, ctx, policy_id, new, ())
        return new

    def delete(self, ctx: Context, policy_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            self._check_unused(session, policy_id)
            session.delete(owned_row(session, self.model, policy_id, None,
                                     lambda: self.missing(policy_id), lock=True))
        self.deps.db.run(run)
        self.notifier.changed(self.kind, events.AFTER_DELETE, ctx, policy_id, None, ())


class IkePolicyService(_PolicyService):
    resource = vr.IKE_POLICY
    model = IKE
    kind = "ikepolicy"
    fields = ("auth_algorithm", "encryption_algorithm", "phase1_negotiation_mode",
              "ike_version", "pfs")
    connection_column = "ikepolicy_id"

    def in_use(self, policy_id: str) -> Exception:
        return vr.IKEPolicyInUse(ikepolicy_id=policy_id)


class IpsecPolicyService(_PolicyService):
    resource = vr.IPSEC_POLICY
    model = IPSEC
    kind = "ipsecpolicy"
    fields = ("transform_protocol", "auth_algorithm", "encryption_algorithm",
              "encapsulation_mode", "pfs")
    connection_column = "ipsecpolicy_id"

    def in_use(self, policy_id: str) -> Exception:
        return vr.IPsecPolicyInUse(ipsecpolicy_id=policy_id)


# -- endpoint groups -------------------------------------------------------------------

def endpoints_of(session: Session, group_ids: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    stmt = select(EP.endpoint_group_id, EP.endpoint).order_by(EP.endpoint_group_id,
                                                              EP.position)
    for group_id, endpoint in rows_for_ids(session, stmt, EP.endpoint_group_id,
                                           sorted(set(group_ids))):
        out[group_id].append(endpoint)
    return out


def group_dicts(session: Session, rows: list[EG]) -> list[dict]:
    endpoints = endpoints_of(session, [r.id for r in rows])
    return [dict(owned_dict(r), type=r.endpoint_type, endpoints=endpoints.get(r.id, []))
            for r in rows]


def check_subnet_endpoints(session: Session, subnet_ids: list[str]) -> None:
    """Upstream's _validate_subnets: each a UUID of a subnet that exists."""
    for subnet_id in subnet_ids:
        if not v.UUID_RE.match(subnet_id):
            raise vr.InvalidEndpointInEndpointGroup(
                group_type=vr.SUBNET_ENDPOINT, endpoint=subnet_id, why="Invalid UUID")
        if session.get(models.Subnet, subnet_id.lower()) is None:
            raise vr.NonExistingSubnetInEndpointGroup(subnet=subnet_id)


class EndpointGroupService:
    resource = vr.ENDPOINT_GROUP
    model = EG

    def __init__(self, deps: Deps, notifier: VpnNotifier) -> None:
        self.deps = deps
        self.notifier = notifier
        self.columns = owned_columns(EG)
        self.columns["type"] = EG.endpoint_type

    @staticmethod
    def missing(group_id: str) -> Exception:
        return vr.VPNEndpointGroupNotFound(endpoint_group_id=group_id)

    def row(self, session: Session, group_id: str | None, ctx: Context | None = None,
            lock: bool = False) -> EG:
        return owned_row(session, EG, group_id, ctx, lambda: self.missing(str(group_id)),
                         lock)

    def get(self, ctx: Context, group_id: str) -> dict:
        return self.deps.db.run(lambda s: group_dicts(s, [self.row(s, group_id)])[0],
                                write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        return self.deps.db.run(lambda s: group_dicts(s, list_rows(
            s, ctx, EG, query, self.columns, self.missing)), write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        def create(session: Session, data: dict) -> EG:
            authorize(data, dict(data, tenant_id=data["project_id"]))
            endpoints = data["endpoints"]
            if not endpoints:
                raise vr.MissingEndpointForEndpointGroup(group=data.get("name", ""))
            if data["type"] == vr.CIDR_ENDPOINT:
                vr.check_cidr_endpoints(endpoints)
            elif data["type"] == vr.SUBNET_ENDPOINT:
                check_subnet_endpoints(session, endpoints)
                endpoints = [e.lower() for e in endpoints]
            self.deps.quotas.check(session, data["project_id"], "endpoint_group", 1)
            row = EG(id=common.new_id(), project_id=data["project_id"],
                     name=data["name"], description=data["description"],
                     endpoint_type=data["type"])
            session.add(row)
            session.flush()
            for position, endpoint in enumerate(dict.fromkeys(endpoints)):
                session.add(EP(endpoint_group_id=row.id, endpoint=endpoint,
                               position=position))
            return row
        return common.create_all(self.deps, "endpoint_group", ctx, items, create,
                                 group_dicts)

    def update(self, ctx: Context, group_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self.row(session, group_id, lock=True)
            common.apply_standard(row, data)
            session.flush()
            return group_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.notifier.changed("endpoint_group", events.AFTER_UPDATE, ctx, group_id, new,
                              ())
        return new

    def delete(self, ctx: Context, group_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = self.row(session, group_id, lock=True)
            used = session.scalars(select(C.id).where(or_(
                C.local_ep_group_id == group_id, C.peer_ep_group_id == group_id))
                .limit(1)).first()
            if used is not None:
                raise vr.EndpointGroupInUse(group_id=group_id)
            session.execute(delete(EP).where(EP.endpoint_group_id == group_id))
            session.delete(row)
        self.deps.db.run(run)
        self.notifier.changed("endpoint_group", events.AFTER_DELETE, ctx, group_id, None,
                              ())
