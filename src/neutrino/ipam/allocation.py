"""IP address management: the one way addresses are given to and taken from ports.

Every caller goes through here: port create (API, bulk, and the ports features make
inside their own transactions: router gateways and interfaces, floating IPs, DHCP
ports), port updates of fixed_ips or of the MAC, a new SLAAC subnet, and the
releases. All functions run inside the caller's transaction.

    allocate(session, AllocationRequest)      a new port's addresses
    update(session, port, wanted)             a fixed_ips update
    release(session, port_id=, subnet_id=)    addresses going away
    move_auto_addresses(session, port, mac)   a new MAC moves the EUI-64 addresses
    address_ports_on_new_subnet(session, subnet, ports)

Decisions are pure (`neutrino.ipam.plan`, `allocator`, `subnet_math`); statements are
in `neutrino.ipam.store`. Addresses are picked at random from the pools and inserted
under the primary key (ip_address, subnet_id): a concurrent double allocation fails
at insert and the request's transaction is retried. No global lock.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.ipam import allocator, store
from neutrino.ipam.plan import (
    Allocation,
    AllocationOnAutoAddressSubnet,
    FixedIpRequest,
    Known,
    Pick,
    PortRef,
    SubnetInfo,
    creation_requests,
    invalid_subnet,
    is_router_port,
    plan_update,
    requested_addresses,
    resolve,
)

__all__ = [
    "Allocation", "AllocationOnAutoAddressSubnet", "AllocationRequest", "FixedIpRequest",
    "PortRef", "SubnetInfo", "address_ports_on_new_subnet", "allocate", "is_router_port",
    "move_auto_addresses", "pick_address", "release", "requested_addresses", "update",
]

_RNG = random.SystemRandom()
CANDIDATES = 16          # random probes per attempt before listing what is free
FREE_SCAN_LIMIT = 4096   # addresses considered when a subnet is nearly full


@dataclass(frozen=True)
class AllocationRequest:
    """The addresses a new port asks for.

    ``fixed_ips`` None: upstream's default choice (one IPv4, the automatic IPv6 ones,
    one stateful IPv6). ``reserved``: addresses other ports of the same bulk request
    ask for by name; this port does not take them when it takes any address.
    """

    port: PortRef
    fixed_ips: tuple[FixedIpRequest, ...] | None = None
    reserved: frozenset[str] = frozenset()


def allocate(session: Session, request: AllocationRequest) -> list[Allocation]:
    """Give a new port its addresses; returns them in allocation order (the requested
    entries in request order, then the implicit automatic ones)."""
    port = request.port
    subnets = store.network_subnets(session, port.network_id)
    wanted = creation_requests(
        subnets, None if request.fixed_ips is None else list(request.fixed_ips),
        port.device_owner)
    return _take(session, port, subnets, wanted, request.reserved, first_position=0)


def update(session: Session, port: PortRef, wanted: Iterable[FixedIpRequest]
           ) -> list[Allocation]:
    """A fixed_ips update: keep what is asked for again, release the rest (automatic
    addresses stay), allocate the new entries after the kept ones. Returns the port's
    addresses in order."""
    wanted = list(wanted)
    subnets = store.network_subnets(session, port.network_id)
    current = [a for a, _ in store.port_allocations(session, port.id)]
    plan = plan_update(current, wanted, subnets, port.device_owner)
    if plan.release:
        store.delete_allocations(session, port.id, plan.release)
        session.flush()
    known = {s.id for s in subnets}
    for request in plan.new:
        if request.subnet_id is not None and request.subnet_id not in known:
            raise invalid_subnet(port.network_id, request.subnet_id)
    first = store.next_position(session, port.id)
    return plan.keep + _take(session, port, subnets, plan.new, frozenset(), first)


def release(session: Session, *, port_id: str | None = None,
            subnet_id: str | None = None) -> None:
    """Free a port's addresses (on one subnet, or all), or all of a subnet's."""
    store.delete_where(session, port_id=port_id, subnet_id=subnet_id)


def _take(session: Session, port: PortRef, subnets: list[SubnetInfo],
          wanted: list[FixedIpRequest], reserved: frozenset[str],
          first_position: int) -> list[Allocation]:
    """Check or choose each address in order, then insert them all at once."""
    chosen: list[Allocation] = []
    for request in wanted:
        step = resolve(request, subnets, port)
        if isinstance(step, Known):
            if store.is_allocated(session, step.subnet_id, step.ip_address):
                if step.requested:
                    raise exc.IpAddressAlreadyAllocated(ip=step.ip_address,
                                                        subnet_id=step.subnet_id)
                raise exc.IpAddressInUse(net_id=port.network_id,
                                         ip_address=step.ip_address)
            chosen.append(Allocation(step.subnet_id, step.ip_address))
        else:
            chosen.append(_pick_any(session, port, step, reserved))
    store.insert_allocations(session, port, chosen, first_position)
    return chosen


def _pick_any(session: Session, port: PortRef, step: Pick, reserved: frozenset[str]
              ) -> Allocation:
    for subnet in step.subnets:
        ip = pick_address(session, subnet, reserved)
        if ip is not None:
            return Allocation(subnet.id, ip)
    raise exc.IpAddressGenerationFailure(net_id=port.network_id)


def pick_address(session: Session, subnet: SubnetInfo,
                 avoid: frozenset[str] = frozenset()) -> str | None:
    """A free address from the subnet's pools, not one of ``avoid``, or None when
    there is none."""
    if not subnet.pools:
        return None
    candidates = allocator.random_candidates(subnet.pools, CANDIDATES, _RNG)
    taken = store.taken_among(session, subnet.id, candidates)
    free = [c for c in candidates if c not in taken and c not in avoid]
    if free:
        return free[0]
    used = store.used_addresses(session, subnet.id)
    remaining = allocator.free_addresses(subnet.pools, used | avoid, limit=FREE_SCAN_LIMIT)
    return _RNG.choice(remaining) if remaining else None


def move_auto_addresses(session: Session, port: PortRef, old_mac: str) -> None:
    """SLAAC / DHCPv6-stateless addresses are the EUI-64 of the MAC: a new MAC moves
    them (the host configures the new one, port security must allow it). Each keeps
    its place in the port's list."""
    subnets = {s.id: s for s in store.network_subnets(session, port.network_id)
               if s.auto_address}
    for allocation, position in store.port_allocations(session, port.id):
        subnet = subnets.get(allocation.subnet_id)
        if subnet is None or allocation.ip_address != allocator.eui64_address(
                subnet.cidr, old_mac):
            continue
        ip = allocator.eui64_address(subnet.cidr, port.mac_address)
        store.delete_allocations(session, port.id, [allocation])
        if store.is_allocated(session, subnet.id, ip):
            raise exc.IpAddressInUse(net_id=port.network_id, ip_address=ip)
        store.insert_allocations(session, port, [Allocation(subnet.id, ip)], position)


def address_ports_on_new_subnet(session: Session, subnet: SubnetInfo,
                                ports: Iterable[PortRef]) -> list[str]:
    """A new SLAAC / DHCPv6-stateless subnet gives every existing port of the network
    (router ports aside) its EUI-64 address, after the port's others, as upstream
    does. Returns the ids of the ports addressed."""
    if not subnet.auto_address:
        return []
    addressed = [p for p in ports if not is_router_port(p.device_owner)]
    positions = store.next_positions(session, subnet.network_id)
    store.insert_rows(session, [
        (port, Allocation(subnet.id, allocator.eui64_address(subnet.cidr, port.mac_address)),
         positions.get(port.id, 0)) for port in addressed])
    return [p.id for p in addressed]
