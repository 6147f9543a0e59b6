"""Port changes L3 refuses, as upstream's L3 and core plugins do:

* a port update whose `fixed_ips` no longer ask for the address a floating IP is
  associated with: 400 (upstream's message); the floating IP must be disassociated
  first;
* a port that names another project's router as its device while being a router
  interface (create, or an update touching `device_owner` / `device_id`), unless
  the caller is an administrator: 409 `DeviceIDNotOwnedByTenant`;
* l3-port-ip-change-not-allowed: a port update that would change the addresses of
  a router's port (interface or gateway): 400; the router's interface and gateway
  calls own those addresses. Asking again for what the port has is no change.

Upstream refuses nothing else here: a router port's `device_owner` may be changed
by whoever the policy allows (`update_port:device_owner`: the network's owner).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.ipam.plan import (
    ROUTER_INTERFACE_OWNERS,
    Allocation,
    FixedIpRequest,
    plan_update,
)
from neutrino.services.ports import is_router_port


class PortBadRequest(exc.BadRequest):
    """Upstream's BadRequest(resource='port', msg=...): type "BadRequest"."""

    def __init__(self, msg: str) -> None:
        exc.NeutronError.__init__(self, resource="port", msg=msg)

    @property
    def type(self) -> str:
        return "BadRequest"


class IPAddressChangeNotAllowed(exc.BadRequest):
    """Upstream's BadRequest(resource='ports', msg=...): type "BadRequest"."""

    def __init__(self, port_id: str) -> None:
        exc.NeutronError.__init__(
            self, resource="ports", msg=f"IP updates for port {port_id} are not allowed")

    @property
    def type(self) -> str:
        return "BadRequest"


# The ports whose addresses only the router calls change.
L3_OWNED_ADDRESSES = ROUTER_INTERFACE_OWNERS + ("network:router_gateway",)


class DeviceIDNotOwnedByTenant(exc.Conflict):
    message = ("The following device_id %(device_id)s is not owned by your tenant or "
               "matches another tenants router.")


def subscribe(registry: events.Registry) -> None:
    registry.subscribe(_before_port_update, "port", events.BEFORE_UPDATE)
    registry.subscribe(_port_created, "port", events.PRECOMMIT_CREATE)


def _before_port_update(resource: str, event: str, payload: events.Payload) -> None:
    old, request = payload.states
    session: Session = payload.session
    if "fixed_ips" in request:
        _keep_router_port_addresses(old, request["fixed_ips"])
        _keep_floating_ip_address(session, payload.resource_id, request["fixed_ips"])
    # Upstream's test, including its reading of a request without device_id as a
    # change of device_id.
    owner = request.get("device_owner") or old["device_owner"]
    device_changed = request.get("device_id") != old["device_id"]
    if (owner and device_changed) or "device_owner" in request:
        _check_router_device(session, payload.context, owner,
                             request.get("device_id") or old["device_id"],
                             old["project_id"])


def _port_created(resource: str, event: str, payload: events.Payload) -> None:
    data = payload.states[0]
    if data.get("device_owner"):
        _check_router_device(payload.session, payload.context, data["device_owner"],
                             data.get("device_id") or "", data["project_id"])


def _keep_router_port_addresses(old: dict, fixed_ips: list[dict] | None) -> None:
    if old["device_owner"] not in L3_OWNED_ADDRESSES:
        return
    current = [Allocation(ip["subnet_id"], ip["ip_address"]) for ip in old["fixed_ips"]]
    wanted = [FixedIpRequest.from_dict(entry) for entry in fixed_ips or []]
    change = plan_update(current, wanted, [], old["device_owner"])
    if change.release or change.new:
        raise IPAddressChangeNotAllowed(old["id"])


def _keep_floating_ip_address(session: Session, port_id: str | None,
                              fixed_ips: list[dict] | None) -> None:
    FIP = models.FloatingIP
    associated = session.scalars(select(FIP.fixed_ip_address).where(
        FIP.fixed_port_id == port_id, FIP.fixed_ip_address.is_not(None))).all()
    asked = {ip.get("ip_address") for ip in fixed_ips or []}
    if any(address not in asked for address in associated):
        raise PortBadRequest(f"Cannot update the fixed_ips of the port {port_id}, "
                             "because its original fixed_ip has been associated to a "
                             "floating ip")


def _check_router_device(session: Session, ctx: Context, owner: str, device_id: str,
                         project_id: str | None) -> None:
    """A project may not make its port an interface of another project's router."""
    if not is_router_port(owner) or ctx.is_admin or not device_id:
        return
    router_project = session.scalar(select(models.Router.project_id).where(
        models.Router.id == device_id))
    if router_project is not None and router_project != project_id:
        raise DeviceIDNotOwnedByTenant(device_id=device_id)
