"""Floating IP port forwardings (floating-ip-port-forwarding and its -description,
-port-ranges, -detail extensions): a floating IP that is not associated to a port
forwards (protocol, external port range) to a fixed IPv4 address of an internal
port and a port range there, through the router connecting that port's subnet to
the floating network.

Upstream's rules, checked before and inside the transaction:

* ports: one of ``external_port``/``external_port_range`` and one of
  ``internal_port``/``internal_port_range``; the ranges have the same size, or
  the internal side is one port (N:1); an external range overlapping another
  forwarding of the floating IP for the same protocol, or an internal range
  overlapping another forwarding to the same address and protocol, is refused (400);
* a floating IP associated to a port has no forwardings (409), and a port that has
  a floating IP associated gets none (409); a floating IP with forwardings cannot
  be associated to a port or deleted (409, `floatingips.py`);
* the internal address is one of the port's IPv4 fixed IPs (first one when not
  given); a router must connect its subnet to the floating network (400), the
  same as the floating IP's when it has one already (400);
* the first forwarding sets the floating IP's ``router_id``, the last one gone
  clears it. A port deleted takes its forwardings with it; a port losing a fixed IP
  loses the forwardings to it (after the update, as upstream).

Every change is told to the routers' L3 agents as a change of the floating IP
(``floatingip`` AFTER_UPDATE: the L3 notifier casts ``routers_updated`` and a
floating IP left without router goes DOWN).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import and_, delete, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.resources.floatingip import FloatingIPNotFound, FloatingIPPortAlreadyAssociated
from neutrino.resources.port_forwarding import (
    PORT_FORWARDING,
    PortForwardingBadRequest,
    PortForwardingNotFound,
    PortForwardingNotSupportFilterField,
    PortHasBindingFloatingIP,
    format_range,
    parse_range,
)
from neutrino.services import common
from neutrino.services.deps import Deps
from neutrino.services.device_status import status_only
from neutrino.services.floatingips import FloatingIPService
from neutrino.services.port_forwarding_views import to_dict

PF = models.PortForwarding
FIP = models.FloatingIP
IPA = models.IPAllocation
COLUMNS = {"id": PF.id, "external_port": PF.external_port_start,
           "external_port_range": PF.external_port_start, "protocol": PF.protocol,
           "internal_port_id": PF.internal_port_id, "description": PF.description}
# Upstream refuses these as filters with a message of its own.
NOT_FILTERS = ("internal_ip_address", "internal_port", "internal_port_range")


def _ports(data: dict, side: str, required: bool = True) -> tuple[int, int] | None:
    """(first, last) of one side from ``<side>_port`` or ``<side>_port_range``."""
    single, ranged = data.get(f"{side}_port"), data.get(f"{side}_port_range")
    if single is not None and ranged is not None:
        raise PortForwardingBadRequest(
            f"You cannot provide the {side}_port and the {side}_port_range at the "
            "same time")
    if single is not None:
        return single, single
    if ranged is not None:
        return parse_range(f"{side}_port_range", ranged)
    if required:
        raise PortForwardingBadRequest(
            f"You must provide the {side}_port or the {side}_port_range")
    return None


def check_relation(external: tuple[int, int], internal: tuple[int, int]) -> None:
    """N:N (same size) or N:1 (one internal port)."""
    inside = internal[1] - internal[0]
    if inside and inside != external[1] - external[0]:
        raise PortForwardingBadRequest(
            "Invalid ranges of internal and/or external ports. The relation between "
            "internal and external ports must be N-N or 1-N")


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return max(a[0], b[0]) <= min(a[1], b[1])


class PortForwardingService:
    resource = PORT_FORWARDING
    model = PF

    def __init__(self, deps: Deps, floatingips: FloatingIPService) -> None:
        self.deps = deps
        self.floatingips = floatingips

    # -- reads -----------------------------------------------------------------------

    @staticmethod
    def _fip(session: Session, fip_id: str, lock: bool = False) -> FIP:
        row = session.get(FIP, fip_id, with_for_update=lock)
        if row is None:
            raise FloatingIPNotFound(floatingip_id=fip_id)
        return row

    @staticmethod
    def _row(session: Session, fip_id: str, pf_id: str) -> PF:
        row = session.get(PF, pf_id)
        if row is None or row.floatingip_id != fip_id:
            raise PortForwardingNotFound(id=pf_id)
        return row

    def get(self, ctx: Context, fip_id: str, pf_id: str) -> dict:
        def run(session: Session) -> dict:
            self._fip(session, fip_id)
            return to_dict(self._row(session, fip_id, pf_id))
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, fip_id: str, query: ListQuery) -> list[dict]:
        for name in query.filters:
            if name in NOT_FILTERS:
                raise PortForwardingNotSupportFilterField(filter=name)
        # The external ports as given: a single port matches forwardings of that one
        # port, a range those of exactly that range.
        filters = dict(query.filters)
        ranges = [parse_range("external_port_range", value)
                  for value in filters.pop("external_port_range", [])]
        singles = [(int(p), int(p)) for p in filters.pop("external_port", [])]
        clauses = filter_clauses(PF, ListQuery(filters=filters), COLUMNS)
        for name, wanted in (("external_port_range", ranges), ("external_port", singles)):
            if name in query.filters:
                clauses.append(or_(false(), *[
                    and_(PF.external_port_start == a, PF.external_port_end == b)
                    for a, b in wanted]))

        def run(session: Session) -> list[dict]:
            self._fip(session, fip_id)
            stmt = select(PF).where(PF.floatingip_id == fip_id, *clauses)
            rows = fetch_page(session, stmt, query, COLUMNS, PF,
                              lambda i: PortForwardingNotFound(id=i))
            return [to_dict(r) for r in rows]
        return self.deps.db.run(run, write=False)

    # -- writes ----------------------------------------------------------------------

    def create(self, ctx: Context, fip_id: str, data: dict) -> dict:
        external, internal = _ports(data, "external"), _ports(data, "internal")
        assert external is not None and internal is not None
        check_relation(external, internal)
        old_router: list[str | None] = []

        def run(session: Session) -> dict:
            old_router.clear()
            fip = self._fip(session, fip_id, lock=True)
            old_router.append(fip.router_id)
            self._check_no_binding_fip(session, data)
            if fip.fixed_port_id:
                raise FloatingIPPortAlreadyAssociated(
                    port_id=data["internal_port_id"], fip_id=fip.id,
                    floating_ip_address=fip.floating_ip_address,
                    fixed_ip=data.get("internal_ip_address"),
                    net_id=fip.floating_network_id)
            address, router_id = self._internal(session, ctx, fip, data["internal_port_id"],
                                                data.get("internal_ip_address"))
            row = PF(id=common.new_id(), floatingip_id=fip.id,
                     internal_port_id=data["internal_port_id"],
                     internal_ip_address=address, protocol=data["protocol"],
                     external_port_start=external[0], external_port_end=external[1],
                     internal_port_start=internal[0], internal_port_end=internal[1],
                     description=data.get("description") or "")
            self._check_collisions(session, row)
            if fip.router_id is None:
                fip.router_id = router_id
            common.bump_revision(fip)
            session.add(row)
            session.flush()
            return to_dict(row)
        out = self._run(run)
        self._told(ctx, fip_id, old_router)
        return out

    def update(self, ctx: Context, fip_id: str, pf_id: str, data: dict) -> dict:
        def run(session: Session) -> dict:
            fip = self._fip(session, fip_id, lock=True)
            row = self._row(session, fip_id, pf_id)
            current = to_dict(row)
            new_port = data.get("internal_port_id")
            if new_port and new_port != row.internal_port_id:
                self._check_no_binding_fip(session, data)
            merged = self._merge(current, data)
            external, internal = _ports(merged, "external"), _ports(merged, "internal")
            assert external is not None and internal is not None
            check_relation(external, internal)
            if new_port or "internal_ip_address" in data:
                address, router_id = self._internal(
                    session, ctx, fip, merged["internal_port_id"],
                    merged.get("internal_ip_address"))
                if fip.router_id and fip.router_id != router_id:
                    raise PortForwardingBadRequest(
                        f"The Floating IP {fip.id} had been set on router {fip.router_id}, "
                        f"the internal Neutron port {merged['internal_port_id']} can not "
                        "reach it")
                row.internal_port_id, row.internal_ip_address = (
                    merged["internal_port_id"], address)
            row.protocol = merged["protocol"]
            row.external_port_start, row.external_port_end = external
            row.internal_port_start, row.internal_port_end = internal
            if "description" in data:
                row.description = data["description"] or ""
            self._check_collisions(session, row)
            common.bump_revision(fip)
            session.flush()
            return to_dict(row)
        out = self._run(run)
        self._told(ctx, fip_id, [])
        return out

    @staticmethod
    def _merge(current: dict, data: dict) -> dict:
        """The forwarding after `data`: a side given as a port or as a range
        replaces both forms of that side."""
        merged = dict(current, **{k: v for k, v in data.items() if v is not None})
        for side in ("external", "internal"):
            single, ranged = f"{side}_port", f"{side}_port_range"
            if data.get(single) is not None and data.get(ranged) is None:
                merged.pop(ranged, None)
            elif data.get(ranged) is not None and data.get(single) is None:
                merged.pop(single, None)
        return merged

    def delete(self, ctx: Context, fip_id: str, pf_id: str) -> None:
        old_router: list[str | None] = []

        def run(session: Session) -> None:
            old_router.clear()
            fip = self._fip(session, fip_id, lock=True)
            row = self._row(session, fip_id, pf_id)
            old_router.append(fip.router_id)
            session.delete(row)
            session.flush()
            _release_router(session, [fip])
        self.deps.db.run(run)
        self._told(ctx, fip_id, old_router)

    def _run(self, fn: Any) -> Any:
        try:
            return self.deps.db.run(fn)
        except IntegrityError:
            # A concurrent create took the same external port (the unique key).
            raise PortForwardingBadRequest(
                "A duplicate port forwarding entry with same attributes already "
                "exists") from None

    def _told(self, ctx: Context, fip_id: str, old_router: list[str | None]) -> None:
        """The floating IP changed as the L3 agents see it."""
        try:
            new = self.floatingips.get(ctx, fip_id)
        except FloatingIPNotFound:
            return
        self.deps.events.publish("floatingip", events.AFTER_UPDATE, events.Payload(
            ctx, fip_id, states=(None, new),
            metadata={"old_router_id": old_router[0] if old_router else None}))

    # -- checks ------------------------------------------------------------------------

    @staticmethod
    def _check_no_binding_fip(session: Session, data: dict) -> None:
        port_id = data.get("internal_port_id")
        bound = session.execute(select(FIP.id, FIP.floating_ip_address).where(
            FIP.fixed_port_id == port_id).limit(1)).first()
        if bound is not None:
            raise PortHasBindingFloatingIP(
                floating_ip_address=bound[1], fip_id=bound[0], port_id=port_id,
                fixed_ip=data.get("internal_ip_address"))

    def _internal(self, session: Session, ctx: Context, fip: FIP, port_id: str,
                  wanted: str | None) -> tuple[str, str]:
        """(internal address, router) for a forwarding to `port_id`."""
        port = session.get(models.Port, port_id)
        if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
            raise exc.PortNotFound(port_id=port_id)
        ips = session.execute(select(IPA.subnet_id, IPA.ip_address).where(
            IPA.port_id == port_id).order_by(IPA.ip_address)).all()
        v4 = [(s, a) for s, a in ips if ipaddress.ip_address(a).version == 4]
        if not v4:
            raise PortForwardingBadRequest(
                f"Requested internal port {port_id} must allocate an IPv4 address at "
                "least.")
        if wanted is None:
            subnet_id, address = v4[0]
        else:
            found = [(s, a) for s, a in v4 if a == wanted]
            if not found:
                fixed = [{"subnet_id": s, "ip_address": a} for s, a in v4]
                raise PortForwardingBadRequest(
                    f"Requested internal IP address {wanted} is not suitable for "
                    f"internal neutron port {port_id}, as its fixed_ips are {fixed}")
            subnet_id, address = found[0]
        router_id = fip.router_id if fip.router_id and self._connects(
            session, fip.router_id, subnet_id) else FloatingIPService._router_for(
            session, fip.floating_network_id, subnet_id)
        if router_id is None:
            raise PortForwardingBadRequest(
                f"External network {fip.floating_network_id} is not reachable from "
                f"subnet {subnet_id}. Cannot set Port forwarding for port {port_id} "
                f"with Floating IP {fip.id}")
        if fip.router_id and fip.router_id != router_id:
            raise PortForwardingBadRequest(
                f"The Floating IP {fip.id} had been set on router {fip.router_id}, the "
                f"internal Neutron port {port_id} can not reach it")
        return address, router_id

    @staticmethod
    def _connects(session: Session, router_id: str, subnet_id: str) -> bool:
        """`router_id` has an interface on the subnet."""
        RP = models.RouterPort
        return session.scalars(select(RP.port_id).join(IPA, IPA.port_id == RP.port_id)
                               .where(RP.router_id == router_id,
                                      IPA.subnet_id == subnet_id).limit(1)).first() \
            is not None

    @staticmethod
    def _check_collisions(session: Session, row: PF) -> None:
        """No other forwarding of the floating IP and protocol overlaps the external
        range; none to the same address and protocol overlaps the internal one."""
        external = (row.external_port_start, row.external_port_end)
        internal = (row.internal_port_start, row.internal_port_end)
        others = session.scalars(select(PF).where(
            PF.protocol == row.protocol, PF.id != row.id,
            (PF.floatingip_id == row.floatingip_id)
            | (PF.internal_ip_address == row.internal_ip_address))).all()
        for other in others:
            theirs = (other.external_port_start, other.external_port_end)
            if other.floatingip_id == row.floatingip_id and _overlap(theirs, external):
                raise PortForwardingBadRequest(
                    "There is a port collision with the external_port_range. The "
                    f"following ranges collides: {format_range(*theirs)} and "
                    f"{format_range(*external)}")
            inside = (other.internal_port_start, other.internal_port_end)
            if (other.internal_port_id == row.internal_port_id
                    and other.internal_ip_address == row.internal_ip_address
                    and _overlap(inside, internal)):
                raise PortForwardingBadRequest(
                    "There is a port collision with the internal_port_range. The "
                    f"following ranges collides: {format_range(*inside)} and "
                    f"{format_range(*internal)}")

    # -- other resources' events -----------------------------------------------------

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._port_deleting, "port", events.PRECOMMIT_DELETE)
        registry.subscribe(self._port_updated, "port", events.AFTER_UPDATE)

    def _port_deleting(self, resource: str, event: str, payload: events.Payload) -> None:
        """A deleted port takes its forwardings; floating IPs left without any lose
        their router (noted for the L3 notifier and the DOWN status)."""
        session: Session = payload.session
        fip_ids = set(session.scalars(select(PF.floatingip_id).where(
            PF.internal_port_id == payload.resource_id)))
        if not fip_ids:
            return
        session.execute(delete(PF).where(PF.internal_port_id == payload.resource_id))
        session.flush()
        fips = list(session.scalars(select(FIP).where(FIP.id.in_(sorted(fip_ids)))))
        routers = {f.router_id for f in fips if f.router_id}
        _release_router(session, fips)
        payload.metadata.setdefault("l3_routers", set()).update(routers)
        payload.metadata.setdefault("floatingips", set()).update(fip_ids)

    def _port_updated(self, resource: str, event: str, payload: events.Payload) -> None:
        """Forwardings to an address the port no longer has are deleted."""
        new = payload.states[-1] if payload.states else None
        if not new or status_only(payload):
            return
        kept = {ip["ip_address"] for ip in new.get("fixed_ips") or []}
        port_id = payload.resource_id
        gone: list[tuple[str, str | None]] = []

        def run(session: Session) -> None:
            gone.clear()
            rows = [r for r in session.scalars(select(PF).where(
                PF.internal_port_id == port_id)) if r.internal_ip_address not in kept]
            if not rows:
                return
            fips = {f.id: f for f in session.scalars(select(FIP).where(
                FIP.id.in_(sorted({r.floatingip_id for r in rows}))))}
            gone.extend((fip_id, fip.router_id) for fip_id, fip in fips.items())
            for row in rows:
                session.delete(row)
            session.flush()
            _release_router(session, list(fips.values()))
        if not self.deps.db.run(lambda s: s.scalars(select(PF.id).where(
                PF.internal_port_id == port_id).limit(1)).first(), write=False):
            return
        self.deps.db.run(run)
        for fip_id, router_id in gone:
            self._told(payload.context, fip_id, [router_id])


def _release_router(session: Session, fips: list[FIP]) -> None:
    """Floating IPs (not associated to a port) left without forwardings lose the
    router the forwardings gave them."""
    for fip in fips:
        if fip.fixed_port_id is not None or fip.router_id is None:
            continue
        left = session.scalars(select(PF.id).where(PF.floatingip_id == fip.id)
                               .limit(1)).first()
        if left is None:
            fip.router_id = None
            common.bump_revision(fip)
    session.flush()
