"""Routers: CRUD, the external gateway (ext-gw-mode) and extra routes (extraroute).

The gateway is a real port on the external network (device_owner
network:router_gateway, project ""), made and removed through the port service inside
the router's transaction; IPAM gives its addresses. Interfaces are in
services/router_interfaces.py, floating IPs in services/floatingips.py.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources.port import UNSET
from neutrino.resources.router import (
    ROUTER,
    InvalidRoutes,
    RouterBadRequest,
    RouterExternalGatewayInUseByFloatingIp,
    RouterInUse,
    RouterNotFound,
    RoutesExhausted,
)
from neutrino.services import common, qos_l3, rbac
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps
from neutrino.services.external_networks import is_external, usable_external
from neutrino.services.l3_ha import RouterHa
from neutrino.services.l3_scheduler import L3Scheduler
from neutrino.services.ports import PortService

R = models.Router
RP = models.RouterPort
RR = models.RouterRoute
FIP = models.FloatingIP
IPA = models.IPAllocation
GW_OWNER = "network:router_gateway"
IF_OWNER = "network:router_interface"
FIP_OWNER = "network:floatingip"
LOG = logging.getLogger(__name__)
COLUMNS = {
    "id": R.id, "name": R.name, "description": R.description,
    "project_id": R.project_id, "tenant_id": R.project_id,
    "admin_state_up": R.admin_state_up, "status": R.status,
    "distributed": R.distributed, "ha": R.ha, "flavor_id": R.flavor_id,
    "created_at": R.created_at, "updated_at": R.updated_at,
    "revision_number": R.revision_number,
}


class RouterService:
    resource = ROUTER
    model = R

    def __init__(self, deps: Deps, ports: PortService, scheduler: L3Scheduler,
                 policy: Any = None, ha: RouterHa | None = None) -> None:
        self.deps = deps
        self.ports = ports
        self.scheduler = scheduler
        # l3-ha (services/l3_ha.py); None: HA routers are refused.
        self.ha = ha
        # For the sub-attribute rules (external_gateway_info:enable_snat, ...), which
        # the generic controller does not know.
        self.policy = policy

    # -- reads ---------------------------------------------------------------

    def _row(self, session: Session, router_id: str, lock: bool = False) -> R:
        row = session.get(R, router_id, with_for_update=lock)
        if row is None:
            raise RouterNotFound(router_id=router_id)
        return row

    def get(self, ctx: Context, router_id: str) -> dict:
        return self.deps.db.run(
            lambda s: self.to_dicts(s, [self._row(s, router_id)])[0], write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(R).where(*filter_clauses(R, query, COLUMNS, self._sub_filter))
            if not ctx.is_admin:
                stmt = stmt.where(R.project_id == ctx.project_id)
            rows = fetch_page(session, stmt, query, COLUMNS, R,
                              lambda i: RouterNotFound(router_id=i))
            return self.to_dicts(session, rows)
        return self.deps.db.run(run, write=False)

    @staticmethod
    def _sub_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
        raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")

    def to_dicts(self, session: Session, rows: list[R], fields: Any = None) -> list[dict]:
        ids = [r.id for r in rows]
        tags = common.load_tags(session, ids)
        routes: dict[str, list[dict]] = defaultdict(list)
        stmt = select(RR.router_id, RR.destination, RR.nexthop).order_by(
            RR.destination, RR.nexthop)
        for router_id, dest, nexthop in rows_for_ids(session, stmt, RR.router_id, ids):
            routes[router_id].append({"destination": dest, "nexthop": nexthop})
        gw_ports = [r.gw_port_id for r in rows if r.gw_port_id]
        gw_net = dict(rows_for_ids(session, select(models.Port.id, models.Port.network_id),
                                   models.Port.id, gw_ports))
        gw_ips: dict[str, list[dict]] = defaultdict(list)
        stmt = select(IPA.port_id, IPA.subnet_id, IPA.ip_address).order_by(
            IPA.position, IPA.subnet_id, IPA.ip_address)  # the gateway port's order
        for port_id, subnet_id, ip in rows_for_ids(session, stmt, IPA.port_id, gw_ports):
            gw_ips[port_id].append({"subnet_id": subnet_id, "ip_address": ip})
        zones = self.scheduler.router_zones(session, ids)
        gw_qos = qos_l3.gateway_policies(session, ids)
        out = []
        for row in rows:
            item = common.standard_dict(row, tags.get(row.id, []))
            gateway = None
            if row.gw_port_id:
                gateway = {"network_id": gw_net.get(row.gw_port_id),
                           "external_fixed_ips": gw_ips.get(row.gw_port_id, []),
                           "enable_snat": row.enable_snat,
                           "qos_policy_id": gw_qos.get(row.id)}
            item.update(admin_state_up=row.admin_state_up, status=row.status,
                        external_gateway_info=gateway, routes=routes.get(row.id, []),
                        availability_zone_hints=json.loads(row.availability_zone_hints),
                        availability_zones=zones.get(row.id, []),
                        distributed=row.distributed, ha=row.ha, flavor_id=row.flavor_id)
            out.append(item)
        return out

    # -- writes --------------------------------------------------------------

    def _check_unsupported(self, data: dict) -> None:
        if data.get("ha") and self.ha is None:
            raise RouterBadRequest("HA routers are not supported by this deployment")

    def _ha_wanted(self, data: dict) -> bool:
        return self.ha is not None and self.ha.wanted(data.get("ha", UNSET))

    def _check_gateway_policy(self, ctx: Context, action: str, data: dict,
                              target: dict) -> None:
        info = data.get("external_gateway_info") or {}
        if self.policy is None:
            return
        for key in ("enable_snat", "external_fixed_ips"):
            if key in info:
                rule = f"{action}_router:external_gateway_info:{key}"
                if not self.policy.check(ctx, rule, target):
                    raise exc.PolicyNotAuthorized(action=f"rule:{rule}")

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        created_ports: list[dict] = []
        for data in items:
            self._check_unsupported(data)
        # The HA networks first: written by the network and subnet services.
        ha_projects = sorted({data["project_id"] for data in items if self._ha_wanted(data)})
        ha_networks = {project: self.ha.ensure_network(project)
                       for project in ha_projects if self.ha is not None}

        def run(session: Session) -> list[dict]:
            created_ports.clear()
            rows = [self._create(session, ctx, data, authorize, created_ports,
                                 ha_networks.get(data["project_id"]))
                    for data in items]
            session.flush()
            return self.to_dicts(session, rows)
        try:
            result = self.deps.db.run(run)
        except Exception:
            for project in ha_projects:
                self._cleanup_ha_network(project)
            raise
        self.publish_ports(ctx, created_ports, [])
        for item in result:
            self.deps.events.publish("router", events.AFTER_CREATE,
                                     events.Payload(ctx, item["id"], states=(item,)))
        return result

    def _create(self, session: Session, ctx: Context, data: dict, authorize: Authorize,
                created_ports: list[dict], ha_network: str | None = None) -> R:
        target = dict(data, tenant_id=data["project_id"])
        authorize(data, target)
        self._check_gateway_policy(ctx, "create", data, target)
        # flavor_id (l3-flavors): checked and set by services/flavors.py on
        # PRECOMMIT_CREATE.
        self.deps.quotas.check(session, data["project_id"], "router", 1)
        hints = data.get("availability_zone_hints") or []
        self.scheduler.check_hints(session, hints)
        row = R(id=common.new_id(), project_id=data["project_id"], name=data["name"],
                description=data["description"], admin_state_up=data["admin_state_up"],
                status="ACTIVE", enable_snat=self.deps.conf.enable_snat_by_default,
                availability_zone_hints=json.dumps(hints), ha=ha_network is not None,
                distributed=self._distributed(data.get("distributed", UNSET)),
                flavor_id=None,
                # 1, as upstream shows: it writes the router's extra attributes in a
                # second step.
                revision_number=1)
        session.add(row)
        session.flush()
        if data.get("tags"):
            common.set_tags(session, "routers", row.id, data["tags"])
        info = data.get("external_gateway_info")
        if info:
            self._set_gateway(session, ctx, row, info, created_ports, [])
            if info.get("qos_policy_id"):
                qos_l3.set_gateway_policy(session, ctx, row.id, info["qos_policy_id"])
        if ha_network is not None and self.ha is not None:
            self.ha.attach(session, row, ha_network)
        self.scheduler.schedule(session, row)
        if self.ha is not None:
            self.ha.ensure_ports(session, ctx, row.id, created_ports, [])
        self.deps.events.publish("router", events.PRECOMMIT_CREATE,
                                 events.Payload(ctx, row.id, states=(data,), session=session))
        return row

    def update(self, ctx: Context, router_id: str, data: dict,
               revision: int | None = None) -> dict:
        self._check_unsupported(data)
        created: list[dict] = []
        deleted: list[str] = []
        ha_network = self._ha_network_for_update(router_id, data)

        def run(session: Session) -> dict:
            created.clear()
            deleted.clear()
            row = self._row(session, router_id, lock=True)
            common.check_revision(row, revision)
            self._check_gateway_policy(ctx, "update", data,
                                       dict(project_id=row.project_id,
                                            tenant_id=row.project_id))
            old = self.to_dicts(session, [row])[0]
            common.apply_standard(row, data)
            if "admin_state_up" in data:
                row.admin_state_up = data["admin_state_up"]
            if data.get("distributed") not in (None, row.distributed):
                self._migrate(session, row, old, data["distributed"])
            if data.get("ha") not in (None, row.ha):
                self._migrate_ha(session, ctx, row, old, ha_network, created, deleted)
            if "external_gateway_info" in data:
                self._update_gateway(session, ctx, row, data["external_gateway_info"],
                                     created, deleted)
            if "routes" in data:
                self._set_routes(session, row, data["routes"])
            common.bump_revision(row)
            session.flush()
            new = self.to_dicts(session, [row])[0]
            self.deps.events.publish("router", events.PRECOMMIT_UPDATE,
                                     events.Payload(ctx, router_id, (old, new), session))
            return new
        try:
            new = self.deps.db.run(run)
        finally:
            if self.ha is not None and data.get("ha") is not None:
                # Made for nothing (refused), or the router is no longer HA.
                self._cleanup_ha_network(self._project_of(router_id))
        self.publish_ports(ctx, created, deleted)
        self.deps.events.publish("router", events.AFTER_UPDATE,
                                 events.Payload(ctx, router_id, states=(None, new)))
        return new

    def delete(self, ctx: Context, router_id: str, revision: int | None = None) -> None:
        deleted: list[str] = []
        project: list[str] = []

        def run(session: Session) -> None:
            deleted.clear()
            project.clear()
            row = self._row(session, router_id, lock=True)
            common.check_revision(row, revision)
            interfaces = session.scalars(select(RP.port_id).where(
                RP.router_id == router_id, RP.port_type != GW_OWNER).limit(1)).first()
            if interfaces is not None:
                raise RouterInUse(router_id=router_id, reason="still has ports")
            self.deps.events.publish("router", events.PRECOMMIT_DELETE,
                                     events.Payload(ctx, router_id, session=session))
            project.append(row.project_id)
            if self.ha is not None and row.ha:
                self.ha.detach(session, ctx, router_id, deleted)
            if row.gw_port_id:
                self._remove_gateway(session, ctx, row, deleted)
            common.delete_tags(session, router_id)
            session.execute(delete(RR).where(RR.router_id == router_id))
            session.execute(delete(models.RouterL3AgentBinding).where(
                models.RouterL3AgentBinding.router_id == router_id))
            session.delete(row)
        self.deps.db.run(run)
        if project:
            self._cleanup_ha_network(project[0])
        self.publish_ports(ctx, [], deleted)
        self.deps.events.publish("router", events.AFTER_DELETE,
                                 events.Payload(ctx, router_id))

    # -- l3-ha ---------------------------------------------------------------

    def _project_of(self, router_id: str) -> str | None:
        return self.deps.db.run(lambda s: s.scalar(select(R.project_id).where(
            R.id == router_id)), write=False)

    def _ha_network_for_update(self, router_id: str, data: dict) -> str | None:
        """The project's HA network when the update asks for `ha` true (made now if
        missing: outside the router's transaction)."""
        if self.ha is None or data.get("ha") is not True:
            return None
        project = self._project_of(router_id)
        if project is None:
            raise RouterNotFound(router_id=router_id)
        return self.ha.ensure_network(project)

    def _cleanup_ha_network(self, project_id: str | None) -> None:
        if self.ha is None or project_id is None:
            return
        try:
            self.ha.cleanup_network(project_id)
        except Exception:  # noqa: BLE001 - the next HA router delete tries again
            LOG.exception("HA network of project %s not cleaned up", project_id)

    def _migrate_ha(self, session: Session, ctx: Context, row: R, old: dict,
                    ha_network: str | None, created: list[dict],
                    deleted: list[str]) -> None:
        """Legacy <-> HA, only while the router is down before and after the request
        (as upstream): it leaves its agents and is scheduled again as what it has
        become, with its VRRP id and HA ports, or without them."""
        if old["admin_state_up"] or row.admin_state_up:
            raise RouterBadRequest(
                "Cannot change HA attribute of active routers. Please set router "
                "admin_state_up to False prior to upgrade")
        assert self.ha is not None
        if row.ha:
            self.ha.detach(session, ctx, row.id, deleted)
        row.ha = not row.ha
        session.execute(delete(models.RouterL3AgentBinding).where(
            models.RouterL3AgentBinding.router_id == row.id))
        session.flush()
        if row.ha and ha_network is not None:
            self.ha.attach(session, row, ha_network)
        self.scheduler.schedule(session, row)
        self.ha.ensure_ports(session, ctx, row.id, created, deleted)

    # -- dvr -----------------------------------------------------------------

    def _distributed(self, requested: Any) -> bool:
        """A new router's `distributed`: as asked, else the router_distributed option."""
        if requested is UNSET or requested is None:
            return bool(self.deps.conf.router_distributed)
        return bool(requested)

    def _migrate(self, session: Session, row: R, old: dict, distributed: bool) -> None:
        """Centralized <-> distributed, only while the router is down both before and
        after the request (router-admin-state-down-before-update): it leaves its L3
        agents and is scheduled again as what it has become (a distributed router
        only on dvr_snat agents: none here may host it, see l3_scheduler)."""
        if old["admin_state_up"] or row.admin_state_up:
            raise RouterBadRequest(
                "Cannot change the 'distributed' attribute of active routers. Please "
                "set router admin_state_up to False prior to upgrade")
        row.distributed = distributed
        session.execute(delete(models.RouterL3AgentBinding).where(
            models.RouterL3AgentBinding.router_id == row.id))
        session.flush()
        self.scheduler.schedule(session, row)

    # -- the gateway ---------------------------------------------------------

    def _update_gateway(self, session: Session, ctx: Context, row: R, info: dict | None,
                        created: list[dict], deleted: list[str]) -> None:
        if info is None:
            if row.gw_port_id:
                self._remove_gateway(session, ctx, row, deleted)
            qos_l3.set_gateway_policy(session, ctx, row.id, None)
            return
        if "qos_policy_id" in info:
            qos_l3.set_gateway_policy(session, ctx, row.id, info["qos_policy_id"],
                                      qos_l3.gateway_policies(session, [row.id]).get(row.id))
        current_net = None
        if row.gw_port_id:
            current_net = session.scalar(select(models.Port.network_id).where(
                models.Port.id == row.gw_port_id))
        same_net = current_net == info["network_id"]
        if same_net and "external_fixed_ips" in info:
            current = sorted((ip["subnet_id"], ip["ip_address"]) for ip in
                             self._port_ips(session, row.gw_port_id))
            wanted = info["external_fixed_ips"]
            if all("subnet_id" in w and "ip_address" in w for w in wanted) and sorted(
                    (w["subnet_id"], w["ip_address"]) for w in wanted) == current:
                same_net = True
            else:
                same_net = False
        if same_net:
            if "enable_snat" in info:
                row.enable_snat = info["enable_snat"]
            return
        if row.gw_port_id:
            self._remove_gateway(session, ctx, row, deleted,
                                 keep_fips=current_net == info["network_id"])
        self._set_gateway(session, ctx, row, info, created, deleted)

    @staticmethod
    def _port_ips(session: Session, port_id: str) -> list[dict]:
        return [{"subnet_id": s, "ip_address": ip} for s, ip in session.execute(
            select(IPA.subnet_id, IPA.ip_address).where(IPA.port_id == port_id))]

    def _set_gateway(self, session: Session, ctx: Context, row: R, info: dict,
                     created: list[dict], deleted: list[str]) -> None:
        network_id = info["network_id"]
        network = session.get(models.Network, network_id)
        # A network the caller cannot see is not found (upstream), before it is
        # told the network is not external.
        if network is None or not (
                ctx.is_admin or network.project_id == ctx.project_id
                or rbac.is_shared_with(session, "network", network_id, ctx.project_id)
                or usable_external(session, ctx, network_id)):
            raise exc.NetworkNotFound(net_id=network_id)
        if not is_external(session, network_id):
            raise RouterBadRequest(f"Network {network_id} is not an external network")
        if not usable_external(session, ctx, network_id):
            raise exc.NetworkNotFound(net_id=network_id)
        fixed_ips = info.get("external_fixed_ips") or UNSET
        port = self.ports.create_internal(session, ctx, {
            "network_id": network_id, "project_id": "", "device_owner": GW_OWNER,
            "device_id": row.id, "admin_state_up": True, "name": "",
            "fixed_ips": fixed_ips})
        if not port["fixed_ips"]:
            # Upstream keeps such a gateway (an external network without subnets yet)
            # and only logs it.
            LOG.info("No IPs available for external network %s", network_id)
        self._check_gateway_overlap(session, row.id, port["fixed_ips"])
        session.add(RP(router_id=row.id, port_id=port["id"], port_type=GW_OWNER))
        row.gw_port_id = port["id"]
        row.enable_snat = info.get("enable_snat", self.deps.conf.enable_snat_by_default)
        session.flush()
        created.append(port)

    def _check_gateway_overlap(self, session: Session, router_id: str,
                               gw_ips: list[dict]) -> None:
        """The external subnet may not overlap a subnet the router is attached to."""
        gw_cidrs = session.scalars(select(models.Subnet.cidr).where(
            models.Subnet.id.in_([ip["subnet_id"] for ip in gw_ips]))).all()
        for subnet_id, cidr in interface_subnets(session, router_id):
            for gw_cidr in gw_cidrs:
                if ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(gw_cidr)):
                    raise RouterBadRequest(
                        f"Cidr {gw_cidr} of subnet {gw_ips[0]['subnet_id']} overlaps "
                        f"with cidr {cidr} of subnet {subnet_id}")

    def _remove_gateway(self, session: Session, ctx: Context, row: R,
                        deleted: list[str], keep_fips: bool = False) -> None:
        port_id = row.gw_port_id
        network_id = session.scalar(select(models.Port.network_id).where(
            models.Port.id == port_id))
        if not keep_fips:
            used = session.scalars(select(FIP.id).where(
                FIP.router_id == row.id, FIP.floating_network_id == network_id)
                .limit(1)).first()
            if used is not None:
                raise RouterExternalGatewayInUseByFloatingIp(router_id=row.id,
                                                             net_id=network_id)
        row.gw_port_id = None
        session.execute(delete(RP).where(RP.port_id == port_id))
        session.flush()
        self.ports.delete_internal(session, ctx, port_id)
        deleted.append(port_id)

    # -- routes --------------------------------------------------------------

    def _set_routes(self, session: Session, row: R, routes: list[dict]) -> None:
        validate_routes(session, row.id, routes, self.deps.conf.max_routes)
        session.execute(delete(RR).where(RR.router_id == row.id))
        for route in routes:
            session.add(RR(router_id=row.id, **route))

    def change_routes(self, ctx: Context, router_id: str, routes: list[dict],
                      add: bool) -> dict:
        """extraroute-atomic: add_extraroutes / remove_extraroutes."""
        def run(session: Session) -> dict:
            row = self._row(session, router_id, lock=True)
            current = [{"destination": d, "nexthop": n} for d, n in session.execute(
                select(RR.destination, RR.nexthop).where(RR.router_id == router_id))]
            if add:
                wanted = current + [r for r in routes if r not in current]
            else:
                wanted = [r for r in current if r not in routes]
            if wanted != current:
                self._set_routes(session, row, wanted)
            common.bump_revision(row)
            session.flush()
            return self.to_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.deps.events.publish("router", events.AFTER_UPDATE,
                                 events.Payload(ctx, router_id, states=(None, new)))
        return new

    # -- events of the ports made or removed --------------------------------

    def publish_ports(self, ctx: Context, created: list[dict], deleted: list[str]) -> None:
        for port in created:
            self.deps.events.publish("port", events.AFTER_CREATE,
                                     events.Payload(ctx, port["id"], states=(port,)))
        for port_id in deleted:
            self.deps.events.publish("port", events.AFTER_DELETE,
                                     events.Payload(ctx, port_id))


def interface_subnets(session: Session, router_id: str) -> list[tuple[str, str]]:
    """(subnet id, cidr) of every subnet the router has an interface on."""
    stmt = (select(models.Subnet.id, models.Subnet.cidr)
            .join(IPA, IPA.subnet_id == models.Subnet.id)
            .join(RP, RP.port_id == IPA.port_id)
            .where(RP.router_id == router_id, RP.port_type == IF_OWNER)
            .order_by(models.Subnet.id))
    return [(s, c) for s, c in session.execute(stmt)]


def router_ips(session: Session, router_id: str) -> set[str]:
    stmt = (select(IPA.ip_address).join(RP, RP.port_id == IPA.port_id)
            .where(RP.router_id == router_id))
    return set(session.scalars(stmt))


def validate_routes(session: Session, router_id: str, routes: list[dict],
                    max_routes: int) -> None:
    """Upstream's checks: at most max_routes; each nexthop on a subnet the router is
    connected to (interfaces or gateway), and not one of the router's own addresses."""
    if len(routes) > max_routes:
        raise RoutesExhausted(router_id=router_id, quota=max_routes)
    stmt = (select(models.Subnet.cidr)
            .join(IPA, IPA.subnet_id == models.Subnet.id)
            .join(RP, RP.port_id == IPA.port_id)
            .where(RP.router_id == router_id))
    cidrs = [ipaddress.ip_network(c) for c in session.scalars(stmt)]
    own = router_ips(session, router_id)
    for route in routes:
        nexthop = ipaddress.ip_address(route["nexthop"])
        if not any(nexthop.version == c.version and nexthop in c for c in cidrs):
            raise InvalidRoutes(routes=[route],
                                reason="the nexthop is not connected with router")
        if route["nexthop"] in own:
            raise InvalidRoutes(routes=[route], reason="the nexthop is used by router")


def routes_via_subnet(session: Session, router_id: str, cidr: str) -> bool:
    net = ipaddress.ip_network(cidr)
    for nexthop in session.scalars(select(RR.nexthop).where(RR.router_id == router_id)):
        address = ipaddress.ip_address(nexthop)
        if address.version == net.version and address in net:
            return True
    return False

