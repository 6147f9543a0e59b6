"""``get_desired_state(kind="dhcp")``: every network scheduled to a host's DHCP
agent (docs/rpc.md), and ``get_dhcp_port``'s answer."""

from __future__ import annotations

from typing import TypedDict

from neutrino.contract.common import FixedIp, Route


class AllocationPool(TypedDict):
    start: str
    end: str


class DhcpSubnet(TypedDict):
    id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    enable_dhcp: bool
    dns_nameservers: list[str]      # in the subnet's order
    host_routes: list[Route]
    allocation_pools: list[AllocationPool]
    ipv6_ra_mode: str | None
    ipv6_address_mode: str | None
    revision_number: int


class ExtraDhcpOpt(TypedDict):
    opt_name: str
    opt_value: str
    ip_version: int


class DnsAssignment(TypedDict):
    ip_address: str
    hostname: str
    fqdn: str


class DhcpPort(TypedDict):
    """A port of a served network; also get_dhcp_port's answer."""

    id: str
    mac_address: str
    fixed_ips: list[FixedIp]
    device_id: str
    device_owner: str
    extra_dhcp_opts: list[ExtraDhcpOpt]
    revision_number: int
    # As the API shows them (dns-integration).
    dns_name: str
    dns_domain: str
    dns_assignment: list[DnsAssignment]


class DhcpNetwork(TypedDict):
    id: str
    revision_number: int
    mtu: int | None
    admin_state_up: bool
    subnets: list[DhcpSubnet]
    ports: list[DhcpPort]
    dhcp_port: DhcpPort | None  # this host's agent's port; None until get_dhcp_port


class DhcpState(TypedDict):
    host: str
    networks: list[DhcpNetwork]
