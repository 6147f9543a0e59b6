"""Pure subnet arithmetic and validation for the subnet resource.

Everything here works on strings and stdlib ``ipaddress`` objects; nothing touches a
database. Errors are raised as the Neutron API exceptions clients expect, with the
upstream wording where clients are known to match on it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from neutrino.exceptions import (
    DNSNameServersExhausted,
    GatewayConflictWithAllocationPools,
    HostRoutesExhausted,
    HTTPBadRequest,
    InvalidAllocationPool,
    InvalidInput,
    OutOfBoundsAllocationPool,
    OverlappingAllocationPools,
)
from neutrino.ipam._ip import (
    IPAddress,
    Network,
    as_network,
    ip_str,
    merge_ranges,
    parse_ip,
    pools_to_ranges,
)

__all__ = [
    "IPV6_MODES",
    "Network",
    "cidrs_overlap",
    "default_allocation_pools",
    "default_gateway",
    "ip_in_pools",
    "is_auto_address",
    "parse_cidr",
    "pools_size",
    "usable_bounds",
    "validate_allocation_pools",
    "validate_dns_nameservers",
    "validate_gateway",
    "validate_host_routes",
    "validate_ipv6_modes",
]

SLAAC = "slaac"
DHCPV6_STATEFUL = "dhcpv6-stateful"
DHCPV6_STATELESS = "dhcpv6-stateless"
IPV6_MODES = (DHCPV6_STATEFUL, DHCPV6_STATELESS, SLAAC)
_AUTO_ADDRESS_MODES = (SLAAC, DHCPV6_STATELESS)


def _bad_attr(attr: str, reason: str) -> HTTPBadRequest:
    """The API's attribute-validation error: 'Invalid input for X. Reason: Y.'"""
    return HTTPBadRequest(f"Invalid input for {attr}. Reason: {reason}.")


# -- CIDRs ---------------------------------------------------------------------


def _parse_network_text(value: object) -> Network | None:
    """Parse CIDR text leniently (host bits allowed); None if it is not a CIDR."""
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _canonical_cidr_problem(value: str, net: Network) -> bool:
    """True when ``value`` parses but is not a form we accept as-is.

    Mirrors the upstream rule: the text must contain a prefix length; an IPv4 CIDR
    must be in exact canonical form (catches host bits, netmask notation and
    zero-padded prefixes); an IPv6 CIDR must not have host bits set (its text form
    has too many legitimate spellings to demand a canonical one).
    """
    if "/" not in value:
        return True
    if net.version == 4:
        return str(net) != value
    address = ipaddress.IPv6Address(value.split("/", 1)[0])
    return address != net.network_address


def parse_cidr(value: object, ip_version: int | None = None) -> Network:
    """Parse a subnet CIDR string into a network, enforcing the API's rules."""
    net = _parse_network_text(value)
    if net is None:
        raise InvalidInput(f"{value} is not in a CIDR format")
    assert isinstance(value, str)
    if _canonical_cidr_problem(value, net):
        raise _bad_attr(
            "cidr", f"'{value}' isn't a recognized IP subnet cidr, '{net}' is recommended"
        )
    if ip_version is not None and net.version != ip_version:
        raise InvalidInput(f"cidr '{value}' does not match the ip_version '{ip_version}'")
    return net


def cidrs_overlap(a: Network | str, b: Network | str) -> bool:
    """True if the two CIDRs share any address (different families never do)."""
    net_a = ipaddress.ip_network(a, strict=False) if isinstance(a, str) else a
    net_b = ipaddress.ip_network(b, strict=False) if isinstance(b, str) else b
    if isinstance(net_a, ipaddress.IPv4Network) and isinstance(net_b, ipaddress.IPv4Network):
        return net_a.overlaps(net_b)
    if isinstance(net_a, ipaddress.IPv6Network) and isinstance(net_b, ipaddress.IPv6Network):
        return net_a.overlaps(net_b)
    return False


# -- gateway and pools -----------------------------------------------------------


def usable_bounds(net: Network | str) -> tuple[int, int]:
    """Inclusive integer bounds of the addresses that may be allocated.

    IPv4 loses its network and broadcast addresses, except on /31 (RFC 3021
    point-to-point: both usable) and /32 (the single host). IPv6 has no broadcast
    but reserves the network address as the subnet-router anycast address, except
    on a /128 where it is the only address.
    """
    net = as_network(net)
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.prefixlen >= net.max_prefixlen - (1 if net.version == 4 else 0):
        return first, last
    if net.version == 4:
        return first + 1, last - 1
    return first + 1, last


def default_gateway(net: Network | str) -> str | None:
    """The address after the network address, or None when there is none to spare.

    IPv4 /31 and /32 get no gateway: both /31 addresses are hosts and a /32 is a
    single host, so taking one as gateway would leave (almost) nothing to allocate.
    IPv6 /128 likewise; an IPv6 /127 does get network+1, as upstream does.
    """
    net = as_network(net)
    if net.version == 4 and net.prefixlen >= 31:
        return None
    if net.prefixlen == net.max_prefixlen:
        return None
    return str(net.network_address + 1)


def validate_gateway(net: Network | str, gateway: str) -> str:
    """Check a requested gateway_ip against the subnet; return its normalized text.

    A gateway outside the CIDR is accepted (upstream allows off-link gateways);
    inside, it must not be the network address, the IPv4 broadcast address, or the
    sole address of a host route subnet (/32, /128).
    """
    net = as_network(net)
    ip = parse_ip(gateway)
    if ip is None:
        raise InvalidInput(f"'{gateway}' is not a valid IP address")
    if ip.version != net.version:
        raise InvalidInput(
            f"gateway_ip '{gateway}' does not match the ip_version '{net.version}'")
    if ip in net and _is_reserved_in(net, ip):
        raise InvalidInput("Gateway is not valid on subnet")
    return str(ip)


def _is_reserved_in(net: Network, ip: IPAddress) -> bool:
    if net.prefixlen == net.max_prefixlen or ip == net.network_address:
        return True
    return net.version == 4 and ip == net.broadcast_address


def _subtract(first: int, last: int, hole: int | None) -> list[tuple[int, int]]:
    """Split [first, last] around one address (no-op when it lies outside)."""
    if hole is None or not first <= hole <= last:
        return [(first, last)] if first <= last else []
    return [(a, b) for a, b in ((first, hole - 1), (hole + 1, last)) if a <= b]


def default_allocation_pools(net: Network | str, gateway: str | None) -> list[tuple[str, str]]:
    """All usable addresses of the subnet minus the gateway, as sorted ranges."""
    net = as_network(net)
    first, last = usable_bounds(net)
    gw = parse_ip(gateway)
    hole = int(gw) if gw is not None and gw.version == net.version else None
    return _to_pairs(net.version, _subtract(first, last, hole))


def _to_pairs(version: int, ranges: list[tuple[int, int]]) -> list[tuple[str, str]]:
    return [(ip_str(version, a), ip_str(version, b)) for a, b in ranges]


def _pool_label(start: object, end: object) -> str:
    return f"{start}-{end}"


def _parse_pool_item(item: object) -> tuple[IPAddress, IPAddress]:
    """Shape check for one allocation_pools entry; HTTPBadRequest if malformed."""
    if isinstance(item, dict) and set(item) == {"start", "end"}:
        start, end = parse_ip(item["start"]), parse_ip(item["end"])
        if start is not None and end is not None:
            return start, end
    raise _bad_attr("allocation_pools", f"Invalid data format for IP pool: '{item}'")


def validate_allocation_pools(
    net: Network | str, gateway: str | None, pools: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """Validate user-supplied allocation pools; return them normalized and sorted.

    Checks run in the order clients see upstream: shape of every item first, then
    per pool (family, order, bounds), then overlaps between pools, then the gateway.
    """
    net = as_network(net)
    if not isinstance(pools, list):
        raise _bad_attr("allocation_pools", f"Invalid data format for IP pool: '{pools}'")
    parsed = [_parse_pool_item(item) for item in pools]
    low, high = usable_bounds(net)
    ranges: list[tuple[int, int]] = []
    for start, end in parsed:
        label = _pool_label(start, end)
        if start.version != net.version or end.version != net.version or int(start) > int(end):
            raise InvalidAllocationPool(pool=label)
        if int(start) < low or int(end) > high:
            raise OutOfBoundsAllocationPool(pool=label, subnet_cidr=str(net))
        ranges.append((int(start), int(end)))
    ranges.sort()
    _check_no_overlap(net, ranges)
    _check_gateway_outside(net, gateway, ranges)
    return _to_pairs(net.version, ranges)


def _check_no_overlap(net: Network, ranges: list[tuple[int, int]]) -> None:
    """Ranges are sorted by start; an overlap must show between neighbours."""
    for (a1, b1), (a2, b2) in zip(ranges, ranges[1:], strict=False):
        if a2 <= b1:
            raise OverlappingAllocationPools(
                pool_1=_pool_label(ip_str(net.version, a1), ip_str(net.version, b1)),
                pool_2=_pool_label(ip_str(net.version, a2), ip_str(net.version, b2)),
                subnet_cidr=str(net),
            )


def _check_gateway_outside(
    net: Network, gateway: str | None, ranges: list[tuple[int, int]]
) -> None:
    gw = parse_ip(gateway)
    if gw is None or gw.version != net.version:
        return
    for first, last in ranges:
        if first <= int(gw) <= last:
            pool = _pool_label(ip_str(net.version, first), ip_str(net.version, last))
            raise GatewayConflictWithAllocationPools(ip_address=str(gw), pool=pool)


def pools_size(pools: list[tuple[str, str]]) -> int:
    """Number of distinct addresses covered by the pools."""
    return sum(last - first + 1 for _, first, last in merge_ranges(pools_to_ranges(pools)))


def ip_in_pools(ip: str, pools: list[tuple[str, str]]) -> bool:
    """True if ``ip`` (any spelling) lies within one of the pools."""
    addr = parse_ip(ip)
    if addr is None:
        return False
    value = int(addr)
    return any(
        version == addr.version and first <= value <= last
        for version, first, last in pools_to_ranges(pools)
    )


# -- DNS nameservers and host routes ---------------------------------------------


def validate_dns_nameservers(values: object, max_count: int, subnet_id: str = "") -> list[str]:
    """Validate dns_nameservers; return normalized addresses in the given order."""
    if not isinstance(values, list):
        raise _bad_attr("dns_nameservers", f"'{values}' is not a list")
    seen: set[IPAddress] = set()
    result: list[str] = []
    for value in values:
        ip = parse_ip(value)
        if ip is None:
            raise _bad_attr("dns_nameservers", f"'{value}' is not a valid nameserver")
        if ip in seen:
            raise _bad_attr("dns_nameservers", f"Duplicate nameserver '{value}'")
        seen.add(ip)
        result.append(str(ip))
    # The quota is checked after the shape, as upstream: a malformed list reports
    # its first bad entry rather than its length.
    if len(result) > max_count:
        raise DNSNameServersExhausted(subnet_id=subnet_id, quota=max_count)
    return result


def _parse_host_route(item: object) -> tuple[Network, IPAddress]:
    """Shape check for one host_routes entry; HTTPBadRequest if malformed."""
    if isinstance(item, dict) and set(item) == {"destination", "nexthop"}:
        dest_text = item["destination"]
        dest = _parse_network_text(dest_text)
        nexthop = parse_ip(item["nexthop"])
        if dest is not None and nexthop is not None:
            assert isinstance(dest_text, str)
            if _canonical_cidr_problem(dest_text, dest):
                raise _bad_attr(
                    "host_routes",
                    f"'{dest_text}' isn't a recognized IP subnet cidr, '{dest}' is recommended",
                )
            return dest, nexthop
    raise _bad_attr("host_routes", f"Invalid data format for hostroute: '{item}'")


def _check_route_version(name: str, value: object, actual: int, expected: int) -> None:
    if actual != expected:
        raise InvalidInput(f"{name} '{value}' does not match the ip_version '{expected}'")


def validate_host_routes(
    values: object, max_count: int, ip_version: int | None = None, subnet_id: str = ""
) -> list[dict[str, str]]:
    """Validate host_routes; return them normalized, in the given order.

    Without ``ip_version`` each route's nexthop must match its destination's family.
    """
    if not isinstance(values, list):
        raise _bad_attr("host_routes", f"Invalid data format for hostroute: '{values}'")
    parsed: list[tuple[Network, IPAddress]] = []
    for item in values:
        route = _parse_host_route(item)
        if route in parsed:
            raise _bad_attr("host_routes", f"Duplicate hostroute '{item}'")
        parsed.append(route)
    for item, (dest, nexthop) in zip(values, parsed, strict=True):
        expected = ip_version if ip_version is not None else dest.version
        _check_route_version("nexthop", item["nexthop"], nexthop.version, expected)
        _check_route_version("destination", item["destination"], dest.version, expected)
    if len(parsed) > max_count:
        raise HostRoutesExhausted(subnet_id=subnet_id, quota=max_count)
    return [{"destination": str(dest), "nexthop": str(nexthop)} for dest, nexthop in parsed]


# -- IPv6 address modes ----------------------------------------------------------


def _check_mode_value(attr: str, value: object) -> None:
    if value is not None and value not in IPV6_MODES:
        allowed = [*IPV6_MODES, None]
        raise _bad_attr(attr, f"'{value}' is not in {allowed}")


def validate_ipv6_modes(ip_version: int, ra_mode: str | None, address_mode: str | None) -> None:
    """Validate ipv6_ra_mode / ipv6_address_mode against each other and the family."""
    _check_mode_value("ipv6_ra_mode", ra_mode)
    _check_mode_value("ipv6_address_mode", address_mode)
    if ip_version == 4:
        if ra_mode is not None or address_mode is not None:
            raise InvalidInput("ipv6_ra_mode and ipv6_address_mode cannot be set on an IPv4 subnet")
        return
    if ra_mode is not None and address_mode is not None and ra_mode != address_mode:
        raise InvalidInput(
            f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to "
            f"'{address_mode}' is invalid. If both attributes are set, they must be the "
            "same value"
        )


def is_auto_address(ip_version: int, ra_mode: str | None, address_mode: str | None) -> bool:
    """True when hosts configure their own address (SLAAC / DHCPv6-stateless).

    The address mode governs; the RA mode only decides when no address mode is set.
    """
    if ip_version != 6:
        return False
    mode = address_mode if address_mode is not None else ra_mode
    return mode in _AUTO_ADDRESS_MODES
