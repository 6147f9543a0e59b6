"""Ports: MAC and fixed-IP allocation, updates of fixed IPs, filters on fixed_ips."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.ipam import allocation as ipam
from neutrino.ipam import mac as macs
from neutrino.resources import validators as v
from neutrino.resources.port import PORT, UNSET
from neutrino.services import common, prepare, rbac
from neutrino.services import extensions as ext
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps
from neutrino.services.extensions import ResourceExtension
from neutrino.services.port_attributes import check_mac_update_allowed

P = models.Port
IPA = models.IPAllocation
_RNG = random.SystemRandom()
COLUMNS = {
    "id": P.id, "name": P.name, "description": P.description,
    "project_id": P.project_id, "tenant_id": P.project_id, "network_id": P.network_id,
    "mac_address": P.mac_address, "admin_state_up": P.admin_state_up,
    "status": P.status, "device_id": P.device_id, "device_owner": P.device_owner,
    "created_at": P.created_at, "updated_at": P.updated_at,
    "revision_number": P.revision_number,
}
FIXED_IP_KEYS = {"ip_address", "subnet_id", "ip_address_substr"}

# Statements of the port-create hot path, built once: building a statement costs
# more CPU than running it.
_NETWORK_OWNER = select(
    models.Network.project_id,
    # Shared (RBAC access_as_shared) with the caller's project or with everyone.
    rbac.shared_with_exists("network", models.Network.id, bindparam("project_id"))
    .label("shared")).where(models.Network.id == bindparam("network_id"))
_INSERT_PORT = insert(P)
# Allocation lives in neutrino.ipam; these names stay importable from here.
AllocationOnAutoAddressSubnet = ipam.AllocationOnAutoAddressSubnet
is_router_port = ipam.is_router_port


def fixed_ips_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
    """``fixed_ips=ip_address=X`` / ``subnet_id=Y`` / ``ip_address_substr=Z``;
    several values of one key match any of them, different keys must all match."""
    by_key: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        if key not in FIXED_IP_KEYS:
            raise exc.HTTPBadRequest(f"['fixed_ips'] is invalid attribute for filtering "
                                     f"({key!r} is not one of {sorted(FIXED_IP_KEYS)})")
        by_key[key].append(value)
    stmt = select(IPA.port_id)
    if "ip_address" in by_key:
        stmt = stmt.where(IPA.ip_address.in_(by_key["ip_address"]))
    if "subnet_id" in by_key:
        stmt = stmt.where(IPA.subnet_id.in_(by_key["subnet_id"]))
    if "ip_address_substr" in by_key:
        stmt = stmt.where(or_(*[IPA.ip_address.contains(s, autoescape=True)
                                for s in by_key["ip_address_substr"]]))
    return P.id.in_(stmt)


def visible_clause(ctx: Context) -> Any:
    """A project sees its own ports and the ports on its networks."""
    own_nets = select(models.Network.id).where(models.Network.project_id == ctx.project_id)
    return or_(P.project_id == ctx.project_id, P.network_id.in_(own_nets))


class PortService:
    resource = PORT
    model = P

    def __init__(self, deps: Deps, extensions: list[ResourceExtension] | None = None
                 ) -> None:
        self.deps = deps
        # Features adding port attributes (security groups, port security, ...).
        self.extensions = list(extensions or [])

    # -- reads ---------------------------------------------------------------

    def get(self, ctx: Context, port_id: str) -> dict:
        def run(session: Session) -> dict:
            row = session.get(P, port_id)
            if row is None:
                raise exc.PortNotFound(port_id=port_id)
            return self.to_dicts(session, [row])[0]
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(*COLUMNS_SELECT).where(
                *filter_clauses(P, query, COLUMNS, self._sub_filter))
            if not ctx.is_admin:
                stmt = stmt.where(visible_clause(ctx))
            rows = fetch_page(session, stmt, query, COLUMNS, P,
                              lambda i: exc.PortNotFound(port_id=i), scalars=False)
            return self.to_dicts(session, rows, fields)
        return self.deps.db.run(run, write=False)

    def to_dicts(self, session: Session, rows: list[Any], fields: set[str] | None = None
                 ) -> list[dict]:
        ids = [r.id for r in rows]
        want = fields or {"fixed_ips", "tags", "network:project_id"}
        tags = common.load_tags(session, ids) if "tags" in want else {}
        ips: dict[str, list[tuple]] = defaultdict(list)
        if want & {"fixed_ips", "dns_assignment"}:  # dns_assignment: one per IP
            stmt = select(IPA.port_id, IPA.position, IPA.subnet_id, IPA.ip_address)
            for port_id, *entry in rows_for_ids(session, stmt, IPA.port_id, ids):
                ips[port_id].append(tuple(entry))
        owners = self._network_owners(session, {r.network_id for r in rows})
        items = [port_dict(row, tags.get(row.id, []), _in_allocation_order(ips[row.id]),
                           owners.get(row.network_id)) for row in rows]
        ext.run_extend(self.extensions, session, items, fields)
        return items

    def _sub_filter(self, name: str, pairs: list[tuple[str, str]]) -> Any:
        if name == "fixed_ips":
            return fixed_ips_filter(name, pairs)
        builder = ext.filter_builders(self.extensions).get(name)
        if builder is None:
            raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")
        return builder([value for _, value in pairs])

    @staticmethod
    def _network_owners(session: Session, network_ids: set[str]) -> dict[str, str]:
        stmt = select(models.Network.id, models.Network.project_id)
        return dict(rows_for_ids(session, stmt, models.Network.id, list(network_ids)))

    @staticmethod
    def network_target(session: Session, ctx: Context, data: dict) -> dict:
        """The create's policy target: the port plus its network's owner and sharing.
        A network the caller may not see is not found."""
        net = session.connection().execute(_NETWORK_OWNER,
                                           {"network_id": data["network_id"],
                                            "project_id": ctx.project_id}).first()
        if net is None or not (ctx.is_admin or net.shared
                               or net.project_id == ctx.project_id):
            raise exc.NetworkNotFound(net_id=data["network_id"])
        return dict(data, tenant_id=data["project_id"], shared=bool(net.shared),
                    **{"network:project_id": net.project_id,
                       "network:tenant_id": net.project_id})

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        checked = [self._validate_create(data) for data in items]
        # Addresses some port of the request asks for are not given to another one
        # of it that takes any (it comes first in the list, so it would win).
        reserved = requested_addresses(checked) if len(checked) > 1 else frozenset()

        def run(session: Session) -> list[dict]:
            return [self._create(session, ctx, data, authorize, reserved=reserved)
                    for data in checked]
        result = self.deps.db.run(run)
        for item in result:
            self.deps.events.publish("port", events.AFTER_CREATE,
                                     events.Payload(ctx, item["id"], states=(item,)))
        return result

    def _validate_create(self, data: dict) -> dict:
        data = dict(data)
        if data["mac_address"] is None:  # null: a generated MAC, as when not given
            data["mac_address"] = UNSET
        elif data["mac_address"] is not UNSET:
            data["mac_address"] = macs.validate_mac(data["mac_address"])
        if data["fixed_ips"] is not UNSET:
            data["fixed_ips"] = validate_fixed_ips(data["fixed_ips"])
            self._check_fixed_ips_count(data["fixed_ips"], data["device_owner"])
        return data

    def create_internal(self, session: Session, ctx: Context, attrs: dict) -> dict:
        """A port a feature makes inside its own transaction (router gateways and
        interfaces, floating IPs): defaults filled as for an API create, no policy and
        no quota (upstream counts such ports against no project). The caller
        publishes ("port", AFTER_CREATE) after its commit. It acts with the server's
        authority (upstream: an elevated context): the caller checked the request."""
        elevated = Context.admin(attrs.get("project_id"))
        elevated.request_id = ctx.request_id
        data = prepare.prepare_create(PORT, attrs, elevated)
        return self._create(session, elevated, self._validate_create(data),
                            common.allow_all, quota=False)

    def _create(self, session: Session, ctx: Context, data: dict,
                authorize: Authorize, quota: bool = True,
                reserved: frozenset[str] = frozenset()) -> dict:
        """The hot path of the API: few statements, Core inserts, and a response built
        from what was written rather than read back."""
        target = self.network_target(session, ctx, data)
        authorize(data, target)
        network_id = data["network_id"]
        if quota:
            self.deps.quotas.check(session, data["project_id"], "port", 1)
        now = models.utcnow()
        port = ipam.PortRef(
            id=common.new_id(), network_id=network_id,
            mac_address=self._mac_for(session, network_id, data["mac_address"]),
            device_owner=data["device_owner"])
        values = {"id": port.id, "project_id": data["project_id"], "name": data["name"],
                  "description": data["description"], "network_id": network_id,
                  "mac_address": port.mac_address, "admin_state_up": data["admin_state_up"],
                  "status": "DOWN", "device_id": data["device_id"],
                  "device_owner": data["device_owner"], "created_at": now,
                  "updated_at": now,
                  # 1, as upstream shows: its ML2 writes the binding in a second step.
                  "revision_number": 1}
        session.connection().execute(_INSERT_PORT, values)
        fixed_ips = [a.as_dict() for a in ipam.allocate(session, ipam.AllocationRequest(
            port, fixed_ip_requests(data["fixed_ips"]), reserved))]
        tags = sorted(set(data.get("tags") or []))
        if tags:
            common.set_tags(session, "ports", port.id, tags)
        self.deps.events.publish("port", events.PRECOMMIT_CREATE,
                                 events.Payload(ctx, port.id, states=(data,), session=session))
        item = port_dict(_Row(values), tags, fixed_ips, target["network:project_id"])
        ext.run_create(self.extensions, session, ctx, data, item)
        return item

    def _mac_for(self, session: Session, network_id: str, requested: Any) -> str:
        if requested is not UNSET:
            taken = session.scalars(select(P.id).where(
                P.network_id == network_id, P.mac_address == requested)).first()
            if taken is not None:
                raise exc.MacAddressInUse(net_id=network_id, mac=requested)
            return requested
        # A random MAC rarely collides; if it does, the unique constraint fails the
        # insert and the transaction is retried with a new one.
        return macs.generate_mac(self.deps.conf.base_mac, _RNG)

    def _check_fixed_ips_count(self, fixed_ips: list[dict], device_owner: str) -> None:
        """At most max_fixed_ips_per_port addresses, except on the network's own
        (trusted, ``network:*``) ports."""
        if device_owner.startswith("network:"):
            return
        if len(fixed_ips) > self.deps.conf.max_fixed_ips_per_port:
            raise exc.InvalidInput("Exceeded maximum amount of fixed ips per port")

    def update(self, ctx: Context, port_id: str, data: dict,
               revision: int | None = None) -> dict:
        if "mac_address" in data and data["mac_address"] is not None:
            # null asks for a new random MAC (port-mac-address-regenerate)
            data = dict(data, mac_address=macs.validate_mac(data["mac_address"]))
        if "fixed_ips" in data:
            data = dict(data, fixed_ips=validate_fixed_ips(data["fixed_ips"]))

        def run(session: Session) -> dict:
            row = session.get(P, port_id, with_for_update=True)
            if row is None:
                raise exc.PortNotFound(port_id=port_id)
            common.check_revision(row, revision)
            old = self.to_dicts(session, [row])[0]
            # (old, request): for checks on what was asked rather than on the result
            # (upstream's BEFORE_UPDATE), inside the transaction.
            self.deps.events.publish("port", events.BEFORE_UPDATE,
                                     events.Payload(ctx, port_id, (old, data), session))
            common.apply_standard(row, data)
            for key in ("admin_state_up", "device_id", "device_owner"):
                if key in data:
                    setattr(row, key, data[key])
            old_mac = row.mac_address
            if "mac_address" in data and data["mac_address"] != row.mac_address:
                requested = UNSET if data["mac_address"] is None else data["mac_address"]
                new_mac = self._mac_for(session, row.network_id, requested)
                check_mac_update_allowed(old, new_mac)
                row.mac_address = new_mac
            if "fixed_ips" in data:
                self._check_fixed_ips_count(data["fixed_ips"], row.device_owner)
                ipam.update(session, _port_ref(row), fixed_ip_requests(data["fixed_ips"]))
            if row.mac_address != old_mac:
                ipam.move_auto_addresses(session, _port_ref(row), old_mac)
            common.bump_revision(row)
            session.flush()
            new = self.to_dicts(session, [row])[0]
            ext.run_update(self.extensions, session, ctx, data, old, new)
            self.deps.events.publish("port", events.PRECOMMIT_UPDATE,
                                     events.Payload(ctx, port_id, (old, new), session))
            return new
        new = self.deps.db.run(run)
        self.deps.events.publish("port", events.AFTER_UPDATE,
                                 events.Payload(ctx, port_id, states=(None, new)))
        return new

    def delete(self, ctx: Context, port_id: str, revision: int | None = None) -> None:
        # PRECOMMIT_DELETE subscribers may leave notes for their AFTER_DELETE side
        # (e.g. the routers whose floating IPs the port took away).
        metadata: dict = {}
        self.deps.db.run(lambda session: self.delete_internal(session, ctx, port_id,
                                                              revision, metadata))
        self.deps.events.publish("port", events.AFTER_DELETE,
                                 events.Payload(ctx, port_id, metadata=metadata))

    def delete_internal(self, session: Session, ctx: Context, port_id: str,
                        revision: int | None = None, metadata: dict | None = None) -> None:
        """Delete a port inside the caller's transaction; the caller publishes
        ("port", AFTER_DELETE) after its commit."""
        row = session.get(P, port_id, with_for_update=True)
        if row is None:
            raise exc.PortNotFound(port_id=port_id)
        common.check_revision(row, revision)
        self.deps.events.publish("port", events.PRECOMMIT_DELETE,
                                 events.Payload(ctx, port_id, session=session,
                                                metadata=metadata if metadata is not None
                                                else {}))
        ipam.release(session, port_id=port_id)
        common.delete_tags(session, port_id)
        session.delete(row)


def _port_ref(row: Any) -> ipam.PortRef:
    return ipam.PortRef(id=row.id, network_id=row.network_id,
                        mac_address=row.mac_address, device_owner=row.device_owner)


class _Row:
    """Attribute access over the values of a row just inserted."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


def port_dict(row: Any, tags: list[str], fixed_ips: list[dict],
              network_owner: str | None) -> dict:
    item = common.standard_dict(row, tags)
    item.update(network_id=row.network_id, mac_address=row.mac_address,
                admin_state_up=row.admin_state_up, status=row.status,
                device_id=row.device_id, device_owner=row.device_owner,
                fixed_ips=fixed_ips)
    # For policy (network_owner rules); never shown.
    item["network:project_id"] = network_owner
    return item


COLUMNS_SELECT = [P.id, P.name, P.description, P.project_id, P.network_id,
                  P.mac_address, P.admin_state_up, P.status, P.device_id,
                  P.device_owner, P.created_at, P.updated_at, P.revision_number]


def _in_allocation_order(rows: list[tuple]) -> list[dict]:
    """(position, subnet_id, ip_address) rows as fixed_ips, in allocation order; rows
    from before positions were kept share 0 and keep their old order."""
    return [{"subnet_id": subnet_id, "ip_address": ip}
            for _, subnet_id, ip in sorted(rows)]


def fixed_ip_requests(fixed_ips: Any) -> tuple[ipam.FixedIpRequest, ...] | None:
    """Validated fixed_ips as allocation requests; None when not given (UNSET)."""
    if fixed_ips is UNSET:
        return None
    return tuple(ipam.FixedIpRequest.from_dict(entry) for entry in fixed_ips)


def validate_fixed_ips(value: Any) -> list[dict]:
    """Shape checks for fixed_ips (pure): a list of {subnet_id?, ip_address?}."""
    if not isinstance(value, list):
        raise v.bad("fixed_ips", f"'{value}' is not a list")
    seen: set[str] = set()
    out = []
    for item in value:
        if not isinstance(item, dict) or not item or set(item) - {"subnet_id", "ip_address"}:
            raise v.bad("fixed_ips", f"Invalid data format for fixed IP: '{item}'")
        entry: dict[str, str] = {}
        if "subnet_id" in item:
            entry["subnet_id"] = v.uuid_value("fixed_ips")(item["subnet_id"])
        if "ip_address" in item:
            entry["ip_address"] = v.ip_address("fixed_ips")(item["ip_address"])
            if entry["ip_address"] in seen:
                raise v.bad("fixed_ips", f"Duplicate IP address '{item['ip_address']}'")
            seen.add(entry["ip_address"])
        out.append(entry)
    return out


def requested_addresses(items: list[dict]) -> frozenset[str]:
    """The addresses (normalised) that ports of a bulk request ask for by fixed_ips."""
    return ipam.requested_addresses(
        request for data in items for request in fixed_ip_requests(data["fixed_ips"]) or ())
