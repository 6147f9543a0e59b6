"""Networks: CRUD, visibility and the in-use check on delete."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources.network import NETWORK
from neutrino.services import common, rbac
from neutrino.services import extensions as ext
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps
from neutrino.services.extensions import ResourceExtension

N = models.Network
COLUMNS = {
    "id": N.id, "name": N.name, "description": N.description,
    "project_id": N.project_id, "tenant_id": N.project_id,
    "admin_state_up": N.admin_state_up, "status": N.status,
    "mtu": N.mtu, "created_at": N.created_at, "updated_at": N.updated_at,
    "revision_number": N.revision_number,
}
# Ports that belong to the network itself and go away with it.
NETWORK_OWNED_DEVICE_OWNERS = ("network:dhcp",)
# The smallest MTU a subnet of each IP version works on (RFC 791, RFC 8200).
SUBNET_MIN_MTU = {4: 68, 6: 1280}


def check_subnet_mtu(network_id: str, mtu: int, ip_versions: set[int]) -> None:
    """A network's MTU must carry every IP version of its subnets."""
    needed = max((SUBNET_MIN_MTU[version] for version in ip_versions), default=0)
    if mtu < needed:
        raise exc.NetworkMTUSubnetConflict(net_id=network_id, mtu=needed)


class InvalidSharedSetting(exc.Conflict):
    message = ("Unable to reconfigure sharing settings for network %(network)s. "
               "Multiple tenants are using it.")


def visible_clause(ctx: Context) -> Any:
    """SQL pre-filter for what a project may see: its own networks and those an RBAC
    policy shares with it (access_as_shared) or makes external for it."""
    return rbac.visible_clause(N, "network", ctx, (rbac.SHARED, rbac.EXTERNAL))


class NetworkService:
    resource = NETWORK
    model = N

    def __init__(self, deps: Deps, extensions: list[ResourceExtension] | None = None,
                 max_mtu: Callable[[Session, str], int] | None = None) -> None:
        self.deps = deps
        # The largest MTU a network's transport carries (its segments, once the
        # extensions have created them); default: global_physnet_mtu.
        self.max_mtu = max_mtu or (lambda session, network_id: deps.conf.global_physnet_mtu)
        # Features adding network attributes (port security, ...).
        self.extensions = list(extensions or [])

    # -- reads ---------------------------------------------------------------

    def get(self, ctx: Context, network_id: str) -> dict:
        return self.deps.db.run(lambda s: self._get(s, network_id, ctx), write=False)

    def _get(self, session: Session, network_id: str, ctx: Context | None = None) -> dict:
        stmt = select(N).where(N.id == network_id)
        if ctx is not None and not ctx.is_admin and "advsvc" not in ctx.roles:
            # Visibility is RBAC's (an external network may be so for some projects
            # only), not only the get_network rule's.
            stmt = stmt.where(visible_clause(ctx))
        row = session.scalars(stmt).first()
        if row is None:
            raise exc.NetworkNotFound(net_id=network_id)
        return self.to_dicts(session, [row], ctx=ctx)[0]

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            def sub_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
                if name == "shared":
                    return rbac.shared_filter(N, "network", ctx.project_id,
                                              [value for _, value in pairs])
                return self._sub_filter(name, pairs)
            stmt = select(N).where(*filter_clauses(N, query, COLUMNS, sub_filter))
            if not ctx.is_admin:
                stmt = stmt.where(visible_clause(ctx))
            rows = fetch_page(session, stmt, query, COLUMNS, N,
                              lambda i: exc.NetworkNotFound(net_id=i))
            return self.to_dicts(session, rows, fields, ctx=ctx)
        return self.deps.db.run(run, write=False)

    def to_dicts(self, session: Session, rows: list[N], fields: set[str] | None = None,
                 ctx: Context | None = None) -> list[dict]:
        """`shared` is as the caller's project sees it (shared with everyone or with
        it); without a context, shared with everyone."""
        ids = [r.id for r in rows]
        shared = rbac.shared_ids(session, "network", ids,
                                 ctx.project_id if ctx is not None else None)
        want = fields or {"subnets", "tags"}
        tags = common.load_tags(session, ids) if "tags" in want else {}
        subnets: dict[str, list[str]] = defaultdict(list)
        if "subnets" in want:
            stmt = (select(models.Subnet.network_id, models.Subnet.id)
                    .order_by(models.Subnet.created_at, models.Subnet.id))
            for net_id, subnet_id in rows_for_ids(session, stmt, models.Subnet.network_id,
                                                  ids):
                subnets[net_id].append(subnet_id)
        out = []
        for row in rows:
            item = common.standard_dict(row, tags.get(row.id, []))
            item.update(admin_state_up=row.admin_state_up, status=row.status,
                        subnets=subnets.get(row.id, []), shared=row.id in shared,
                        mtu=row.mtu)
            out.append(item)
        ext.run_extend(self.extensions, session, out, fields)
        return out

    def _sub_filter(self, name: str, pairs: list[tuple[str, str]]) -> Any:
        builder = ext.filter_builders(self.extensions).get(name)
        if builder is None:
            raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")
        return builder([value for _, value in pairs])

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        return common.create_all(
            self.deps, "network", ctx, items,
            lambda session, data: self._create(session, ctx, data, authorize),
            self.to_dicts)

    def _create(self, session: Session, ctx: Context, data: dict,
                authorize: Authorize) -> N:
        authorize(data, dict(data, tenant_id=data["project_id"]))
        self.deps.quotas.check(session, data["project_id"], "network", 1)
        row = N(id=common.new_id(), project_id=data["project_id"], name=data["name"],
                description=data["description"], admin_state_up=data["admin_state_up"],
                status="ACTIVE", mtu=self.deps.conf.global_physnet_mtu,
                # 1, as upstream shows: its ML2 writes the segment in a second step.
                revision_number=1)
        session.add(row)
        session.flush()
        if data["shared"]:
            # Upstream expresses `shared` as a policy for every project, owned by the
            # network's project.
            rbac.add_policy(session, "network", row.id, rbac.SHARED, rbac.WILDCARD,
                            row.project_id)
        ext.run_create(self.extensions, session, ctx, data,
                       {"id": row.id, "project_id": row.project_id})
        row.mtu = self._mtu(data.get("mtu"), self.max_mtu(session, row.id))
        if data.get("tags"):
            common.set_tags(session, "networks", row.id, data["tags"])
        self.deps.events.publish("network", events.PRECOMMIT_CREATE,
                                 events.Payload(ctx, row.id, states=(data,), session=session))
        return row

    @staticmethod
    def _mtu(requested: int | None, largest: int) -> int:
        """The largest MTU the transport carries, or the requested one if it fits."""
        if requested is None:
            return largest
        if requested > largest:
            raise exc.InvalidInput(f"Requested MTU is too big, maximum is {largest}")
        return requested

    def update(self, ctx: Context, network_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = session.get(N, network_id, with_for_update=True)
            if row is None:
                raise exc.NetworkNotFound(net_id=network_id)
            common.check_revision(row, revision)
            old = self.to_dicts(session, [row], ctx=ctx)[0]
            if "shared" in data:
                self._set_shared(session, row, data["shared"])
            common.apply_standard(row, data)
            if "admin_state_up" in data:
                row.admin_state_up = data["admin_state_up"]
            if "mtu" in data:
                row.mtu = self._mtu(data["mtu"], self.max_mtu(session, network_id))
                check_subnet_mtu(network_id, row.mtu, set(session.scalars(
                    select(models.Subnet.ip_version)
                    .where(models.Subnet.network_id == network_id))))
            common.bump_revision(row)
            session.flush()
            new = self.to_dicts(session, [row], ctx=ctx)[0]
            ext.run_update(self.extensions, session, ctx, data, old, new)
            self.deps.events.publish("network", events.PRECOMMIT_UPDATE,
                                     events.Payload(ctx, network_id, (old, new), session))
            return new
        new = self.deps.db.run(run)
        self.deps.events.publish("network", events.AFTER_UPDATE,
                                 events.Payload(ctx, network_id, states=(None, new)))
        return new

    @staticmethod
    def _set_shared(session: Session, row: N, shared: bool) -> None:
        """`shared` is the "*" access_as_shared policy; a network other projects use
        (and have no policy of their own for) cannot stop being shared."""
        wildcard = session.scalars(select(models.RbacPolicy.id).where(
            models.RbacPolicy.object_type == "network",
            models.RbacPolicy.object_id == row.id,
            models.RbacPolicy.action == rbac.SHARED,
            models.RbacPolicy.target_project == rbac.WILDCARD)).first()
        if shared and wildcard is None:
            rbac.add_policy(session, "network", row.id, rbac.SHARED, rbac.WILDCARD,
                            row.project_id)
        elif not shared and wildcard is not None:
            if rbac.projects_cut_off(session, "network", row.id, row.project_id,
                                     rbac.SHARED, rbac.WILDCARD, exclude_id=wildcard):
                raise InvalidSharedSetting(network=row.id)
            rbac.delete_policies(session, "network", row.id, rbac.SHARED, rbac.WILDCARD)

    def delete(self, ctx: Context, network_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = session.get(N, network_id, with_for_update=True)
            if row is None:
                raise exc.NetworkNotFound(net_id=network_id)
            common.check_revision(row, revision)
            # Inside the transaction, before the in-use check: what goes with the
            # network (the unassociated floating IPs of an external one) goes first.
            self.deps.events.publish("network", events.BEFORE_DELETE,
                                     events.Payload(ctx, network_id, session=session))
            in_use = list(session.scalars(
                select(models.Port.id).where(
                    models.Port.network_id == network_id,
                    models.Port.device_owner.not_in(NETWORK_OWNED_DEVICE_OWNERS))
                .order_by(models.Port.created_at)))
            if in_use:
                raise exc.NetworkInUse(net_id=network_id, port_ids=",".join(in_use))
            self.deps.events.publish("network", events.PRECOMMIT_DELETE,
                                     events.Payload(ctx, network_id, session=session))
            port_ids = select(models.Port.id).where(models.Port.network_id == network_id)
            session.execute(delete(models.Tag).where(models.Tag.resource_id.in_(port_ids)))
            session.execute(delete(models.IPAllocation)
                            .where(models.IPAllocation.network_id == network_id))
            session.execute(delete(models.Port).where(models.Port.network_id == network_id))
            subnet_ids = select(models.Subnet.id).where(models.Subnet.network_id == network_id)
            session.execute(delete(models.Tag).where(models.Tag.resource_id.in_(subnet_ids)))
            for model in (models.AllocationPool, models.DNSNameServer, models.HostRoute):
                session.execute(delete(model).where(model.subnet_id.in_(subnet_ids)))
            session.execute(delete(models.Subnet)
                            .where(models.Subnet.network_id == network_id))
            common.delete_tags(session, network_id)
            rbac.delete_for_object(session, "network", network_id)
            session.delete(row)
        self.deps.db.run(run)
        self.deps.events.publish("network", events.AFTER_DELETE,
                                 events.Payload(ctx, network_id))
