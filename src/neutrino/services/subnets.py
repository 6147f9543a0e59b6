"""Subnets: CIDR, gateway, pools, DNS servers and host routes, with upstream's checks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, false, or_, select, true
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.ipam import allocation as ipam
from neutrino.ipam import subnet_math as sm
from neutrino.resources.external_net import EXTERNAL
from neutrino.resources.subnet import SUBNET, UNSET
from neutrino.resources.validators import to_boolean
from neutrino.services import common, rbac, subnet_allocation
from neutrino.services import subnet_service_types as service_types
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps
from neutrino.services.networks import check_subnet_mtu

S = models.Subnet
COLUMNS = {
    "id": S.id, "name": S.name, "description": S.description,
    "project_id": S.project_id, "tenant_id": S.project_id, "network_id": S.network_id,
    "ip_version": S.ip_version, "cidr": S.cidr, "gateway_ip": S.gateway_ip,
    "enable_dhcp": S.enable_dhcp, "ipv6_ra_mode": S.ipv6_ra_mode,
    "ipv6_address_mode": S.ipv6_address_mode, "subnetpool_id": S.subnetpool_id,
    "segment_id": S.segment_id,
    "created_at": S.created_at, "updated_at": S.updated_at,
    "revision_number": S.revision_number,
}
# Ports whose addresses on a subnet go away with the subnet.
SUBNET_OWNED_DEVICE_OWNERS = ("network:dhcp",)
# How "exceeds the limit" errors name a subnet that is not created yet (as upstream).
NEW_SUBNET = "new subnet"


def _dns_filter(values: list[str]) -> Any:
    return S.id.in_(select(models.DNSNameServer.subnet_id)
                    .where(models.DNSNameServer.address.in_(values)))


def _sub_filter(ctx: Context) -> Callable[[str, list[tuple[str, str]]], Any]:
    """Filters on attributes without a column: dns_nameservers, ``router:external``
    (the network's) and ``shared`` (the network's sharedness as the caller sees it,
    as on networks)."""
    def build(name: str, pairs: list[tuple[str, str]]) -> Any:
        values = [v for _, v in pairs]
        if name == "shared":
            return rbac.shared_filter(S, "network", ctx.project_id, values,
                                      id_column=S.network_id)
        if name == EXTERNAL:
            return _external_filter(values)
        if name == "dns_nameservers":
            return _dns_filter(values)
        raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")
    return build


def _external_filter(values: list[str]) -> Any:
    """subnet-external-network: ``router:external=True`` / ``False``, the network's."""
    wanted = {to_boolean(value) for value in values}
    external = S.network_id.in_(select(models.ExternalNetwork.network_id))
    if wanted == {True}:
        return external
    if wanted == {False}:
        return ~external
    return true() if wanted else false()


class SubnetService:
    resource = SUBNET
    model = S

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- reads ---------------------------------------------------------------

    def get(self, ctx: Context, subnet_id: str) -> dict:
        def run(session: Session) -> dict:
            row = session.get(S, subnet_id)
            if row is None:
                raise exc.SubnetNotFound(subnet_id=subnet_id)
            return self.to_dicts(session, [row], ctx=ctx)[0]
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(S).where(*filter_clauses(S, query, COLUMNS, _sub_filter(ctx)))
            if not ctx.is_admin:
                shared = rbac.granted_ids("network", ctx.project_id)
                # subnet-external-network: external networks' subnets are everyone's
                # to see (policy: rule:external_subnet).
                external = select(models.ExternalNetwork.network_id)
                stmt = stmt.where(or_(S.project_id == ctx.project_id,
                                      S.network_id.in_(shared),
                                      S.network_id.in_(external)))
            rows = fetch_page(session, stmt, query, COLUMNS, S,
                              lambda i: exc.SubnetNotFound(subnet_id=i))
            return self.to_dicts(session, rows, ctx=ctx)
        return self.deps.db.run(run, write=False)

    def to_dicts(self, session: Session, rows: list[S], ctx: Context | None = None
                 ) -> list[dict]:
        """`shared` (policy only): the network is shared with the caller's project or
        with everyone (without a context: with everyone)."""
        ids = [r.id for r in rows]
        tags = common.load_tags(session, ids)
        pools: dict[str, list[dict]] = defaultdict(list)
        dns: dict[str, list[str]] = defaultdict(list)
        routes: dict[str, list[dict]] = defaultdict(list)
        shared: dict[str, bool] = {}
        AP, DNS, HR = models.AllocationPool, models.DNSNameServer, models.HostRoute
        for subnet_id, first, last in rows_for_ids(
                session, select(AP.subnet_id, AP.first_ip, AP.last_ip).order_by(AP.id),
                AP.subnet_id, ids):
            pools[subnet_id].append({"start": first, "end": last})
        for subnet_id, address in rows_for_ids(
                session, select(DNS.subnet_id, DNS.address).order_by(DNS.order),
                DNS.subnet_id, ids):
            dns[subnet_id].append(address)
        for subnet_id, destination, nexthop in rows_for_ids(
                session, select(HR.subnet_id, HR.destination, HR.nexthop), HR.subnet_id, ids):
            routes[subnet_id].append({"destination": destination, "nexthop": nexthop})
        net_ids = list({r.network_id for r in rows})
        for net_id in rbac.shared_ids(session, "network", net_ids,
                                      ctx.project_id if ctx is not None else None):
            shared[net_id] = True
        owners = dict(rows_for_ids(session, select(models.Network.id,
                                                   models.Network.project_id),
                                   models.Network.id, net_ids))
        types = service_types.load(session, ids)
        EN = models.ExternalNetwork
        external = {net_id for (net_id,) in rows_for_ids(
            session, select(EN.network_id), EN.network_id, net_ids)}
        out = []
        for row in rows:
            item = common.standard_dict(row, tags.get(row.id, []))
            item.update(
                network_id=row.network_id, ip_version=row.ip_version, cidr=row.cidr,
                gateway_ip=row.gateway_ip, enable_dhcp=row.enable_dhcp,
                ipv6_ra_mode=row.ipv6_ra_mode, ipv6_address_mode=row.ipv6_address_mode,
                subnetpool_id=row.subnetpool_id, segment_id=row.segment_id,
                allocation_pools=pools.get(row.id, []),
                dns_nameservers=dns.get(row.id, []), host_routes=routes.get(row.id, []),
                **{EXTERNAL: row.network_id in external},
                service_types=types.get(row.id, []),
                # For policy only ("shared", "admin_or_network_owner"); not shown.
                shared=shared.get(row.network_id, False),
                **{"network:project_id": owners.get(row.network_id),
                   "network:tenant_id": owners.get(row.network_id)})
            out.append(item)
        return out

    # -- validation (pure, against the network's other subnets) --------------

    def _validate_new(self, session: Session, ctx: Context, data: dict) -> dict:
        # A subnet pool (subnetpool_id, use_default_subnetpool) gives the CIDR.
        pool_cidr, pool_id = subnet_allocation.subnet_cidr(session, ctx, data)
        if pool_cidr is None:
            raise exc.BadRequest(resource="subnets",
                                 msg="a subnetpool must be specified in the absence of a cidr")
        data = dict(data, cidr=pool_cidr)
        net = sm.parse_cidr(data["cidr"], data["ip_version"])
        cidr = str(net)
        version = data["ip_version"]
        sm.validate_ipv6_modes(version, data["ipv6_ra_mode"], data["ipv6_address_mode"])
        if version == 6 and not data["enable_dhcp"] and (
                data["ipv6_ra_mode"] or data["ipv6_address_mode"]):
            raise exc.InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when "
                                   "enable_dhcp is set to False")
        if data["gateway_ip"] is UNSET:
            gateway = sm.default_gateway(net)
        elif data["gateway_ip"] is None:
            gateway = None
        else:
            gateway = sm.validate_gateway(net, data["gateway_ip"])
        if data["allocation_pools"] is UNSET or data["allocation_pools"] is None:
            pools = sm.default_allocation_pools(net, gateway)
        else:
            pools = sm.validate_allocation_pools(net, gateway, data["allocation_pools"])
        if sm.is_auto_address(version, data["ipv6_ra_mode"], data["ipv6_address_mode"]) \
                and net.prefixlen != 64:
            raise exc.InvalidInput(
                f"Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 "
                "address format, which requires the prefix to be /64")
        conf = self.deps.conf
        dns = sm.validate_dns_nameservers(data["dns_nameservers"], conf.max_dns_nameservers,
                                          NEW_SUBNET)
        routes = sm.validate_host_routes(data["host_routes"], conf.max_subnet_host_routes,
                                         version, NEW_SUBNET)
        self._check_overlap(session, data["network_id"], cidr)
        return {"cidr": cidr, "gateway_ip": gateway, "pools": pools, "dns": dns,
                "routes": routes, "subnetpool_id": pool_id}

    def _check_overlap(self, session: Session, network_id: str, cidr: str,
                       exclude: str | None = None) -> None:
        stmt = select(S.cidr)
        if self.deps.conf.allow_overlapping_ips:
            stmt = stmt.where(S.network_id == network_id)
        for other in session.scalars(stmt):
            if sm.cidrs_overlap(other, cidr):
                raise exc.InvalidInput(
                    f"Requested subnet with cidr: {cidr} for network: {network_id} "
                    "overlaps with another subnet")

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        return common.create_all(
            self.deps, "subnet", ctx, items,
            lambda session, data: self._create(session, ctx, data, authorize),
            self.to_dicts)

    def _create(self, session: Session, ctx: Context, data: dict,
                authorize: Authorize) -> S:
        network = session.get(models.Network, data["network_id"], with_for_update=True)
        network_shared = network is not None and rbac.is_shared_with(
            session, "network", network.id, ctx.project_id)
        if network is None or not (ctx.is_admin or network_shared
                                   or network.project_id == ctx.project_id):
            raise exc.NetworkNotFound(net_id=data["network_id"])
        authorize(data, dict(data, tenant_id=data["project_id"], shared=network_shared,
                             **{"network:project_id": network.project_id,
                                "network:tenant_id": network.project_id}))
        valid = self._validate_new(session, ctx, data)
        check_subnet_mtu(network.id, network.mtu, {data["ip_version"]})
        self.deps.quotas.check(session, data["project_id"], "subnet", 1)
        row = S(id=common.new_id(), project_id=data["project_id"], name=data["name"],
                description=data["description"], network_id=data["network_id"],
                ip_version=data["ip_version"], cidr=valid["cidr"],
                subnetpool_id=valid["subnetpool_id"], segment_id=data.get("segment_id"),
                gateway_ip=valid["gateway_ip"], enable_dhcp=data["enable_dhcp"],
                ipv6_ra_mode=data["ipv6_ra_mode"],
                ipv6_address_mode=data["ipv6_address_mode"], revision_number=0)
        session.add(row)
        session.flush()
        self._write_children(session, row.id, valid["pools"], valid["dns"], valid["routes"])
        types = data.get("service_types")
        types = [] if types is UNSET or types is None else types
        if types:
            service_types.write(session, row.id, types)
        if sm.is_auto_address(row.ip_version, row.ipv6_ra_mode, row.ipv6_address_mode):
            self._add_auto_addresses(session, row, tuple(types))
        if data.get("tags"):
            common.set_tags(session, "subnets", row.id, data["tags"])
        common.bump_revision(network)
        self.deps.events.publish("subnet", events.PRECOMMIT_CREATE,
                                 events.Payload(ctx, row.id, states=(data,), session=session))
        return row

    @staticmethod
    def _add_auto_addresses(session: Session, subnet: S, types: tuple[str, ...]) -> None:
        """A new SLAAC / DHCPv6-stateless subnet gives every existing port of the
        network it serves (router ports aside) its EUI-64 address, as upstream does."""
        ports = {p.id: p for p in session.scalars(select(models.Port).where(
            models.Port.network_id == subnet.network_id))}
        info = ipam.SubnetInfo(subnet.id, subnet.network_id, subnet.ip_version, subnet.cidr,
                               subnet.gateway_ip, auto_address=True, pools=[],
                               service_types=types, enable_dhcp=subnet.enable_dhcp)
        refs = [ipam.PortRef(p.id, p.network_id, p.mac_address, p.device_owner)
                for p in ports.values()]
        for port_id in ipam.address_ports_on_new_subnet(session, info, refs):
            common.bump_revision(ports[port_id])

    def _write_children(self, session: Session, subnet_id: str,
                        pools: list[tuple[str, str]] | None, dns: list[str] | None,
                        routes: list[dict] | None) -> None:
        if pools is not None:
            session.execute(delete(models.AllocationPool)
                            .where(models.AllocationPool.subnet_id == subnet_id))
            for first, last in pools:
                session.add(models.AllocationPool(subnet_id=subnet_id, first_ip=first,
                                                  last_ip=last))
        if dns is not None:
            session.execute(delete(models.DNSNameServer)
                            .where(models.DNSNameServer.subnet_id == subnet_id))
            for order, address in enumerate(dns):
                session.add(models.DNSNameServer(subnet_id=subnet_id, address=address,
                                                 order=order))
        if routes is not None:
            session.execute(delete(models.HostRoute)
                            .where(models.HostRoute.subnet_id == subnet_id))
            for route in routes:
                session.add(models.HostRoute(subnet_id=subnet_id,
                                             destination=route["destination"],
                                             nexthop=route["nexthop"]))

    def update(self, ctx: Context, subnet_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = session.get(S, subnet_id, with_for_update=True)
            if row is None:
                raise exc.SubnetNotFound(subnet_id=subnet_id)
            common.check_revision(row, revision)
            old = self.to_dicts(session, [row])[0]
            self._apply_update(session, row, old, data)
            common.bump_revision(row)
            session.flush()
            new = self.to_dicts(session, [row])[0]
            self.deps.events.publish("subnet", events.PRECOMMIT_UPDATE,
                                     events.Payload(ctx, subnet_id, (old, new), session))
            return new
        new = self.deps.db.run(run)
        self.deps.events.publish("subnet", events.AFTER_UPDATE,
                                 events.Payload(ctx, subnet_id, states=(None, new)))
        return new

    def _apply_update(self, session: Session, row: S, old: dict, data: dict) -> None:
        net = sm.parse_cidr(row.cidr)
        conf = self.deps.conf
        gateway = row.gateway_ip
        if "gateway_ip" in data:
            gateway = None if data["gateway_ip"] is None else sm.validate_gateway(
                net, data["gateway_ip"])
            if gateway != row.gateway_ip:
                _check_gateway_not_routed(session, row)
        pools = None
        if "allocation_pools" in data:
            pools = (sm.default_allocation_pools(net, gateway)
                     if data["allocation_pools"] is None else
                     sm.validate_allocation_pools(net, gateway, data["allocation_pools"]))
        elif "gateway_ip" in data and gateway is not None:
            current = [{"start": p["start"], "end": p["end"]}
                       for p in old["allocation_pools"]]
            sm.validate_allocation_pools(net, gateway, current)
        dns = (sm.validate_dns_nameservers(data["dns_nameservers"], conf.max_dns_nameservers,
                                           row.id)
               if "dns_nameservers" in data else None)
        routes = (sm.validate_host_routes(data["host_routes"], conf.max_subnet_host_routes,
                                          row.ip_version, row.id)
                  if "host_routes" in data else None)
        common.apply_standard(row, data)
        row.gateway_ip = gateway
        if "enable_dhcp" in data:
            if not data["enable_dhcp"] and row.ip_version == 6 and (
                    row.ipv6_ra_mode or row.ipv6_address_mode):
                raise exc.InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set "
                                       "when enable_dhcp is set to False")
            row.enable_dhcp = data["enable_dhcp"]
        self._write_children(session, row.id, pools, dns, routes)
        if "service_types" in data:
            service_types.write(session, row.id, data["service_types"])

    def delete(self, ctx: Context, subnet_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = session.get(S, subnet_id, with_for_update=True)
            if row is None:
                raise exc.SubnetNotFound(subnet_id=subnet_id)
            common.check_revision(row, revision)
            auto = sm.is_auto_address(row.ip_version, row.ipv6_ra_mode,
                                      row.ipv6_address_mode)
            allocations = session.execute(
                select(models.IPAllocation.port_id, models.Port.device_owner)
                .join(models.Port, models.Port.id == models.IPAllocation.port_id)
                .where(models.IPAllocation.subnet_id == subnet_id)).all()
            blocking = [port_id for port_id, owner in allocations
                        if owner not in SUBNET_OWNED_DEVICE_OWNERS
                        and not (auto and not owner.startswith("network:router"))]
            if blocking:
                raise exc.SubnetInUse(subnet_id=subnet_id)
            self.deps.events.publish("subnet", events.PRECOMMIT_DELETE,
                                     events.Payload(ctx, subnet_id, session=session))
            ipam.release(session, subnet_id=subnet_id)
            for model in (models.AllocationPool, models.DNSNameServer, models.HostRoute):
                session.execute(delete(model).where(model.subnet_id == subnet_id))
            common.delete_tags(session, subnet_id)
            network = session.get(models.Network, row.network_id)
            if network is not None:
                common.bump_revision(network)
            session.delete(row)
        self.deps.db.run(run)
        self.deps.events.publish("subnet", events.AFTER_DELETE,
                                 events.Payload(ctx, subnet_id))


def _check_gateway_not_routed(session: Session, row: S) -> None:
    """Upstream: a subnet's gateway address held by a router port (an interface of a
    router on the subnet) cannot be moved or removed: 409 GatewayIpInUse."""
    if row.gateway_ip is None:
        return
    A = models.IPAllocation
    port_id = session.scalars(select(A.port_id).join(
        models.RouterPort, models.RouterPort.port_id == A.port_id).where(
        A.subnet_id == row.id, A.ip_address == row.gateway_ip).limit(1)).first()
    if port_id is not None:
        raise exc.GatewayIpInUse(ip_address=row.gateway_ip, port_id=port_id)
