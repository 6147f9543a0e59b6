"""Floating IPs: an address of an external network (a real port, owner
network:floatingip, project "") mapped by a router to a fixed IP of a port.

The floating port's address comes from IPAM (random, unique by primary key, the
transaction retried on a race). One fixed IP has at most one floating IP per external
network: a unique key guards concurrent associations. Deleting the associated port
disassociates (a PRECOMMIT_DELETE subscriber); router-owned and floating ports cannot
be deleted through the port API.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources.floatingip import (
    FLOATINGIP,
    ExternalGatewayForFloatingIPNotFound,
    FloatingIPBadRequest,
    FloatingIPNotFound,
    FloatingIPPortAlreadyAssociated,
    FloatingIPRouterGatewayMismatch,
)
from neutrino.resources.port import UNSET
from neutrino.resources.port_forwarding import FipInUseByPortForwarding
from neutrino.resources.router import RouterNotFound
from neutrino.services import common, qos_l3
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps
from neutrino.services.external_networks import is_external, usable_external
from neutrino.services.port_forwarding_views import for_floatingips
from neutrino.services.ports import PortService
from neutrino.services.routers import FIP_OWNER, GW_OWNER, IF_OWNER

FIP = models.FloatingIP
FIPDNS = models.FloatingIPDNS
P = models.Port
IPA = models.IPAllocation
RP = models.RouterPort
COLUMNS = {
    "id": FIP.id, "description": FIP.description, "project_id": FIP.project_id,
    "tenant_id": FIP.project_id, "floating_ip_address": FIP.floating_ip_address,
    "floating_network_id": FIP.floating_network_id, "router_id": FIP.router_id,
    "port_id": FIP.fixed_port_id, "fixed_ip_address": FIP.fixed_ip_address,
    "status": FIP.status, "created_at": FIP.created_at, "updated_at": FIP.updated_at,
    "revision_number": FIP.revision_number,
}
PORT_DETAILS = ("name", "network_id", "mac_address", "admin_state_up", "status",
                "device_id", "device_owner")


class L3PortInUse(exc.InUse):
    message = ("Port %(port_id)s has owner %(device_owner)s and therefore cannot be "
               "deleted directly via the port API.")


class FloatingIPService:
    resource = FLOATINGIP
    model = FIP

    def __init__(self, deps: Deps, ports: PortService) -> None:
        self.deps = deps
        self.ports = ports

    # -- reads ---------------------------------------------------------------

    def _row(self, session: Session, fip_id: str, lock: bool = False) -> FIP:
        row = session.get(FIP, fip_id, with_for_update=lock)
        if row is None:
            raise FloatingIPNotFound(floatingip_id=fip_id)
        return row

    def get(self, ctx: Context, fip_id: str) -> dict:
        return self.deps.db.run(
            lambda s: self.to_dicts(s, [self._row(s, fip_id)])[0], write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        query, unassociated = _split_unassociated(query)

        def run(session: Session) -> list[dict]:
            stmt = select(FIP).where(*filter_clauses(FIP, query, COLUMNS, self._sub_filter),
                                     *unassociated)
            if not ctx.is_admin:
                stmt = stmt.where(FIP.project_id == ctx.project_id)
            rows = fetch_page(session, stmt, query, COLUMNS, FIP,
                              lambda i: FloatingIPNotFound(floatingip_id=i))
            return self.to_dicts(session, rows)
        return self.deps.db.run(run, write=False)

    @staticmethod
    def _sub_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
        raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")

    def to_dicts(self, session: Session, rows: list[FIP], fields: Any = None) -> list[dict]:
        tags = common.load_tags(session, [r.id for r in rows])
        port_ids = [r.fixed_port_id for r in rows if r.fixed_port_id]
        stmt = select(P.id, *[getattr(P, k) for k in PORT_DETAILS])
        details = {row[0]: dict(zip(PORT_DETAILS, row[1:], strict=True))
                   for row in rows_for_ids(session, stmt, P.id, port_ids)}
        dns = {fip_id: (name, domain) for fip_id, name, domain in rows_for_ids(
            session, select(FIPDNS.floatingip_id, FIPDNS.dns_name, FIPDNS.dns_domain),
            FIPDNS.floatingip_id, [r.id for r in rows])}
        forwardings = for_floatingips(session, [r.id for r in rows])
        qos = qos_l3.fip_policies(session, [r.id for r in rows])
        out = []
        for row in rows:
            item = common.standard_dict(row, tags.get(row.id, []))
            del item["name"]
            item.update(floating_ip_address=row.floating_ip_address,
                        floating_network_id=row.floating_network_id,
                        router_id=row.router_id, port_id=row.fixed_port_id,
                        fixed_ip_address=row.fixed_ip_address, status=row.status,
                        port_details=details.get(row.fixed_port_id))
            item["dns_name"], item["dns_domain"] = dns.get(row.id, ("", ""))
            item["port_forwardings"] = forwardings.get(row.id, [])
            item["qos_policy_id"] = qos.get(row.id)
            out.append(item)
        return out

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        ports: list[dict] = []

        def run(session: Session) -> list[dict]:
            ports.clear()
            rows = [self._create(session, ctx, data, authorize, ports) for data in items]
            session.flush()
            return self.to_dicts(session, rows)
        result = self.deps.db.run(run)
        for port in ports:
            self.deps.events.publish("port", events.AFTER_CREATE,
                                     events.Payload(ctx, port["id"], states=(port,)))
        for item in result:
            self.deps.events.publish("floatingip", events.AFTER_CREATE,
                                     events.Payload(ctx, item["id"], states=(item,)))
        return result

    def _create(self, session: Session, ctx: Context, data: dict, authorize: Authorize,
                ports: list[dict]) -> FIP:
        _check_dns(data)
        network_id = data["floating_network_id"]
        network = session.get(models.Network, network_id)
        if network is None:
            raise exc.NetworkNotFound(net_id=network_id)
        authorize(data, dict(data, tenant_id=data["project_id"]))
        if not is_external(session, network_id):
            raise FloatingIPBadRequest(f"Network {network_id} is not a valid external "
                                       "network")
        if not usable_external(session, ctx, network_id):
            raise exc.NetworkNotFound(net_id=network_id)
        self.deps.quotas.check(session, data["project_id"], "floatingip", 1)
        fip_id = common.new_id()
        port = self.ports.create_internal(session, ctx, {
            "network_id": network_id, "project_id": "", "device_owner": FIP_OWNER,
            "device_id": fip_id, "admin_state_up": True, "name": "",
            "fixed_ips": self._address_request(session, data)})
        v4 = [ip for ip in port["fixed_ips"] if ":" not in ip["ip_address"]]
        if not v4:
            raise FloatingIPBadRequest(f"Network {network_id} does not contain any IPv4 "
                                       "subnet")
        ports.append(port)
        row = FIP(id=fip_id, project_id=data["project_id"], name="",
                  description=data["description"], floating_ip_address=v4[0]["ip_address"],
                  floating_network_id=network_id, floating_port_id=port["id"],
                  status="DOWN", revision_number=0)
        session.add(row)
        session.flush()
        if data.get("tags"):
            common.set_tags(session, "floatingips", row.id, data["tags"])
        if data.get("qos_policy_id"):
            qos_l3.set_fip_policy(session, ctx, row.id, data["qos_policy_id"])
        if data.get("dns_name"):
            session.add(FIPDNS(floatingip_id=row.id, dns_name=data["dns_name"],
                               dns_domain=data["dns_domain"]))
        if data.get("port_id"):
            self._associate(session, ctx, row, data["port_id"], data.get("fixed_ip_address"),
                            data.get("router_id"))
        elif data.get("fixed_ip_address"):
            raise FloatingIPBadRequest("fixed_ip_address cannot be specified without a "
                                       "port_id")
        elif data.get("router_id"):
            # Checked, but a floating IP without a port has no hosting router.
            self._check_hosting_router(session, ctx, row, data["router_id"])
        session.flush()
        return row

    @staticmethod
    def _address_request(session: Session, data: dict) -> Any:
        """The floating port's fixed_ips: the address and/or subnet asked for, else
        one address of any IPv4 subnet of the network."""
        wanted: dict[str, str] = {}
        if data.get("floating_ip_address"):
            wanted["ip_address"] = data["floating_ip_address"]
        if data.get("subnet_id"):
            wanted["subnet_id"] = data["subnet_id"]
        if wanted:
            return [wanted]
        v4 = session.scalars(select(models.Subnet.id).where(
            models.Subnet.network_id == data["floating_network_id"],
            models.Subnet.ip_version == 4)).first()
        if v4 is None:
            raise FloatingIPBadRequest(f"Network {data['floating_network_id']} does not "
                                       "contain any IPv4 subnet")
        return UNSET

    def update(self, ctx: Context, fip_id: str, data: dict,
               revision: int | None = None) -> dict:
        old_router: list[str | None] = []
        if not data:
            # Upstream: an empty update ({"floatingip": {}}) disassociates; one that
            # only leaves port_id out (a description) keeps the association.
            data = {"port_id": None}

        def run(session: Session) -> dict:
            old_router.clear()
            row = self._row(session, fip_id, lock=True)
            common.check_revision(row, revision)
            old_router.append(row.router_id)
            if "description" in data:
                row.description = data["description"]
            if "qos_policy_id" in data:
                qos_l3.set_fip_policy(session, ctx, row.id, data["qos_policy_id"],
                                      qos_l3.fip_policies(session, [row.id]).get(row.id))
            if data.get("port_id"):
                _check_no_forwardings(session, row)
            if "port_id" in data:
                if data["port_id"] is None:
                    if data.get("fixed_ip_address"):
                        raise FloatingIPBadRequest("fixed_ip_address cannot be specified "
                                                   "without a port_id")
                    if not _has_forwardings(session, row):
                        # (the router of a floating IP's port forwardings stays)
                        _disassociate(row)
                else:
                    self._associate(session, ctx, row, data["port_id"],
                                    data.get("fixed_ip_address"), data.get("router_id"))
            elif data.get("fixed_ip_address"):
                raise FloatingIPBadRequest("fixed_ip_address cannot be specified without "
                                           "a port_id")
            elif "router_id" in data and row.fixed_port_id is not None:
                # Another hosting router for the same association (null: the
                # directly connected one).
                self._associate(session, ctx, row, row.fixed_port_id,
                                row.fixed_ip_address, data["router_id"])
            elif data.get("router_id"):
                self._check_hosting_router(session, ctx, row, data["router_id"])
            common.bump_revision(row)
            session.flush()
            return self.to_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.deps.events.publish("floatingip", events.AFTER_UPDATE, events.Payload(
            ctx, fip_id, states=(None, new), metadata={"old_router_id": old_router[0]}))
        return new

    def delete(self, ctx: Context, fip_id: str, revision: int | None = None) -> None:
        gone: dict = {}

        def run(session: Session) -> None:
            row = self._row(session, fip_id, lock=True)
            common.check_revision(row, revision)
            _check_no_forwardings(session, row)
            gone.update(router_id=row.router_id, port_id=row.floating_port_id)
            port_id = row.floating_port_id
            session.delete(row)
            session.flush()
            self.ports.delete_internal(session, ctx, port_id)
        self.deps.db.run(run)
        self.deps.events.publish("port", events.AFTER_DELETE,
                                 events.Payload(ctx, gone["port_id"]))
        self.deps.events.publish("floatingip", events.AFTER_DELETE, events.Payload(
            ctx, fip_id, metadata={"old_router_id": gone["router_id"]}))

    # -- association ---------------------------------------------------------

    @staticmethod
    def _sees_port(session: Session, ctx: Context, port: P) -> bool:
        """Whether get_port's default policy lets the caller read the port: admin,
        the port's project or its network's."""
        if ctx.is_admin or port.project_id == ctx.project_id:
            return True
        network = session.get(models.Network, port.network_id)
        return network is not None and network.project_id == ctx.project_id

    def _associate(self, session: Session, ctx: Context, row: FIP, port_id: str,
                   fixed_ip: str | None, router_id: str | None = None) -> None:
        """Map the floating IP to the port's fixed IP through `router_id` when given
        (floating-ip-router-writable: any router the caller sees with a gateway on
        the floating network), else through the router connecting the port's
        subnet to that network."""
        port = session.get(P, port_id)
        if port is None or not self._sees_port(session, ctx, port):
            # A port the caller cannot read is not found, as a random id (upstream
            # reads it with the caller's policy): no oracle for other projects' ports.
            raise exc.PortNotFound(port_id=port_id)
        if not ctx.is_admin and port.project_id != row.project_id:
            raise FloatingIPBadRequest(f"Cannot process floating IP association with "
                                       f"Port {port_id}, since that port is owned by a "
                                       "different tenant")
        ips = session.execute(select(IPA.subnet_id, IPA.ip_address).where(
            IPA.port_id == port_id)).all()
        subnet_id, fixed_ip = _choose_fixed_ip(port_id, ips, fixed_ip)
        if router_id is not None:
            self._check_hosting_router(session, ctx, row, router_id)
        else:
            router_id = self._router_for(session, row.floating_network_id, subnet_id)
        if router_id is None:
            raise ExternalGatewayForFloatingIPNotFound(
                external_network_id=row.floating_network_id, subnet_id=subnet_id,
                port_id=port_id)
        taken = session.scalars(select(FIP.id).where(
            FIP.floating_network_id == row.floating_network_id,
            FIP.fixed_port_id == port_id, FIP.fixed_ip_address == fixed_ip,
            FIP.id != row.id).limit(1)).first()
        if taken is not None:
            raise FloatingIPPortAlreadyAssociated(
                floating_ip_address=row.floating_ip_address, fip_id=row.id,
                port_id=port_id, fixed_ip=fixed_ip, net_id=row.floating_network_id)
        row.fixed_port_id = port_id
        row.fixed_ip_address = fixed_ip
        row.router_id = router_id
        # A concurrent association of the same fixed IP fails here on the unique key;
        # the retried transaction then finds it taken.
        session.flush()

    @staticmethod
    def _check_hosting_router(session: Session, ctx: Context, row: FIP,
                              router_id: str) -> None:
        """A router named as the floating IP's: one the caller may see (else 404),
        with its gateway on the floating network (else 409)."""
        router = session.get(models.Router, router_id)
        if router is None or not (ctx.is_admin or router.project_id == ctx.project_id):
            raise RouterNotFound(router_id=router_id)
        gateway = session.scalars(select(RP.port_id).join(P, P.id == RP.port_id).where(
            RP.router_id == router_id, RP.port_type == GW_OWNER,
            P.network_id == row.floating_network_id).limit(1)).first()
        if gateway is None:
            raise FloatingIPRouterGatewayMismatch(
                router_id=router_id, net_id=row.floating_network_id, floatingip_id=row.id)

    @staticmethod
    def _router_for(session: Session, network_id: str, subnet_id: str) -> str | None:
        """A router with an interface on the subnet and its gateway on the network."""
        gw = (select(RP.router_id).join(P, P.id == RP.port_id)
              .where(RP.port_type == GW_OWNER, P.network_id == network_id))
        stmt = (select(RP.router_id).join(IPA, IPA.port_id == RP.port_id)
                .where(RP.port_type == IF_OWNER, IPA.subnet_id == subnet_id,
                       RP.router_id.in_(gw))
                .order_by(RP.router_id).limit(1))
        return session.scalars(stmt).first()

    # -- port events ---------------------------------------------------------

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._before_port_delete, "port", events.PRECOMMIT_DELETE)
        registry.subscribe(self._before_network_delete, "network", events.BEFORE_DELETE)

    def _before_network_delete(self, resource: str, event: str,
                               payload: events.Payload) -> None:
        """As upstream, deleting an external network deletes its floating IPs that
        are not associated (no port, no router); associated ones keep the network in
        use. No router holds them, so there is nothing to notify."""
        session: Session = payload.session
        rows = session.scalars(select(FIP).where(
            FIP.floating_network_id == payload.resource_id,
            FIP.fixed_port_id.is_(None), FIP.router_id.is_(None))).all()
        for row in rows:
            port_id = row.floating_port_id
            common.delete_tags(session, row.id)
            session.delete(row)
            session.flush()
            self.ports.delete_internal(session, payload.context, port_id)

    def _before_port_delete(self, resource: str, event: str,
                            payload: events.Payload) -> None:
        """A port a router or floating IP still holds cannot be deleted; a port with
        floating IPs loses them (their routers are noted for the notifier)."""
        session: Session = payload.session
        port_id = payload.resource_id
        held = session.scalars(select(RP.port_type).where(RP.port_id == port_id)).first()
        if held is None and session.scalars(select(FIP.id).where(
                FIP.floating_port_id == port_id)).first() is not None:
            held = FIP_OWNER
        if held is not None:
            owner = session.scalar(select(P.device_owner).where(P.id == port_id))
            raise L3PortInUse(port_id=port_id, device_owner=owner or held)
        rows = session.scalars(select(FIP).where(FIP.fixed_port_id == port_id)).all()
        routers = {r.router_id for r in rows if r.router_id}
        for row in rows:
            _disassociate(row)
            common.bump_revision(row)
        session.flush()
        payload.metadata.setdefault("l3_routers", set()).update(routers)
        payload.metadata.setdefault("floatingips", set()).update(r.id for r in rows)


def _split_unassociated(query: ListQuery) -> tuple[ListQuery, list[Any]]:
    """``port_id=`` (empty) means "not associated", as clients use it (openstacksdk's
    find_available_ip): a NULL port, not a port with an empty id."""
    values = query.filters.get("port_id")
    if not values or "" not in [str(v) for v in values]:
        return query, []
    filters = dict(query.filters)
    wanted = [v for v in filters.pop("port_id") if str(v) != ""]
    clause = or_(FIP.fixed_port_id.is_(None), FIP.fixed_port_id.in_(wanted))
    return dataclasses.replace(query, filters=filters), [clause]


def _check_dns(data: dict) -> None:
    """dns_name and dns_domain go together (upstream's check when it keeps them)."""
    if data.get("dns_domain") and not data.get("dns_name"):
        raise FloatingIPBadRequest("dns_domain cannot be specified without a dns_name")
    if data.get("dns_name") and not data.get("dns_domain"):
        raise FloatingIPBadRequest("dns_name cannot be specified without a dns_domain")


def _check_no_forwardings(session: Session, row: FIP) -> None:
    """A floating IP with port forwardings is neither associated to a port nor
    deleted (upstream: 409)."""
    if _has_forwardings(session, row):
        raise FipInUseByPortForwarding(id=row.id)


def _has_forwardings(session: Session, row: FIP) -> bool:
    return session.scalars(select(models.PortForwarding.id).where(
        models.PortForwarding.floatingip_id == row.id).limit(1)).first() is not None


def _disassociate(row: FIP) -> None:
    row.fixed_port_id = None
    row.fixed_ip_address = None
    row.router_id = None


def _choose_fixed_ip(port_id: str, ips: list[Any], wanted: str | None) -> tuple[str, str]:
    """(subnet, address) of the port the floating IP maps to: the one asked for, else
    its only IPv4 address."""
    if wanted is not None:
        for subnet_id, address in ips:
            if address == wanted:
                return subnet_id, address
        raise FloatingIPBadRequest(f"Port {port_id} does not have fixed ip {wanted}")
    v4 = [(s, a) for s, a in ips if ipaddress.ip_address(a).version == 4]
    if not v4:
        raise FloatingIPBadRequest(f"Cannot add floating IP to port {port_id} that has "
                                   "no fixed IPv4 addresses")
    if len(v4) > 1:
        raise FloatingIPBadRequest(f"Port {port_id} has multiple fixed IPv4 addresses.  "
                                   "Must provide a specific IPv4 address when assigning "
                                   "a floating IP")
    return v4[0]
