"""A HA router's keepalived: the router of the "l3" desired state in, its
``keepalived.conf`` out, and which addresses and routes keepalived owns. Pure (no
I/O).

A HA router (``ha`` true, its VRRP id ``ha_vr_id`` and this host's HA port
``ha_interface``) lives on several L3 agents; each runs keepalived in the router's
namespace. VRRP runs over the ``ha-<port[:11]>`` interface on the project's HA
network; the instance that is MASTER holds the router's addresses and routes, the
BACKUPs hold none of them::

  global_defs { router_id, script security (the notify script runs as root) }
  vrrp_instance VR_<vr id> {
    state BACKUP; nopreempt; priority 50        every agent equal, the first up
                                                wins and keeps it (as upstream)
    interface ha-…; virtual_router_id <vr id>; advert_int <ha_vrrp_advert_int>
    authentication { … }                        with ha_vrrp_auth_password
    track_interface { ha-… }
    virtual_ipaddress { 169.254.0.<vr id>/24 dev ha-… }   the one VIP VRRP carries
    virtual_ipaddress_excluded {                (the others are not in adverts:
      <each qr-/qg- address> dev <device>        VRRP carries at most 20)
      <floating>/32 dev qg-…
    }
    virtual_routes {                            the default route via the external
      <destination> via <nexthop>               gateway, the extra routes
    }
    notify "<notify script>"                    writes active/standby (the agent
  }                                             reports it)

keepalived sends the gratuitous ARPs for the addresses of the instance that
becomes MASTER. The agent itself makes the namespace, the links (the same
port, so the same MAC, on every agent), the HA interface's own address, the NAT
table (on every agent: it names the addresses, which work as soon as they are
there) and never adds or removes what keepalived owns (`owned_addresses`,
`owned_routes`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neutrino.agent.l3 import nat

PRIORITY = 50
# The VIP VRRP itself carries: one per router in its HA network (169.254.0.<vr id>,
# outside the HA subnet's default 169.254.192.0/18).
PRIMARY_VIP = "169.254.0.{}/24"
ACTIVE, STANDBY = "active", "standby"
# keepalived's notify script's third argument -> the state the server is told.
STATES = {"MASTER": ACTIVE, "BACKUP": STANDBY, "FAULT": STANDBY}
AUTH_TYPES = ("PASS", "AH")


@dataclass(frozen=True)
class HaSettings:
    """The agent's options as the renderer needs them."""

    advert_int: int = 2
    auth_type: str = "PASS"
    auth_password: str | None = None
    # Gratuitous ARPs keepalived sends on becoming MASTER (send_arp_for_ha).
    garp_repeat: int = 3


def is_ha(router: Mapping[str, Any]) -> bool:
    return bool(router.get("ha"))


def ha_device(router: Mapping[str, Any]) -> str | None:
    interface = router.get("ha_interface")
    if not interface:
        return None
    return str(interface.get("device") or "ha-" + interface["port_id"][:11])


def ready(router: Mapping[str, Any]) -> bool:
    """A HA router keepalived can run for: its VRRP id and this host's HA port with
    an address."""
    interface = router.get("ha_interface") or {}
    return bool(router.get("ha_vr_id")) and bool(interface.get("fixed_ips"))


def _prefix(fixed: Mapping[str, Any]) -> str | None:
    address, prefixlen = fixed.get("ip_address"), fixed.get("prefixlen")
    if not address:
        return None
    if prefixlen is None:
        prefixlen = ipaddress.ip_network(str(fixed["cidr"]), strict=False).prefixlen
    return f"{ipaddress.ip_address(address)}/{prefixlen}"


def _device_name(port: Mapping[str, Any], gateway: bool) -> str:
    prefix = nat.GATEWAY_PREFIX if gateway else nat.INTERNAL_PREFIX
    return str(port.get("device") or prefix + port["port_id"][:11])


def virtual_addresses(router: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(address/prefixlen, device) keepalived holds besides the primary VIP: the
    interfaces' and the gateway's addresses, each floating IP (mapped or carrying port
    forwardings) as a /32."""
    out: list[tuple[str, str]] = []
    for interface in router.get("interfaces") or []:
        device = _device_name(interface, gateway=False)
        out += [(a, device) for a in (_prefix(f) for f in interface.get("fixed_ips") or [])
                if a]
    gateway = router.get("gateway")
    if gateway:
        device = _device_name(gateway, gateway=True)
        out += [(a, device) for a in (_prefix(f) for f in gateway.get("fixed_ips") or [])
                if a]
        floating = [*nat.floating_mappings(router), *nat.forwarded_addresses(router)]
        out += [(f"{address}/32", device) for address in floating]
    return sorted(set(out), key=lambda item: (_key(item[0]), item[1]))


def _key(address: str) -> tuple[int, int, int]:
    iface = ipaddress.ip_interface(address)
    return iface.version, int(iface.ip), iface.network.prefixlen


def primary_vip(router: Mapping[str, Any]) -> str:
    return PRIMARY_VIP.format(int(router["ha_vr_id"]))


def owned_addresses(router: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    """(device, address/prefixlen) the agent leaves to keepalived."""
    out = {(device, address) for address, device in virtual_addresses(router)}
    device = ha_device(router)
    if device and router.get("ha_vr_id"):
        out.add((device, primary_vip(router)))
    return frozenset(out)


def owned_routes(routes: frozenset[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """The routes keepalived holds: all the router's (default and extra)."""
    return routes


def render(router: Mapping[str, Any], routes: frozenset[tuple[str, str]],
           notify_script: str, settings: HaSettings) -> str | None:
    """The router's keepalived.conf; None when it cannot run yet (no VRRP id or
    no HA port on this host)."""
    if not ready(router):
        return None
    device = ha_device(router)
    vr_id = int(router["ha_vr_id"])
    lines = ["global_defs {",
             f"    router_id neutrino-{router['id'][:8]}",
             "    enable_script_security",
             "    script_user root",
             "}", "",
             f"vrrp_instance VR_{vr_id} {{",
             "    state BACKUP",
             f"    interface {device}",
             f"    virtual_router_id {vr_id}",
             f"    priority {PRIORITY}",
             "    nopreempt",
             f"    advert_int {settings.advert_int}",
             f"    garp_master_repeat {max(1, settings.garp_repeat)}",
             "    garp_master_delay 1"]
    if settings.auth_password:
        lines += ["    authentication {",
                  f"        auth_type {settings.auth_type}",
                  # PASS uses at most 8 characters (keepalived truncates).
                  f"        auth_pass {settings.auth_password}",
                  "    }"]
    lines += ["    track_interface {", f"        {device}", "    }",
              "    virtual_ipaddress {", f"        {primary_vip(router)} dev {device}",
              "    }"]
    addresses = virtual_addresses(router)
    if addresses:
        lines.append("    virtual_ipaddress_excluded {")
        lines += [f"        {address} dev {dev}" for address, dev in addresses]
        lines.append("    }")
    if routes:
        lines.append("    virtual_routes {")
        for destination, via in sorted(routes, key=_route_key):
            dev = _device_of(via, addresses)
            lines.append(f"        {destination} via {via}" + (f" dev {dev}" if dev else ""))
        lines.append("    }")
    lines += [f'    notify "{notify_script}"', "}", ""]
    return "\n".join(lines)


def _device_of(nexthop: str, addresses: list[tuple[str, str]]) -> str | None:
    """The device whose subnet holds `nexthop` (keepalived adds the route there)."""
    address = ipaddress.ip_address(nexthop)
    for prefix, device in addresses:
        network = ipaddress.ip_interface(prefix).network
        if network.prefixlen < network.max_prefixlen and address in network:
            return device
    return None


def _route_key(route: tuple[str, str]) -> tuple[int, int, int, str]:
    net = ipaddress.ip_network(route[0])
    return net.version, int(net.network_address), net.prefixlen, route[1]


def notify_script(state_file: str) -> str:
    """The script keepalived runs on each transition (arguments: type, name,
    state, priority): it writes the state the server is told, atomically."""
    cases = "\n".join(f"    {vrrp}) state={ours} ;;" for vrrp, ours in STATES.items())
    return ("#!/bin/sh\n"
            "# Written by neutrino-l3-agent: keepalived's transitions of one router.\n"
            'case "$3" in\n'
            f"{cases}\n"
            "    *) exit 0 ;;\n"
            "esac\n"
            f'echo "$state" > "{state_file}.tmp" && mv "{state_file}.tmp" "{state_file}"\n')


def parse_state(text: str | None) -> str | None:
    value = (text or "").strip()
    return value if value in (ACTIVE, STANDBY) else None
