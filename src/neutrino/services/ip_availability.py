"""Network IP availability: how many addresses each network and subnet has in its
allocation pools (`total_ips`) and how many are allocated (`used_ips`), with
upstream's `ip_availability_details` (network-ip-availability-details).

Counts come from a few set-based queries for the whole page of networks (used
addresses per subnet with one GROUP BY); only the pool sizes (IPv6 addresses do not
fit SQL integers) and, for the details, which allocations fall inside a pool are
worked out here.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources import validators as v
from neutrino.resources.ip_availability import IP_AVAILABILITY
from neutrino.services.deps import Deps

N, S = models.Network, models.Subnet
AP, IPA = models.AllocationPool, models.IPAllocation
COLUMNS = {"id": N.id, "network_id": N.id, "network_name": N.name,
           "project_id": N.project_id, "tenant_id": N.project_id}
DETAILS = "ip_availability_details"
DETAIL_KEYS = ("total_ips_in_subnet", "total_ips_in_allocation_pool",
               "used_ips_in_subnet", "used_ips_in_allocation_pool")


def pool_size(first: str, last: str) -> int:
    return int(ipaddress.ip_address(last)) - int(ipaddress.ip_address(first)) + 1


def subnet_size(cidr: str, ip_version: int) -> int:
    """Addresses a port may have in the CIDR (IPv4 without network and broadcast)."""
    size = ipaddress.ip_network(cidr, strict=False).num_addresses
    return max(size - 2, 0) if ip_version == 4 else size


def subnet_total(cidr: str, pools: list[tuple[str, str]]) -> int:
    """Upstream's total_ips: the pools' size, or the whole CIDR without pools."""
    if pools:
        return sum(pool_size(first, last) for first, last in pools)
    return ipaddress.ip_network(cidr, strict=False).num_addresses


def count_in_pools(addresses: list[str], pools: list[tuple[str, str]]) -> int:
    """How many of the addresses lie inside one of the (non-overlapping) pools."""
    ranges = sorted((int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b)))
                    for a, b in pools)
    starts = [first for first, _ in ranges]
    inside = 0
    for address in addresses:
        value = int(ipaddress.ip_address(address))
        index = bisect_right(starts, value) - 1
        if index >= 0 and value <= ranges[index][1]:
            inside += 1
    return inside


class IpAvailabilityService:
    resource = IP_AVAILABILITY
    model = N

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def get(self, ctx: Context, network_id: str) -> dict:
        def run(session: Session) -> dict:
            row = session.execute(select(N.id, N.name, N.project_id)
                                  .where(N.id == network_id)).first()
            if row is None:
                raise exc.NetworkNotFound(net_id=network_id)
            return self._availabilities(session, [row], None, True)[0]
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        versions = [v.to_int(value) for value in query.filters.get("ip_version", [])]

        def run(session: Session) -> list[dict]:
            stmt = select(N.id, N.name, N.project_id).where(
                *filter_clauses(N, query, COLUMNS, self._sub_filter))
            rows = fetch_page(session, stmt, query, COLUMNS, N,
                              lambda i: exc.NetworkNotFound(net_id=i), scalars=False)
            details = fields is None or DETAILS in fields
            return self._availabilities(session, rows, versions or None, details)
        return self.deps.db.run(run, write=False)

    @staticmethod
    def _sub_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
        if name != "ip_version":
            raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")
        # Networks with a subnet of that version (and only those subnets are shown).
        versions = [v.to_int(value) for _, value in pairs]
        return N.id.in_(select(S.network_id).where(S.ip_version.in_(versions)))

    def _availabilities(self, session: Session, networks: list[Any],
                        versions: list[int] | None, details: bool) -> list[dict]:
        network_ids = [n.id for n in networks]
        stmt = (select(S.network_id, S.id, S.name, S.cidr, S.ip_version, S.created_at,
                       func.count(IPA.ip_address))
                .outerjoin(IPA, IPA.subnet_id == S.id)
                .group_by(S.network_id, S.id, S.name, S.cidr, S.ip_version, S.created_at))
        if versions:
            stmt = stmt.where(S.ip_version.in_(versions))
        subnets = sorted(rows_for_ids(session, stmt, S.network_id, network_ids),
                         key=lambda r: (r.created_at, r.id))
        subnet_ids = [s.id for s in subnets]
        pools: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for subnet_id, first, last in rows_for_ids(
                session, select(AP.subnet_id, AP.first_ip, AP.last_ip), AP.subnet_id,
                subnet_ids):
            pools[subnet_id].append((first, last))
        addresses: dict[str, list[str]] = defaultdict(list)
        if details:
            for subnet_id, address in rows_for_ids(
                    session, select(IPA.subnet_id, IPA.ip_address), IPA.subnet_id,
                    subnet_ids):
                addresses[subnet_id].append(address)
        by_network: dict[str, list[dict]] = defaultdict(list)
        for network_id, subnet_id, name, cidr, version, _, used in subnets:
            item = {"subnet_id": subnet_id, "ip_version": version, "cidr": cidr,
                    "subnet_name": name, "used_ips": used,
                    "total_ips": subnet_total(cidr, pools[subnet_id])}
            if details:
                item[DETAILS] = {
                    "total_ips_in_subnet": subnet_size(cidr, version),
                    "total_ips_in_allocation_pool": sum(
                        pool_size(a, b) for a, b in pools[subnet_id]),
                    "used_ips_in_subnet": used,
                    "used_ips_in_allocation_pool": count_in_pools(
                        addresses[subnet_id], pools[subnet_id])}
            by_network[network_id].append(item)
        return [self._network_item(n, by_network[n.id], details) for n in networks]

    @staticmethod
    def _network_item(network: Any, subnets: list[dict], details: bool) -> dict:
        item = {"id": network.id, "network_id": network.id, "network_name": network.name,
                "project_id": network.project_id, "tenant_id": network.project_id,
                "subnet_ip_availability": subnets,
                "used_ips": sum(s["used_ips"] for s in subnets),
                "total_ips": sum(s["total_ips"] for s in subnets)}
        if details:
            item[DETAILS] = {key: sum(s[DETAILS][key] for s in subnets)
                             for key in DETAIL_KEYS}
        return item
