"""``get_metadata_instance`` on q-plugin: which instance a metadata request comes
from, and what the metadata agent's built-in upstream serves of it (docs/rpc.md).

The agent sends a `MetadataInstanceRequest` (as the call's keyword arguments); the
server answers a `MetadataInstance`, or None when no single instance port has the
address (the agent then answers 404).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from neutrino.contract.common import FixedIp, Route


class MetadataInstanceRequest(TypedDict):
    """Where the request came from: the VM's address on a network (a DHCP
    namespace's proxy) or on one of a router's interface networks (a router
    namespace's proxy). Exactly one of network_id and router_id is sent."""

    ip_address: str
    network_id: NotRequired[str]
    router_id: NotRequired[str]


class MetadataPort(TypedDict):
    id: str
    name: str                       # "" when unnamed
    network_id: str
    mac_address: str
    device_owner: str
    fixed_ips: list[FixedIp]        # by subnet, then address
    dns_name: str                   # as the API shows them (dns-integration)
    dns_domain: str
    # From the dns_assignment of its first IPv4 address (else any); absent when the
    # port has none. fqdn without the trailing dot.
    hostname: NotRequired[str]
    fqdn: NotRequired[str]


class MetadataNetwork(TypedDict):
    id: str
    name: str
    mtu: int


class MetadataSubnet(TypedDict):
    """A subnet the port has an address on."""

    id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    enable_dhcp: bool
    ipv6_address_mode: str | None
    ipv6_ra_mode: str | None
    dns_nameservers: list[str]      # in the subnet's order
    host_routes: list[Route]


class MetadataInstance(TypedDict):
    """The answer: the instance (the port's device_id), its project, and what the
    built-in upstream serves (agent/metadata/builtin.py)."""

    instance_id: str
    project_id: str                 # "" when the port has none
    port: MetadataPort
    network: MetadataNetwork
    subnets: list[MetadataSubnet]   # by id
    floating_ips: list[str]         # addresses of the floating IPs on the port, sorted
