"""add_router_interface / remove_router_interface.

By subnet: a new port on the subnet's network with the subnet's gateway IP (owner
network:router_interface, device_id the router). By port: an existing port without a
device becomes the interface. Upstream's checks and messages throughout.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.ipam import allocation as ipam
from neutrino.resources import validators as v
from neutrino.resources.router import RouterBadRequest, RouterNotFound
from neutrino.services import common, rbac
from neutrino.services.routers import (
    FIP,
    IF_OWNER,
    IPA,
    RP,
    RouterService,
    interface_subnets,
    routes_via_subnet,
)

P = models.Port
S = models.Subnet


class RouterInterfaceNotFound(exc.NotFound):
    message = "Router %(router_id)s does not have an interface with id %(port_id)s"


class RouterInterfaceNotFoundForSubnet(exc.NotFound):
    message = "Router %(router_id)s has no interface on subnet %(subnet_id)s"


class RouterInterfaceInUseByFloatingIP(exc.InUse):
    message = ("Router interface for subnet %(subnet_id)s on router %(router_id)s cannot "
               "be deleted, as it is required by one or more floating IPs.")


class RouterInterfaceInUseByRoute(exc.InUse):
    message = ("Router interface for subnet %(subnet_id)s on router %(router_id)s cannot "
               "be deleted, as it is required by one or more routes.")


class SubnetMismatchForPort(exc.BadRequest):
    message = ("Subnet on port %(port_id)s does not match the requested subnet "
               "%(subnet_id)s.")


def interface_request(body: Any) -> tuple[str | None, str | None]:
    """(subnet_id, port_id) of an add/remove body; exactly one is required to add."""
    if not isinstance(body, dict):
        raise exc.HTTPBadRequest("Body contains invalid data")
    unknown = sorted(set(body) - {"subnet_id", "port_id"})
    if unknown:
        raise exc.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    subnet_id = body.get("subnet_id")
    port_id = body.get("port_id")
    if subnet_id is not None:
        subnet_id = v.uuid_value("subnet_id")(subnet_id)
    if port_id is not None:
        port_id = v.uuid_value("port_id")(port_id)
    if subnet_id is None and port_id is None:
        raise RouterBadRequest("Either subnet_id or port_id must be specified")
    return subnet_id, port_id


class RouterInterfaces:
    def __init__(self, routers: RouterService) -> None:
        self.routers = routers
        self.deps = routers.deps
        self.ports = routers.ports

    def add(self, ctx: Context, router_id: str, body: Any) -> dict:
        subnet_id, port_id = interface_request(body)
        if subnet_id and port_id:
            raise RouterBadRequest("Cannot specify both subnet-id and port-id")
        created: list[dict] = []

        def run(session: Session) -> dict:
            created.clear()
            router = self.routers._row(session, router_id, lock=True)
            if port_id:
                port, subnet_ids = self._adopt_port(session, ctx, router, port_id)
            else:
                port = self._new_port(session, ctx, router, subnet_id)
                created.append(port)
                subnet_ids = [subnet_id]
            session.add(RP(router_id=router.id, port_id=port["id"], port_type=IF_OWNER))
            common.bump_revision(router)
            session.flush()
            return info(router, port["id"], port["network_id"], subnet_ids)
        result = self.deps.db.run(run)
        for port in created:
            self.deps.events.publish("port", events.AFTER_CREATE,
                                     events.Payload(ctx, port["id"], states=(port,)))
        if port_id:
            self.deps.events.publish("port", events.AFTER_UPDATE,
                                     events.Payload(ctx, port_id, states=(None, None)))
        self._router_changed(ctx, router_id)
        return result

    def _visible_subnet(self, session: Session, ctx: Context, subnet_id: str) -> S:
        subnet = session.get(S, subnet_id)
        if subnet is None:
            raise exc.SubnetNotFound(subnet_id=subnet_id)
        if not ctx.is_admin and subnet.project_id != ctx.project_id:
            network = session.get(models.Network, subnet.network_id)
            if network is None or not rbac.is_shared_with(session, "network", network.id,
                                                          ctx.project_id):
                raise exc.SubnetNotFound(subnet_id=subnet_id)
        return subnet

    def _new_port(self, session: Session, ctx: Context, router: Any, subnet_id: str
                  ) -> dict:
        subnet = self._visible_subnet(session, ctx, subnet_id)
        if not subnet.gateway_ip:
            raise RouterBadRequest("Subnet for router interface must have a gateway IP")
        attached = interface_subnets(session, router.id)
        if any(s == subnet_id for s, _ in attached):
            raise RouterBadRequest(f"Router already has a port on subnet {subnet_id}")
        self._check_overlap(session, router.id, [(subnet.id, subnet.cidr)], attached)
        return self.ports.create_internal(session, ctx, {
            "network_id": subnet.network_id, "project_id": subnet.project_id,
            "device_owner": IF_OWNER, "device_id": router.id, "admin_state_up": True,
            "name": "", "fixed_ips": [{"subnet_id": subnet.id,
                                       "ip_address": subnet.gateway_ip}]})

    def _adopt_port(self, session: Session, ctx: Context, router: Any, port_id: str
                    ) -> tuple[dict, list[str]]:
        port = session.get(P, port_id, with_for_update=True)
        if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
            raise exc.PortNotFound(port_id=port_id)
        if port.device_id:
            raise exc.PortInUse(port_id=port_id, net_id=port.network_id,
                                device_id=port.device_id)
        ips = session.execute(select(IPA.subnet_id, S.cidr, S.ip_version)
                              .join(S, S.id == IPA.subnet_id)
                              .where(IPA.port_id == port_id)).all()
        if not ips:
            raise RouterBadRequest("Router port must have at least one fixed IP")
        if sum(1 for _, _, version in ips if version == 4) > 1:
            raise RouterBadRequest("Cannot have multiple IPv4 subnets on router port")
        attached = interface_subnets(session, router.id)
        for subnet_id, _, _ in ips:
            if any(s == subnet_id for s, _ in attached):
                raise RouterBadRequest(f"Router already has a port on subnet {subnet_id}")
        self._check_overlap(session, router.id, [(s, c) for s, c, _ in ips], attached)
        port.device_id = router.id
        port.device_owner = IF_OWNER
        common.bump_revision(port)
        return {"id": port.id, "network_id": port.network_id}, sorted(s for s, _, _ in ips)

    @staticmethod
    def _check_overlap(session: Session, router_id: str, new: list[tuple[str, str]],
                       attached: list[tuple[str, str]]) -> None:
        for new_id, new_cidr in new:
            for other_id, other_cidr in attached:
                if ipaddress.ip_network(new_cidr).overlaps(ipaddress.ip_network(other_cidr)):
                    raise RouterBadRequest(
                        f"Cidr {new_cidr} of subnet {new_id} overlaps with cidr "
                        f"{other_cidr} of subnet {other_id}")

    def remove(self, ctx: Context, router_id: str, body: Any) -> dict:
        subnet_id, port_id = interface_request(body)
        removed: list[str] = []
        updated: list[str] = []

        def run(session: Session) -> dict:
            removed.clear()
            updated.clear()
            router = self.routers._row(session, router_id, lock=True)
            if port_id:
                port, subnet_ids = self._interface_by_port(session, router_id, port_id)
                if subnet_id and subnet_id not in subnet_ids:
                    raise SubnetMismatchForPort(port_id=port_id, subnet_id=subnet_id)
            else:
                port, subnet_ids = self._interface_by_subnet(session, router_id, subnet_id)
                if len(subnet_ids) > 1:
                    # As upstream: the port keeps its other subnets' addresses; only
                    # this subnet leaves the router.
                    self._check_unused(session, router_id, subnet_id)
                    ipam.release(session, port_id=port.id, subnet_id=subnet_id)
                    common.bump_revision(port)
                    common.bump_revision(router)
                    session.flush()
                    updated.append(port.id)
                    return info(router, port.id, port.network_id, [subnet_id])
            for sid in subnet_ids:
                self._check_unused(session, router_id, sid)
            session.execute(delete(RP).where(RP.port_id == port.id))
            session.flush()
            result = info(router, port.id, port.network_id, subnet_ids)
            self.ports.delete_internal(session, ctx, port.id)
            removed.append(port.id)
            common.bump_revision(router)
            return result
        result = self.deps.db.run(run)
        for pid in removed:
            self.deps.events.publish("port", events.AFTER_DELETE, events.Payload(ctx, pid))
        for pid in updated:
            self.deps.events.publish("port", events.AFTER_UPDATE,
                                     events.Payload(ctx, pid, states=(None, None)))
        self._router_changed(ctx, router_id)
        return result

    @staticmethod
    def _port_subnets(session: Session, port_id: str) -> list[str]:
        return sorted(session.scalars(select(IPA.subnet_id).where(IPA.port_id == port_id)))

    def _interface_by_port(self, session: Session, router_id: str, port_id: str
                           ) -> tuple[Any, list[str]]:
        owned = session.scalars(select(RP.port_id).where(
            RP.router_id == router_id, RP.port_id == port_id,
            RP.port_type == IF_OWNER)).first()
        port = session.get(P, port_id)
        if owned is None or port is None:
            raise RouterInterfaceNotFound(router_id=router_id, port_id=port_id)
        return port, self._port_subnets(session, port_id)

    def _interface_by_subnet(self, session: Session, router_id: str, subnet_id: str
                             ) -> tuple[Any, list[str]]:
        if session.get(S, subnet_id) is None:
            raise exc.SubnetNotFound(subnet_id=subnet_id)
        port_id = session.scalars(
            select(RP.port_id).join(IPA, IPA.port_id == RP.port_id)
            .where(RP.router_id == router_id, RP.port_type == IF_OWNER,
                   IPA.subnet_id == subnet_id)).first()
        if port_id is None:
            raise RouterInterfaceNotFoundForSubnet(router_id=router_id, subnet_id=subnet_id)
        return session.get(P, port_id), self._port_subnets(session, port_id)

    @staticmethod
    def _check_unused(session: Session, router_id: str, subnet_id: str) -> None:
        cidr = session.scalar(select(S.cidr).where(S.id == subnet_id))
        net = ipaddress.ip_network(cidr)
        for fixed_ip in session.scalars(select(FIP.fixed_ip_address).where(
                FIP.router_id == router_id, FIP.fixed_ip_address.is_not(None))):
            address = ipaddress.ip_address(fixed_ip)
            if address.version == net.version and address in net:
                raise RouterInterfaceInUseByFloatingIP(router_id=router_id,
                                                       subnet_id=subnet_id)
        if routes_via_subnet(session, router_id, cidr):
            raise RouterInterfaceInUseByRoute(router_id=router_id, subnet_id=subnet_id)

    def _router_changed(self, ctx: Context, router_id: str) -> None:
        try:
            new = self.routers.get(ctx, router_id)
        except RouterNotFound:
            return
        self.deps.events.publish("router", events.AFTER_UPDATE,
                                 events.Payload(ctx, router_id, states=(None, new)))


def info(router: Any, port_id: str, network_id: str, subnet_ids: list[str]) -> dict:
    """The answer of add/remove_router_interface, as upstream shapes it."""
    return {"id": router.id, "project_id": router.project_id, "port_id": port_id,
            "network_id": network_id, "subnet_id": subnet_ids[0] if subnet_ids else None,
            "subnet_ids": subnet_ids}
