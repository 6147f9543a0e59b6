"""Ports: MAC and fixed-IP allocation, updates of fixed IPs, filters on fixed_ips."""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.ipam import allocator
from neutrino.ipam import mac as macs
from neutrino.resources import validators as v
from neutrino.resources.port import PORT, UNSET
from neutrino.services import common, prepare, rbac
from neutrino.services import extensions as ext
from neutrino.services import ipam as ipam_db
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
_INSERT_IPA = insert(IPA)


class AllocationOnAutoAddressSubnet(exc.InvalidInput):
    message = ("IPv6 address %(ip)s cannot be directly assigned to a port on subnet "
               "%(subnet_id)s as the subnet is configured for automatic addresses")

    def __init__(self, **kwargs: str) -> None:
        exc.NeutronError.__init__(self, **kwargs)


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
        ips: dict[str, list[dict]] = defaultdict(list)
        if want & {"fixed_ips", "dns_assignment"}:  # dns_assignment: one per IP
            stmt = select(IPA.port_id, IPA.subnet_id, IPA.ip_address)
            for port_id, subnet_id, ip in rows_for_ids(session, stmt, IPA.port_id, ids):
                ips[port_id].append({"subnet_id": subnet_id, "ip_address": ip})
        owners = self._network_owners(session, {r.network_id for r in rows})
        items = [port_dict(row, tags.get(row.id, []),
                           sorted(ips.get(row.id, []), key=_ip_sort_key),
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
        reserved = frozenset(requested_addresses(checked)) if len(checked) > 1 else frozenset()

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
        port = PortRef(id=common.new_id(), network_id=network_id,
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
        subnets = ipam_db.network_subnets(session, network_id)
        if data["fixed_ips"] is UNSET:
            wanted = self._default_requests(subnets)
        else:
            wanted = data["fixed_ips"] + implicit_auto_requests(
                subnets, data["fixed_ips"], data["device_owner"])
        fixed_ips = self._allocate(session, port, subnets, wanted, reserved)
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

    @staticmethod
    def _default_requests(subnets: list[ipam_db.SubnetInfo]) -> list[dict]:
        """Upstream's choice: one IPv4 address, an EUI-64 address on every SLAAC /
        stateless subnet, and one address from a stateful IPv6 subnet."""
        v4 = [s for s in subnets if s.ip_version == 4]
        v6_auto = [s for s in subnets if s.ip_version == 6 and s.auto_address]
        v6_stateful = [s for s in subnets if s.ip_version == 6 and not s.auto_address]
        wanted: list[dict] = []
        if v4:
            wanted.append({"any_of": [s.id for s in v4]})
        wanted += [{"subnet_id": s.id} for s in v6_auto]
        if v6_stateful:
            wanted.append({"any_of": [s.id for s in v6_stateful]})
        return wanted

    def _allocate(self, session: Session, port: Any, subnets: list[ipam_db.SubnetInfo],
                  wanted: list[dict], reserved: frozenset[str] = frozenset()
                  ) -> list[dict]:
        """Choose and insert the addresses asked for; returns them as fixed_ips."""
        by_id = {s.id: s for s in subnets}
        chosen: list[dict] = []
        for request in wanted:
            if "any_of" in request:
                chosen.append(self._allocate_any(session, port,
                                                 [by_id[i] for i in request["any_of"]],
                                                 reserved))
                continue
            subnet = self._subnet_of_request(request, subnets, by_id, port.network_id)
            ip = request.get("ip_address")
            if ip is not None:
                ip = ipam_db.check_address_for_subnet(subnet, ip)
                if subnet.auto_address and not is_router_port(port.device_owner):
                    raise AllocationOnAutoAddressSubnet(ip=ip, subnet_id=subnet.id)
                if ipam_db.is_allocated(session, subnet.id, ip):
                    raise exc.IpAddressAlreadyAllocated(ip=ip, subnet_id=subnet.id)
            elif subnet.auto_address:
                ip = allocator.eui64_address(subnet.cidr, port.mac_address)
                if ipam_db.is_allocated(session, subnet.id, ip):
                    raise exc.IpAddressInUse(net_id=port.network_id, ip_address=ip)
            else:
                ip = ipam_db.pick_address(session, subnet, reserved)
                if ip is None:
                    raise exc.IpAddressGenerationFailure(net_id=port.network_id)
            chosen.append({"subnet_id": subnet.id, "ip_address": ip})
        if chosen:
            # A concurrent request that took the same address fails this insert on
            # the primary key; the transaction is then retried.
            session.connection().execute(
                _INSERT_IPA, [dict(c, port_id=port.id, network_id=port.network_id)
                              for c in chosen])
        return sorted(chosen, key=_ip_sort_key)

    def _allocate_any(self, session: Session, port: Any,
                      subnets: list[ipam_db.SubnetInfo],
                      reserved: frozenset[str] = frozenset()) -> dict:
        for subnet in subnets:
            ip = ipam_db.pick_address(session, subnet, reserved)
            if ip is not None:
                return {"subnet_id": subnet.id, "ip_address": ip}
        raise exc.IpAddressGenerationFailure(net_id=port.network_id)

    @staticmethod
    def _subnet_of_request(request: dict, subnets: list[ipam_db.SubnetInfo],
                           by_id: dict[str, ipam_db.SubnetInfo],
                           network_id: str) -> ipam_db.SubnetInfo:
        subnet_id = request.get("subnet_id")
        if subnet_id is None:
            return ipam_db.subnet_for_address(subnets, request["ip_address"])
        if subnet_id not in by_id:
            raise exc.InvalidInput(
                f"Failed to create port on network {network_id}, because fixed_ips "
                f"included invalid subnet {subnet_id}")
        return by_id[subnet_id]

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
                self._update_fixed_ips(session, row, old["fixed_ips"], data["fixed_ips"])
            if row.mac_address != old_mac:
                self._rederive_auto_addresses(session, row, old_mac)
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

    def _update_fixed_ips(self, session: Session, port: P, current: list[dict],
                          wanted: list[dict]) -> None:
        """Keep addresses that are asked for again, free the others, add the new."""
        subnets = ipam_db.network_subnets(session, port.network_id)
        by_id = {s.id: s for s in subnets}
        remaining = list(current)
        new_requests = []
        for request in wanted:
            match = _matching(remaining, request)
            if match is not None:
                remaining.remove(match)
            else:
                new_requests.append(request)
        if not is_router_port(port.device_owner):
            # Automatic (SLAAC / DHCPv6-stateless) addresses stay unless their subnet
            # goes away: the host configures them whatever the port says.
            auto = {s.id for s in subnets if s.auto_address}
            asked = {r.get("subnet_id") for r in new_requests}
            remaining = [ip for ip in remaining
                         if ip["subnet_id"] not in auto or ip["subnet_id"] in asked]
        for gone in remaining:
            session.execute(delete(IPA).where(IPA.port_id == port.id,
                                              IPA.ip_address == gone["ip_address"],
                                              IPA.subnet_id == gone["subnet_id"]))
        session.flush()
        for request in new_requests:
            if request.get("subnet_id") and request["subnet_id"] not in by_id:
                raise exc.InvalidInput(
                    f"Failed to create port on network {port.network_id}, because "
                    f"fixed_ips included invalid subnet {request['subnet_id']}")
        self._allocate(session, port, subnets, new_requests)

    def _rederive_auto_addresses(self, session: Session, port: P, old_mac: str) -> None:
        """SLAAC / DHCPv6-stateless addresses are the EUI-64 of the MAC: a new MAC
        moves them (the host configures the new one, port security must allow it)."""
        subnets = {s.id: s for s in ipam_db.network_subnets(session, port.network_id)
                   if s.auto_address}
        allocations = session.scalars(select(IPA).where(
            IPA.port_id == port.id, IPA.subnet_id.in_(list(subnets)))).all()
        for allocation in allocations:
            subnet = subnets[allocation.subnet_id]
            if allocation.ip_address != allocator.eui64_address(subnet.cidr, old_mac):
                continue
            ip = allocator.eui64_address(subnet.cidr, port.mac_address)
            session.delete(allocation)
            session.flush()
            if ipam_db.is_allocated(session, subnet.id, ip):
                raise exc.IpAddressInUse(net_id=port.network_id, ip_address=ip)
            session.add(IPA(ip_address=ip, subnet_id=subnet.id, port_id=port.id,
                            network_id=port.network_id))
        session.flush()

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
        session.execute(delete(IPA).where(IPA.port_id == port_id))
        common.delete_tags(session, port_id)
        session.delete(row)


# Router ports choose their IPv6 addresses explicitly; every other port also gets
# the EUI-64 address of each automatic-address subnet of its network.
ROUTER_INTERFACE_OWNERS = ("network:router_interface",
                           "network:router_interface_distributed",
                           "network:ha_router_replicated_interface",
                           "network:router_centralized_snat")


def is_router_port(device_owner: str) -> bool:
    return device_owner in ROUTER_INTERFACE_OWNERS


def implicit_auto_requests(subnets: list[ipam_db.SubnetInfo], requested: list[dict],
                           device_owner: str) -> list[dict]:
    """The automatic-address subnets a create with explicit fixed_ips did not name:
    their addresses are included implicitly (not on router ports)."""
    if is_router_port(device_owner):
        return []
    named = {r.get("subnet_id") for r in requested}
    for request in requested:
        if "subnet_id" not in request:
            try:
                named.add(ipam_db.subnet_for_address(subnets, request["ip_address"]).id)
            except exc.InvalidIpForNetwork:
                pass
    return [{"subnet_id": s.id} for s in subnets if s.auto_address and s.id not in named]


@dataclass
class PortRef:
    """What address allocation needs to know of a port."""

    id: str
    network_id: str
    mac_address: str
    device_owner: str


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


def _ip_sort_key(item: dict) -> tuple:
    return (item["subnet_id"], item["ip_address"])


def _matching(current: list[dict], request: dict) -> dict | None:
    for item in current:
        if "ip_address" in request:
            if item["ip_address"] == request["ip_address"] and (
                    "subnet_id" not in request or item["subnet_id"] == request["subnet_id"]):
                return item
        elif item["subnet_id"] == request.get("subnet_id"):
            return item
    return None


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


def requested_addresses(items: list[dict]) -> set[str]:
    """The addresses (normalised) that ports of a bulk request ask for by fixed_ips."""
    out: set[str] = set()
    for data in items:
        for entry in data["fixed_ips"] if data["fixed_ips"] is not UNSET else ():
            if "ip_address" in entry:
                out.add(str(ipaddress.ip_address(entry["ip_address"])))
    return out
