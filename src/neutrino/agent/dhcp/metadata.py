"""Metadata for networks the DHCP agent serves (upstream's rules; pure).

A network gets a metadata proxy in its ``qdhcp-`` namespace (169.254.169.254:80 on
the DHCP port's ``ns-`` device) when:

* ``force_metadata``: it has an IPv4 subnet with DHCP on;
* ``enable_metadata_network`` and ``enable_isolated_metadata``: it is a "metadata
  network" (an IPv4 subnet inside 169.254.0.0/16, reached by VMs through a router;
  the proxy then speaks for that router when a router interface is on it);
* ``enable_isolated_metadata``: an IPv4 subnet with DHCP on is isolated, i.e. no
  router interface port holds its gateway address.

The guests of such subnets learn ``169.254.169.254/32 via <the DHCP port's
address>`` (classless static routes, options 121 and 249); with
``enable_isolated_metadata``, subnets that are routed get ``169.254.169.254/32 via
<gateway>`` instead, so a guest that once had the first route stops using it.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

from neutrino.contract.dhcp import DhcpNetwork, DhcpPort, DhcpSubnet

METADATA_CIDR = "169.254.169.254/32"
METADATA_V4_NETWORK = ipaddress.IPv4Network("169.254.0.0/16")
ROUTER_INTERFACE_OWNERS = ("network:router_interface",
                           "network:router_interface_distributed",
                           "network:ha_router_replicated_interface")


class Flags(Protocol):
    """The options that decide (render.Settings has them)."""

    @property
    def enable_isolated_metadata(self) -> bool: ...
    @property
    def force_metadata(self) -> bool: ...
    @property
    def enable_metadata_network(self) -> bool: ...


def _dhcp_v4_subnets(network: DhcpNetwork) -> list[DhcpSubnet]:
    return [s for s in network["subnets"] if s["ip_version"] == 4 and s["enable_dhcp"]]


def _router_ports(network: DhcpNetwork) -> list[DhcpPort]:
    return [p for p in network["ports"] if p["device_owner"] in ROUTER_INTERFACE_OWNERS]


def isolated_subnets(network: DhcpNetwork) -> dict[str, bool]:
    """Per subnet: True unless a router interface port holds its gateway address."""
    routed = {(ip["subnet_id"], ip["ip_address"]) for port in _router_ports(network)
              for ip in port["fixed_ips"]}
    return {s["id"]: not (s["gateway_ip"] and (s["id"], s["gateway_ip"]) in routed)
            for s in network["subnets"]}


def is_metadata_network(network: DhcpNetwork) -> bool:
    return any(isinstance(net, ipaddress.IPv4Network)
               and net.subnet_of(METADATA_V4_NETWORK)
               for net in (ipaddress.ip_network(s["cidr"]) for s in network["subnets"]))


def proxy_target(network: DhcpNetwork, flags: Flags) -> tuple[str, str] | None:
    """Whom the network's proxy speaks for ("network", id) or ("router", id); None:
    no proxy in its namespace."""
    if flags.enable_metadata_network and flags.enable_isolated_metadata \
            and is_metadata_network(network):
        routers = sorted(p["device_id"] for p in _router_ports(network) if p["device_id"])
        return ("router", routers[0]) if routers else ("network", network["id"])
    subnets = _dhcp_v4_subnets(network)
    if flags.force_metadata and subnets:
        return ("network", network["id"])
    if flags.enable_isolated_metadata:
        isolated = isolated_subnets(network)
        if any(isolated[s["id"]] for s in subnets):
            return ("network", network["id"])
    return None


def _dhcp_address(network: DhcpNetwork, subnet_id: str) -> str | None:
    port = network["dhcp_port"]   # None until the agent has its port
    for ip in port["fixed_ips"] if port is not None else []:
        if ip["subnet_id"] == subnet_id:
            return ip["ip_address"]
    return None


def route(network: DhcpNetwork, subnet: DhcpSubnet, flags: Flags) -> str | None:
    """The classless static route to 169.254.169.254 for an IPv4 subnet's guests
    (``destination,nexthop``), or None."""
    if subnet["ip_version"] != 4 or is_metadata_network(network):
        return None
    isolated = isolated_subnets(network).get(subnet["id"], True)
    if flags.force_metadata or (flags.enable_isolated_metadata and isolated):
        address = _dhcp_address(network, subnet["id"])
        return f"{METADATA_CIDR},{address}" if address else None
    if flags.enable_isolated_metadata and subnet["gateway_ip"]:
        return f"{METADATA_CIDR},{subnet['gateway_ip']}"
    return None
