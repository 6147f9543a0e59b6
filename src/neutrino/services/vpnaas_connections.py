"""VPNaaS (issue 16): VPN services on routers, their IPsec site connections, and the
statuses the L3 agents report.

Upstream's checks (neutron-vpnaas's VPNPluginDb and reference validator):

* a service's router must be the caller's and have a gateway (RouterIsNotExternal);
  its subnet, if given (the legacy mode), must be on the router
  (SubnetIsNotConnectedToRouter); ``external_v4_ip``/``external_v6_ip`` are the
  router's gateway addresses (the tunnels' local end), read when shown;
* a connection of a service with a subnet takes ``peer_cidrs`` and no endpoint
  groups; of one without, a local group of type ``subnet`` (on the router) and a peer
  group of type ``cidr``, and no ``peer_cidrs`` (MissingPeerCidrs, PeerCidrsInvalid,
  InvalidEndpointGroup, MissingRequiredEndpointGroup, WrongEndpointGroupType); one IP
  version on each side and the same on both (MixedIPVersionsFor...); DPD timeout
  above its interval; MTU at least 68 (IPv4) or 1280 (IPv6); the peer address of a
  version the router's gateway has (ExternalNetworkHasNoSubnet; a name is resolved);
* services and connections start PENDING_CREATE and are not updated while pending
  (VPNStateInvalidToUpdate); the agents' ``update_status`` moves them (ACTIVE, DOWN,
  ERROR) and, as upstream's update_status_by_agent, a pending status is replaced only
  when the agent says it acted on it (``updated_pending_status``);
* a service with connections cannot be deleted (VPNServiceInUse); a router with a
  service (RouterInUse) and a subnet a service or a connection's local group uses on
  its router (SubnetInUseBy...) cannot be taken away.

Every change to a service or a connection tells the L3 agents of the router after
commit (``routers_updated``): they fetch the desired state again.
"""

from __future__ import annotations

import ipaddress
import socket
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, true, update
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.contract.l3 import VpnServiceStatus
from neutrino.db import models
from neutrino.db.listing import ListQuery, rows_for_ids
from neutrino.resources import vpnaas as vr
from neutrino.resources.router import RouterInUse, RouterNotFound
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps
from neutrino.services.vpnaas import (
    EG,
    EP,
    EndpointGroupService,
    IkePolicyService,
    IpsecPolicyService,
    RoutersUpdated,
    VpnNotifier,
    endpoints_of,
    list_rows,
    owned_columns,
    owned_dict,
    owned_row,
)

S = models.VPNService
C = models.IPsecSiteConnection
PC = models.IPsecPeerCidr
IPA = models.IPAllocation
RP = models.RouterPort

REPORTED = (vr.ACTIVE, vr.DOWN, vr.ERROR)


def gateway_ips(session: Session, router_ids: Iterable[str]
                ) -> dict[str, dict[int, str]]:
    """Each router's first gateway address per IP version."""
    out: dict[str, dict[int, str]] = defaultdict(dict)
    stmt = (select(models.Router.id, IPA.ip_address)
            .join(IPA, IPA.port_id == models.Router.gw_port_id)
            .order_by(models.Router.id, IPA.position, IPA.ip_address))
    for router_id, address in rows_for_ids(session, stmt, models.Router.id,
                                           sorted(set(router_ids))):
        out[router_id].setdefault(ipaddress.ip_address(address).version, address)
    return out


def service_dicts(session: Session, rows: list[S]) -> list[dict]:
    ips = gateway_ips(session, [r.router_id for r in rows])
    return [dict(owned_dict(r), subnet_id=r.subnet_id, router_id=r.router_id,
                 admin_state_up=r.admin_state_up,
                 external_v4_ip=ips.get(r.router_id, {}).get(4),
                 external_v6_ip=ips.get(r.router_id, {}).get(6), status=r.status)
            for r in rows]


def peer_cidrs_of(session: Session, connection_ids: Iterable[str]
                  ) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    stmt = select(PC.ipsec_site_connection_id, PC.cidr).order_by(
        PC.ipsec_site_connection_id, PC.position)
    for conn_id, cidr in rows_for_ids(session, stmt, PC.ipsec_site_connection_id,
                                      sorted(set(connection_ids))):
        out[conn_id].append(cidr)
    return out


def connection_dicts(session: Session, rows: list[C]) -> list[dict]:
    cidrs = peer_cidrs_of(session, [r.id for r in rows])
    return [dict(owned_dict(r), peer_address=r.peer_address, peer_id=r.peer_id,
                 local_id=r.local_id, route_mode=r.route_mode, mtu=r.mtu,
                 auth_mode=r.auth_mode, psk=r.psk, initiator=r.initiator,
                 dpd={"action": r.dpd_action, "interval": r.dpd_interval,
                      "timeout": r.dpd_timeout},
                 admin_state_up=r.admin_state_up, status=r.status,
                 vpnservice_id=r.vpnservice_id, ikepolicy_id=r.ikepolicy_id,
                 ipsecpolicy_id=r.ipsecpolicy_id, peer_cidrs=cidrs.get(r.id, []),
                 local_ep_group_id=r.local_ep_group_id,
                 peer_ep_group_id=r.peer_ep_group_id) for r in rows]


def subnet_on_router(session: Session, router_id: str, subnet_id: str) -> bool:
    """Upstream's _check_subnet_id: a port of the router has an address on it."""
    return session.scalars(select(RP.port_id).join(IPA, IPA.port_id == RP.port_id)
                           .where(RP.router_id == router_id, IPA.subnet_id == subnet_id)
                           .limit(1)).first() is not None


def assert_update_allowed(row: Any) -> None:
    if row.status in vr.PENDING:
        raise vr.VPNStateInvalidToUpdate(id=row.id, state=row.status)


# -- VPN services ------------------------------------------------------------------------

class VpnServiceService:
    resource = vr.VPN_SERVICE
    model = S

    def __init__(self, deps: Deps, notifier: VpnNotifier) -> None:
        self.deps = deps
        self.notifier = notifier
        self.columns = owned_columns(S, "subnet_id", "router_id", "admin_state_up",
                                     "status")

    @staticmethod
    def missing(service_id: str) -> Exception:
        return vr.VPNServiceNotFound(vpnservice_id=service_id)

    def row(self, session: Session, service_id: str, ctx: Context | None = None,
            lock: bool = False) -> S:
        return owned_row(session, S, service_id, ctx, lambda: self.missing(service_id),
                         lock)

    def get(self, ctx: Context, service_id: str) -> dict:
        return self.deps.db.run(lambda s: service_dicts(s, [self.row(s, service_id)])[0],
                                write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        return self.deps.db.run(lambda s: service_dicts(s, list_rows(
            s, ctx, S, query, self.columns, self.missing)), write=False)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        routers: set[str] = set()

        def create(session: Session, data: dict) -> S:
            authorize(data, dict(data, tenant_id=data["project_id"]))
            self._check(session, ctx, data["router_id"], data.get("subnet_id"))
            self.deps.quotas.check(session, data["project_id"], "vpnservice", 1)
            row = S(id=common.new_id(), project_id=data["project_id"], name=data["name"],
                    description=data["description"], subnet_id=data.get("subnet_id"),
                    router_id=data["router_id"], admin_state_up=data["admin_state_up"],
                    status=vr.PENDING_CREATE)
            session.add(row)
            routers.add(row.router_id)
            return row
        created = common.create_all(self.deps, "vpnservice", ctx, items, create,
                                    service_dicts)
        self.notifier.routers_updated(sorted(routers))
        return created

    @staticmethod
    def _check(session: Session, ctx: Context, router_id: str, subnet_id: str | None
               ) -> None:
        router = session.get(models.Router, router_id)
        if router is None or not (ctx.is_admin or router.project_id == ctx.project_id):
            raise RouterNotFound(router_id=router_id)
        if not router.gw_port_id:
            raise vr.RouterIsNotExternal(router_id=router_id)
        if subnet_id is not None and not subnet_on_router(session, router_id, subnet_id):
            raise vr.SubnetIsNotConnectedToRouter(subnet_id=subnet_id,
                                                  router_id=router_id)

    def update(self, ctx: Context, service_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self.row(session, service_id, lock=True)
            assert_update_allowed(row)
            common.apply_standard(row, data)
            if "admin_state_up" in data:
                row.admin_state_up = data["admin_state_up"]
            session.flush()
            return service_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.notifier.changed("vpnservice", events.AFTER_UPDATE, ctx, service_id, new,
                              [new["router_id"]])
        return new

    def delete(self, ctx: Context, service_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> str:
            if session.scalars(select(C.id).where(C.vpnservice_id == service_id)
                               .limit(1)).first() is not None:
                raise vr.VPNServiceInUse(vpnservice_id=service_id)
            row = self.row(session, service_id, lock=True)
            session.delete(row)
            return row.router_id
        router_id = self.deps.db.run(run)
        self.notifier.changed("vpnservice", events.AFTER_DELETE, ctx, service_id, None,
                              [router_id])

    # -- the agents' report -------------------------------------------------------------

    def update_status(self, report: list[VpnServiceStatus]) -> int:
        """Upstream's update_status_by_agent: each service's and connection's status
        as reported (anything but ACTIVE/DOWN/ERROR: ERROR); a pending one only when
        the agent acted on it. Unknown ids are skipped. The number of rows changed."""
        def run(session: Session) -> int:
            changed = 0
            for service in report:
                changed += self._set(session, S, service.get("id"), service.get("status"),
                                     bool(service.get("updated_pending_status")))
                for conn_id, conn in (service.get("ipsec_site_connections") or {}).items():
                    changed += self._set(session, C, conn_id, conn.get("status"),
                                         bool(conn.get("updated_pending_status")))
            return changed
        return self.deps.db.run(run)

    @staticmethod
    def _set(session: Session, model: Any, row_id: Any, status: Any,
             updated_pending: bool) -> int:
        if not isinstance(row_id, str):
            return 0
        status = status if status in REPORTED else vr.ERROR
        stmt = update(model).where(model.id == row_id, model.status != status)
        if not updated_pending:
            stmt = stmt.where(model.status.not_in(vr.PENDING))
        return int(session.execute(stmt.values(status=status)).rowcount or 0)

    # -- what may not go while a service uses it ----------------------------------------

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._router_deleting, "router", events.PRECOMMIT_DELETE)
        registry.subscribe(self._port_deleting, "port", events.PRECOMMIT_DELETE)
        registry.subscribe(self._subnet_deleting, "subnet", events.PRECOMMIT_DELETE)

    @staticmethod
    def _router_deleting(resource: str, event: str, payload: events.Payload) -> None:
        session: Session = payload.session
        ids = list(session.scalars(select(S.id).where(
            S.router_id == payload.resource_id).order_by(S.id)))
        if ids:
            raise RouterInUse(router_id=payload.resource_id, reason=(
                f"is currently used by VPN service{'s' if len(ids) > 1 else ''} "
                f"({','.join(ids)})"))

    @staticmethod
    def _port_deleting(resource: str, event: str, payload: events.Payload) -> None:
        """A router interface going (remove_router_interface): its subnets must not
        be a VPN service's or a connection's local endpoints on that router."""
        session: Session = payload.session
        port = session.get(models.Port, payload.resource_id)
        if port is None or not port.device_id or not (port.device_owner or "").startswith(
                "network:router_interface"):
            return
        router_id = port.device_id
        for subnet_id in session.scalars(select(IPA.subnet_id).where(
                IPA.port_id == port.id)):
            check_subnet_unused(session, subnet_id, router_id)

    @staticmethod
    def _subnet_deleting(resource: str, event: str, payload: events.Payload) -> None:
        session: Session = payload.session
        group = session.scalars(select(EG.id).join(EP, EP.endpoint_group_id == EG.id)
                                .where(EG.endpoint_type == vr.SUBNET_ENDPOINT,
                                       EP.endpoint == payload.resource_id)
                                .limit(1)).first()
        if group is not None:
            raise vr.SubnetInUseByEndpointGroup(subnet_id=payload.resource_id,
                                                group_id=group)


def check_subnet_unused(session: Session, subnet_id: str, router_id: str) -> None:
    """Upstream's check_subnet_in_use."""
    service = session.scalars(select(S.id).where(
        S.subnet_id == subnet_id, S.router_id == router_id).limit(1)).first()
    if service is not None:
        raise vr.SubnetInUseByVPNService(subnet_id=subnet_id, vpnservice_id=service)
    conn = session.scalars(
        select(C.id).join(EG, EG.id == C.local_ep_group_id)
        .join(EP, EP.endpoint_group_id == EG.id).join(S, S.id == C.vpnservice_id)
        .where(EG.endpoint_type == vr.SUBNET_ENDPOINT, EP.endpoint == subnet_id,
               S.router_id == router_id).limit(1)).first()
    if conn is not None:
        raise vr.SubnetInUseByIPsecSiteConnection(subnet_id=subnet_id,
                                                  ipsec_site_connection_id=conn)


# -- IPsec site connections -------------------------------------------------------------

def resolve(address: str) -> str:
    """An IP address as given, or a name resolved (upstream's resolve_peer_address)."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(address, None)[0][4][0])
    except (socket.gaierror, UnicodeError, IndexError):
        raise vr.VPNPeerAddressNotResolved(peer_address=address) from None


class IpsecSiteConnectionService:
    resource = vr.CONNECTION
    model = C

    def __init__(self, deps: Deps, notifier: VpnNotifier, services: VpnServiceService,
                 ike: IkePolicyService, ipsec: IpsecPolicyService,
                 groups: EndpointGroupService) -> None:
        self.deps = deps
        self.notifier = notifier
        self.services = services
        self.ike = ike
        self.ipsec = ipsec
        self.groups = groups
        self.columns = owned_columns(
            C, "peer_address", "peer_id", "local_id", "route_mode", "mtu", "initiator",
            "auth_mode", "psk", "admin_state_up", "status", "vpnservice_id",
            "ikepolicy_id", "ipsecpolicy_id", "local_ep_group_id", "peer_ep_group_id")

    @staticmethod
    def missing(conn_id: str) -> Exception:
        return vr.IPsecSiteConnectionNotFound(ipsec_site_conn_id=conn_id)

    def row(self, session: Session, conn_id: str, lock: bool = False) -> C:
        return owned_row(session, C, conn_id, None, lambda: self.missing(conn_id), lock)

    def get(self, ctx: Context, conn_id: str) -> dict:
        return self.deps.db.run(lambda s: connection_dicts(s, [self.row(s, conn_id)])[0],
                                write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def sub_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
            if name != "peer_cidrs":
                return true()
            return C.id.in_(select(PC.ipsec_site_connection_id).where(
                PC.cidr.in_([value for _, value in pairs])))

        def run(session: Session) -> list[dict]:
            return connection_dicts(session, list_rows(
                session, ctx, C, query, self.columns, self.missing, sub_filter))
        return self.deps.db.run(run, write=False)

    # -- the checks ----------------------------------------------------------------------

    def _validate(self, session: Session, ctx: Context, conn: dict, service: S) -> None:
        """Upstream's order: optional arguments, endpoints and IP versions, DPD, MTU,
        then the peer address against the router's gateway."""
        vr.check_optional_args(conn, service.subnet_id)
        if conn.get("local_ep_group_id"):
            local_version = self._local_group_version(session, ctx, conn, service)
            peer = self.groups.row(session, conn["peer_ep_group_id"], ctx)
            if peer.endpoint_type != vr.CIDR_ENDPOINT:
                raise vr.WrongEndpointGroupType(group_type=peer.endpoint_type,
                                                which=peer.id, expected=vr.CIDR_ENDPOINT)
            versions = {vr.cidr_version(c) for c in endpoints_of(session, [peer.id])
                        .get(peer.id, [])}
            if len(versions) > 1:
                raise vr.MixedIPVersionsForIPSecEndpoints(group=peer.id)
            peer_version = versions.pop() if versions else local_version
        else:
            subnet = session.get(models.Subnet, service.subnet_id)
            local_version = subnet.ip_version if subnet is not None else 4
            for cidr in conn["peer_cidrs"]:
                if vr.v.subnet_problem(cidr) is not None:
                    raise vr.IPsecSiteConnectionPeerCidrError(peer_cidr=cidr)
            peer_version = vr.peer_cidrs_version(conn["peer_cidrs"])
        if local_version != peer_version:
            raise vr.MixedIPVersionsForIPSecConnection()
        vr.check_dpd(conn)
        if conn.get("mtu"):
            vr.check_mtu(conn["mtu"], local_version)

    def _local_group_version(self, session: Session, ctx: Context, conn: dict,
                             service: S) -> int:
        local = self.groups.row(session, conn["local_ep_group_id"], ctx)
        if local.endpoint_type != vr.SUBNET_ENDPOINT:
            raise vr.WrongEndpointGroupType(group_type=local.endpoint_type,
                                            which=local.id, expected=vr.SUBNET_ENDPOINT)
        subnet_ids = endpoints_of(session, [local.id]).get(local.id, [])
        versions = set()
        for subnet_id in subnet_ids:
            subnet = session.get(models.Subnet, subnet_id)
            if subnet is None or not subnet_on_router(session, service.router_id,
                                                      subnet_id):
                raise vr.SubnetIsNotConnectedToRouter(subnet_id=subnet_id,
                                                      router_id=service.router_id)
            versions.add(subnet.ip_version)
        if len(versions) > 1:
            raise vr.MixedIPVersionsForIPSecEndpoints(group=local.id)
        return versions.pop() if versions else 4

    @staticmethod
    def _peer_address(session: Session, conn: dict, service: S) -> str:
        address = resolve(conn["peer_address"])
        version = ipaddress.ip_address(address).version
        if version not in gateway_ips(session, [service.router_id]).get(
                service.router_id, {}):
            router = session.get(models.Router, service.router_id)
            if router is None or not router.gw_port_id:
                raise vr.RouterIsNotExternal(router_id=service.router_id)
            raise vr.ExternalNetworkHasNoSubnet(
                router_id=service.router_id, ip_version="IPv6" if version == 6 else "IPv4")
        return address

    # -- writes --------------------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        routers: set[str] = set()

        def create(session: Session, data: dict) -> C:
            authorize(data, dict(data, tenant_id=data["project_id"]))
            conn = dict(data, dpd={**vr.DEFAULT_DPD, **(data.get("dpd") or {})},
                        peer_cidrs=data.get("peer_cidrs") or [])
            service = self.services.row(session, conn["vpnservice_id"], ctx)
            owned_row(session, models.IKEPolicy, conn["ikepolicy_id"], ctx,
                      lambda: self.ike.missing(conn["ikepolicy_id"]))
            owned_row(session, models.IPsecPolicy, conn["ipsecpolicy_id"], ctx,
                      lambda: self.ipsec.missing(conn["ipsecpolicy_id"]))
            self._validate(session, ctx, conn, service)
            address = self._peer_address(session, conn, service)
            self.deps.quotas.check(session, data["project_id"], "ipsec_site_connection", 1)
            row = C(id=common.new_id(), project_id=data["project_id"], name=conn["name"],
                    description=conn["description"], peer_address=address,
                    peer_id=conn["peer_id"], local_id=conn["local_id"],
                    route_mode="static", mtu=conn["mtu"], auth_mode="psk",
                    psk=conn["psk"], initiator=conn["initiator"],
                    dpd_action=conn["dpd"]["action"],
                    dpd_interval=conn["dpd"]["interval"],
                    dpd_timeout=conn["dpd"]["timeout"],
                    admin_state_up=conn["admin_state_up"], status=vr.PENDING_CREATE,
                    vpnservice_id=service.id, ikepolicy_id=conn["ikepolicy_id"],
                    ipsecpolicy_id=conn["ipsecpolicy_id"],
                    local_ep_group_id=conn.get("local_ep_group_id"),
                    peer_ep_group_id=conn.get("peer_ep_group_id"))
            session.add(row)
            session.flush()
            self._set_peer_cidrs(session, row.id, conn["peer_cidrs"])
            routers.add(service.router_id)
            return row
        created = common.create_all(self.deps, "ipsec_site_connection", ctx, items,
                                    create, connection_dicts)
        self.notifier.routers_updated(sorted(routers))
        return created

    @staticmethod
    def _set_peer_cidrs(session: Session, conn_id: str, cidrs: list[str]) -> None:
        session.execute(delete(PC).where(PC.ipsec_site_connection_id == conn_id))
        session.flush()
        for position, cidr in enumerate(dict.fromkeys(cidrs)):
            session.add(PC(ipsec_site_connection_id=conn_id, cidr=cidr,
                           position=position))

    def update(self, ctx: Context, conn_id: str, data: dict,
               revision: int | None = None) -> dict:
        router: list[str] = []

        def run(session: Session) -> dict:
            router.clear()
            row = self.row(session, conn_id, lock=True)
            old = connection_dicts(session, [row])[0]
            service = self.services.row(session, row.vpnservice_id)
            conn = {**old, **data, "dpd": {**old["dpd"], **(data.get("dpd") or {})}}
            self._validate(session, ctx, conn, service)
            address = self._peer_address(session, conn, service) \
                if "peer_address" in data else row.peer_address
            assert_update_allowed(row)
            for name in ("name", "description", "peer_id", "local_id", "mtu", "psk",
                         "initiator", "admin_state_up", "local_ep_group_id",
                         "peer_ep_group_id"):
                if name in data:
                    setattr(row, name, data[name])
            row.peer_address = address
            row.dpd_action, row.dpd_interval, row.dpd_timeout = (
                conn["dpd"]["action"], conn["dpd"]["interval"], conn["dpd"]["timeout"])
            if "peer_cidrs" in data:
                self._set_peer_cidrs(session, conn_id, data["peer_cidrs"] or [])
            new = connection_dicts(session, [row])[0]
            if _tunnel(new) != _tunnel(old):
                # What the agent runs changed: pending until it reports again.
                row.status = vr.PENDING_UPDATE
                new["status"] = row.status
            session.flush()
            router.append(service.router_id)
            return new
        new = self.deps.db.run(run)
        self.notifier.changed("ipsec_site_connection", events.AFTER_UPDATE, ctx, conn_id,
                              new, router)
        return new

    def delete(self, ctx: Context, conn_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> str:
            row = self.row(session, conn_id, lock=True)
            service = session.get(S, row.vpnservice_id)
            session.execute(delete(PC).where(PC.ipsec_site_connection_id == conn_id))
            session.delete(row)
            return service.router_id if service is not None else ""
        router_id = self.deps.db.run(run)
        self.notifier.changed("ipsec_site_connection", events.AFTER_DELETE, ctx, conn_id,
                              None, [router_id] if router_id else [])


def _tunnel(conn: dict) -> dict:
    """What of a connection the agent renders (its name and description are not)."""
    return {k: val for k, val in conn.items()
            if k not in ("name", "description", "status")}


@dataclass(frozen=True)
class Vpnaas:
    """The vpnaas service plugin's services (core.py builds them when it is in
    service_plugins)."""

    ikepolicies: IkePolicyService
    ipsecpolicies: IpsecPolicyService
    endpoint_groups: EndpointGroupService
    vpnservices: VpnServiceService
    connections: IpsecSiteConnectionService

    @property
    def services(self) -> tuple[Any, ...]:
        return (self.ikepolicies, self.ipsecpolicies, self.vpnservices,
                self.endpoint_groups, self.connections)


def build(deps: Deps, routers_updated: RoutersUpdated) -> Vpnaas:
    notifier = VpnNotifier(deps, routers_updated)
    ike, ipsec = IkePolicyService(deps, notifier), IpsecPolicyService(deps, notifier)
    groups = EndpointGroupService(deps, notifier)
    services = VpnServiceService(deps, notifier)
    return Vpnaas(ike, ipsec, groups, services,
                  IpsecSiteConnectionService(deps, notifier, services, ike, ipsec, groups))

