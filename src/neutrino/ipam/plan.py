"""Which addresses a port asks for: pure decisions over its network's subnets.

No database here. `neutrino.ipam.allocation` loads the subnets, asks this module
what each request means (`resolve`), and checks or picks the addresses in the
database. Requests are kept in order: a port's fixed_ips list its addresses in the
order they were allocated (the requested ones in request order, then the automatic
SLAAC / DHCPv6-stateless ones), as upstream does, because clients index
``fixed_ips[0]``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from neutrino import exceptions as exc
from neutrino.ipam.allocator import eui64_address

# Router ports choose their IPv6 addresses explicitly; every other port also gets
# the EUI-64 address of each automatic-address subnet of its network.
ROUTER_INTERFACE_OWNERS = ("network:router_interface",
                           "network:router_interface_distributed",
                           "network:ha_router_replicated_interface",
                           "network:router_centralized_snat")


def is_router_port(device_owner: str) -> bool:
    return device_owner in ROUTER_INTERFACE_OWNERS


class AllocationOnAutoAddressSubnet(exc.InvalidInput):
    message = ("IPv6 address %(ip)s cannot be directly assigned to a port on subnet "
               "%(subnet_id)s as the subnet is configured for automatic addresses")

    def __init__(self, **kwargs: str) -> None:
        exc.NeutronError.__init__(self, **kwargs)


@dataclass
class SubnetInfo:
    """What allocation needs to know of a subnet."""

    id: str
    network_id: str
    ip_version: int
    cidr: str
    gateway_ip: str | None
    auto_address: bool  # SLAAC / DHCPv6-stateless: the address is the MAC's EUI-64
    pools: list[tuple[str, str]]

    @property
    def net(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr)


@dataclass(frozen=True)
class PortRef:
    """What allocation needs to know of a port."""

    id: str
    network_id: str
    mac_address: str
    device_owner: str


@dataclass(frozen=True)
class FixedIpRequest:
    """One entry of a port's fixed_ips, or one of upstream's default choices.

    ``any_of``: an address from the first of these subnets that has one free (the
    default IPv4 / stateful IPv6 choice); otherwise ``subnet_id`` and/or
    ``ip_address`` as the client gave them.
    """

    subnet_id: str | None = None
    ip_address: str | None = None
    any_of: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, entry: dict) -> FixedIpRequest:
        return cls(subnet_id=entry.get("subnet_id"), ip_address=entry.get("ip_address"))


@dataclass(frozen=True)
class Allocation:
    """An address given to a port."""

    subnet_id: str
    ip_address: str

    def as_dict(self) -> dict[str, str]:
        """The fixed_ips entry of the API."""
        return {"subnet_id": self.subnet_id, "ip_address": self.ip_address}


# -- what a request means ------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """A known address: it must be free. ``requested``: the client named it (taken
    answers IpAddressAlreadyAllocated), else it is the EUI-64 one (IpAddressInUse)."""

    subnet_id: str
    ip_address: str
    requested: bool


@dataclass(frozen=True)
class Pick:
    """Any free pool address, from the first of ``subnets`` that has one."""

    subnets: tuple[SubnetInfo, ...]


Step = Known | Pick


def resolve(request: FixedIpRequest, subnets: list[SubnetInfo], port: PortRef) -> Step:
    """What a request asks of the database, with upstream's errors for a request that
    cannot be met whatever the database holds."""
    if request.any_of:
        by_id = {s.id: s for s in subnets}
        return Pick(tuple(by_id[i] for i in request.any_of))
    subnet = subnet_of_request(request, subnets, port.network_id)
    if request.ip_address is not None:
        ip = check_address_for_subnet(subnet, request.ip_address)
        if subnet.auto_address and not is_router_port(port.device_owner):
            raise AllocationOnAutoAddressSubnet(ip=ip, subnet_id=subnet.id)
        return Known(subnet.id, ip, requested=True)
    if subnet.auto_address:
        return Known(subnet.id, eui64_address(subnet.cidr, port.mac_address),
                     requested=False)
    return Pick((subnet,))


def subnet_of_request(request: FixedIpRequest, subnets: list[SubnetInfo],
                      network_id: str) -> SubnetInfo:
    if request.subnet_id is None:
        return subnet_for_address(subnets, request.ip_address or "")
    for subnet in subnets:
        if subnet.id == request.subnet_id:
            return subnet
    raise invalid_subnet(network_id, request.subnet_id)


def invalid_subnet(network_id: str, subnet_id: str) -> exc.InvalidInput:
    return exc.InvalidInput(f"Failed to create port on network {network_id}, because "
                            f"fixed_ips included invalid subnet {subnet_id}")


def check_address_for_subnet(subnet: SubnetInfo, ip: str) -> str:
    """A requested address must be a host address inside the subnet; returns it in
    canonical form."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise exc.InvalidIpForSubnet(ip_address=ip) from None
    net = subnet.net
    if address.version != net.version or address not in net:
        raise exc.InvalidIpForSubnet(ip_address=ip)
    if net.num_addresses > 2 and (address == net.network_address or (
            net.version == 4 and address == net.broadcast_address)):
        raise exc.InvalidIpForSubnet(ip_address=ip)
    return str(address)


def subnet_for_address(subnets: list[SubnetInfo], ip: str) -> SubnetInfo:
    """The first subnet (in the order given) holding the address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise exc.InvalidIpForNetwork(ip_address=ip) from None
    for subnet in subnets:
        if address.version == subnet.ip_version and address in subnet.net:
            return subnet
    raise exc.InvalidIpForNetwork(ip_address=ip)


# -- which requests a new port makes ---------------------------------------------------


def default_requests(subnets: list[SubnetInfo]) -> list[FixedIpRequest]:
    """Upstream's choice when fixed_ips is not given: one IPv4 address, an EUI-64
    address on every SLAAC / stateless subnet, and one address from a stateful IPv6
    subnet."""
    v4 = tuple(s.id for s in subnets if s.ip_version == 4)
    v6_auto = [s for s in subnets if s.ip_version == 6 and s.auto_address]
    v6_stateful = tuple(s.id for s in subnets if s.ip_version == 6 and not s.auto_address)
    wanted: list[FixedIpRequest] = []
    if v4:
        wanted.append(FixedIpRequest(any_of=v4))
    wanted += [FixedIpRequest(subnet_id=s.id) for s in v6_auto]
    if v6_stateful:
        wanted.append(FixedIpRequest(any_of=v6_stateful))
    return wanted


def implicit_auto_requests(subnets: list[SubnetInfo], requested: list[FixedIpRequest],
                           device_owner: str) -> list[FixedIpRequest]:
    """The automatic-address subnets a create with explicit fixed_ips did not name:
    their addresses are included implicitly (not on router ports)."""
    if is_router_port(device_owner):
        return []
    named = {r.subnet_id for r in requested}
    for request in requested:
        if request.subnet_id is None and request.ip_address is not None:
            try:
                named.add(subnet_for_address(subnets, request.ip_address).id)
            except exc.InvalidIpForNetwork:
                pass  # reported when the request itself is resolved
    return [FixedIpRequest(subnet_id=s.id) for s in subnets
            if s.auto_address and s.id not in named]


def creation_requests(subnets: list[SubnetInfo], fixed_ips: list[FixedIpRequest] | None,
                      device_owner: str) -> list[FixedIpRequest]:
    """Everything a new port asks for, in allocation order: the requested entries,
    then the implicit automatic ones; or upstream's default choice (None)."""
    if fixed_ips is None:
        return default_requests(subnets)
    return list(fixed_ips) + implicit_auto_requests(subnets, fixed_ips, device_owner)


# -- what a fixed_ips update changes -----------------------------------------------------


@dataclass(frozen=True)
class UpdatePlan:
    keep: list[Allocation]
    release: list[Allocation]
    new: list[FixedIpRequest]


def plan_update(current: list[Allocation], wanted: list[FixedIpRequest],
                subnets: list[SubnetInfo], device_owner: str) -> UpdatePlan:
    """Keep the addresses asked for again, release the others, allocate the rest.

    Automatic (SLAAC / DHCPv6-stateless) addresses stay unless named again (then the
    request is allocated anew): the host configures them whatever the port says.
    Router ports have no implicit automatic addresses, so theirs go like any other.
    """
    remaining = list(current)
    new: list[FixedIpRequest] = []
    for request in wanted:
        match = _matching(remaining, request)
        if match is not None:
            remaining.remove(match)
        else:
            new.append(request)
    keep = [a for a in current if a not in remaining]
    if not is_router_port(device_owner):
        auto = {s.id for s in subnets if s.auto_address}
        asked = {r.subnet_id for r in new}
        stays = [a for a in remaining if a.subnet_id in auto and a.subnet_id not in asked]
        remaining = [a for a in remaining if a not in stays]
        keep = [a for a in current if a not in remaining]
    return UpdatePlan(keep=keep, release=remaining, new=new)


def _matching(current: list[Allocation], request: FixedIpRequest) -> Allocation | None:
    for item in current:
        if request.ip_address is not None:
            if item.ip_address == request.ip_address and (
                    request.subnet_id is None or item.subnet_id == request.subnet_id):
                return item
        elif item.subnet_id == request.subnet_id:
            return item
    return None


def requested_addresses(requests: Iterable[FixedIpRequest]) -> frozenset[str]:
    """The addresses (canonical) that requests name, e.g. those of all ports of a bulk
    create: a port there taking any address must not take one of them."""
    return frozenset(str(ipaddress.ip_address(r.ip_address)) for r in requests
                     if r.ip_address is not None)
