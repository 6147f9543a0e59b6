"""auto-allocated-topology: a project's network, subnet(s) from the default subnet
pools, and a router between them and the default external network, made on the
first GET and returned by the later ones.

Built as upstream builds it: through the ordinary services, one step (and one
transaction) at a time, so every step publishes its events (DHCP and L3 scheduling,
agent notifications) and keeps its own checks; a failed step removes what the
earlier ones made. The topology is recorded last, in `auto_allocated_topologies`
keyed by project: of two concurrent first requests one records its topology, the
other finds that record (its insert fails on the primary key, the retried
transaction sees the winner), removes what it built and answers the winner's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.resources import auto_allocated_topology as aat
from neutrino.resources.network import NETWORK
from neutrino.resources.router import ROUTER
from neutrino.resources.subnet import SUBNET
from neutrino.resources.subnetpool import SubnetAllocationError
from neutrino.services import rbac
from neutrino.services.networks import NetworkService
from neutrino.services.prepare import prepare_create
from neutrino.services.router_interfaces import RouterInterfaces
from neutrino.services.routers import RouterService
from neutrino.services.subnets import SubnetService

LOG = logging.getLogger(__name__)
AAT = models.AutoAllocatedTopology
EN = models.ExternalNetwork
POOL = models.SubnetPool


def response(network_id: str, project_id: str) -> dict:
    return {"id": network_id, "tenant_id": project_id, "project_id": project_id}


def _ignore_not_found(step: Callable[[], Any]) -> None:
    """Cleanup goes on past what is already gone (a concurrent cleanup, or a user
    who deleted part of the topology)."""
    try:
        step()
    except exc.NotFound:
        pass


class AutoAllocatedTopologyService:
    def __init__(self, db: Database, networks: NetworkService, subnets: SubnetService,
                 routers: RouterService, interfaces: RouterInterfaces) -> None:
        self.db = db
        self.networks = networks
        self.subnets = subnets
        self.routers = routers
        self.interfaces = interfaces

    # -- the API -------------------------------------------------------------

    @staticmethod
    def project_of(ctx: Context, project_id: str) -> str:
        """The project the request is about: "None" (clients that send no project)
        is the caller's; only an administrator names another project."""
        if project_id == "None":
            project_id = ctx.project_id or ""
        if not ctx.is_admin and project_id != ctx.project_id:
            raise exc.NotAuthorized()
        return project_id

    def get(self, ctx: Context, project_id: str, fields: list[str]) -> dict:
        if aat.DRY_RUN in fields:
            self.check_requirements(project_id)
            return response(aat.DRY_RUN_PASS, project_id)
        if fields:
            raise aat.AutoAllocateBadRequest("Unrecognized field")
        existing = self._recorded(project_id)
        if existing is not None:
            return response(existing.network_id, project_id)
        external = self._default_external_network()
        return response(self._build(ctx, project_id, external), project_id)

    def delete(self, ctx: Context, project_id: str) -> None:
        topology = self._recorded(project_id)
        if topology is None:
            return  # nothing to remove (upstream answers 204 as well)
        subnets = self.db.run(lambda s: list(s.scalars(select(models.Subnet.id).where(
            models.Subnet.network_id == topology.network_id))), write=False)
        self._cleanup(ctx, topology.network_id, topology.router_id, subnets)

    def check_requirements(self, project_id: str) -> None:
        """dry-run: a default external network and a default subnet pool exist."""
        self._default_external_network()
        if not self._default_pools(project_id):
            raise aat.AutoAllocationFailure(reason="No default subnetpools defined")

    # -- lookups -------------------------------------------------------------

    def _recorded(self, project_id: str) -> Any:
        def run(session: Session) -> Any:
            row = session.get(AAT, project_id)
            if row is None:
                return None
            session.expunge(row)
            return row
        return self.db.run(run, write=False)

    def _default_external_network(self) -> str:
        network_id = self.db.run(lambda s: s.scalars(
            select(EN.network_id).where(EN.is_default.is_(True))
            .order_by(EN.network_id).limit(1)).first(), write=False)
        if network_id is None:
            LOG.error("No default external network: create or mark one (is_default) "
                      "for auto-allocation to work")
            raise aat.AutoAllocationFailure(reason="No default router:external network")
        return network_id

    def _default_pools(self, project_id: str) -> list[tuple[str, int]]:
        """(id, ip_version) of the default IPv4 and IPv6 pools the project may use."""
        def run(session: Session) -> list[tuple[str, int]]:
            rows = session.execute(select(POOL.id, POOL.ip_version, POOL.project_id)
                                   .where(POOL.default_version.is_not(None))
                                   .order_by(POOL.ip_version)).all()
            return [(pool_id, version) for pool_id, version, owner in rows
                    if owner == project_id or rbac.is_shared_with(
                        session, "subnetpool", pool_id, project_id)]
        return self.db.run(run, write=False)

    # -- building ------------------------------------------------------------

    def _build(self, ctx: Context, project_id: str, external_id: str) -> str:
        subnets = self._private_network(ctx, project_id)
        network_id = subnets[0]["network_id"]
        router_id = self._external_connectivity(ctx, project_id, external_id, subnets)
        winner = self._save(project_id, network_id, router_id)
        if winner != network_id:
            LOG.debug("Project %s got two auto-allocated topologies at once; removing "
                      "network %s and router %s", project_id, network_id, router_id)
            self._cleanup(ctx, network_id, router_id, [s["id"] for s in subnets])
            return winner
        # Usable only once complete (upstream creates it down).
        self.networks.update(ctx, network_id, {"admin_state_up": True})
        return network_id

    def _private_network(self, ctx: Context, project_id: str) -> list[dict]:
        network = None
        try:
            pools = self._default_pools(project_id)
            if not pools:
                raise exc.NotFound("No default subnet pools")
            network = self.networks.create_bulk(ctx, [prepare_create(NETWORK, {
                "name": aat.NETWORK_NAME, "admin_state_up": False, "shared": False,
                "project_id": project_id}, ctx)])[0]
            return [self.subnets.create_bulk(ctx, [prepare_create(SUBNET, {
                "name": aat.SUBNET_NAME % version, "network_id": network["id"],
                "ip_version": version, "subnetpool_id": pool_id,
                "project_id": project_id}, ctx)])[0] for pool_id, version in pools]
        except (exc.BadRequest, exc.NotFound, SubnetAllocationError) as error:
            LOG.error("Cannot auto-allocate a topology for project %s: no private "
                      "network: %s", project_id, error)
            if network is not None:
                self._cleanup(ctx, network["id"], None, [])
            raise aat.AutoAllocationFailure(
                reason="Unable to provide tenant private network") from error
        except Exception:
            if network is not None:
                self._cleanup(ctx, network["id"], None, [])
            raise

    def _external_connectivity(self, ctx: Context, project_id: str, external_id: str,
                               subnets: list[dict]) -> str:
        router = None
        attached: list[str] = []
        try:
            router = self.routers.create_bulk(ctx, [prepare_create(ROUTER, {
                "name": aat.ROUTER_NAME, "admin_state_up": True,
                "external_gateway_info": {"network_id": external_id},
                "project_id": project_id}, ctx)])[0]
            for subnet in subnets:
                self.interfaces.add(ctx, router["id"], {"subnet_id": subnet["id"]})
                attached.append(subnet["id"])
            return router["id"]
        except exc.BadRequest as error:
            LOG.error("Cannot auto-allocate a topology for project %s: router: %s",
                      project_id, error)
            self._cleanup(ctx, subnets[0]["network_id"], router and router["id"], attached)
            raise aat.AutoAllocationFailure(
                reason="Unable to provide external connectivity") from error
        except Exception:
            self._cleanup(ctx, subnets[0]["network_id"], router and router["id"], attached)
            raise

    def _save(self, project_id: str, network_id: str, router_id: str) -> str:
        """Record the topology, or find the one a concurrent request recorded."""
        def run(session: Session) -> str:
            existing = session.get(AAT, project_id)
            if existing is not None:
                return existing.network_id
            session.add(AAT(project_id=project_id, network_id=network_id,
                            router_id=router_id))
            session.flush()  # a concurrent record fails here; the retry finds it
            return network_id
        return self.db.run(run)

    def _cleanup(self, ctx: Context, network_id: str | None, router_id: str | None,
                 subnet_ids: list[str]) -> None:
        if router_id:
            for subnet_id in subnet_ids:
                _ignore_not_found(lambda s=subnet_id: self.interfaces.remove(
                    ctx, router_id, {"subnet_id": s}))
            _ignore_not_found(lambda: self.routers.delete(ctx, router_id))
        if network_id:
            _ignore_not_found(lambda: self.networks.delete(ctx, network_id))
