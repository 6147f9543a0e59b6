"""What the L3 agent wants on its host, and the steps from what is there.

Pure functions (no kernel, no bus), unit-tested in tests/unit/agent:

* `layout(desired, settings)`: the server's "l3" desired state (docs/rpc.md) turned
  into one `RouterSpec` per router this agent realises: namespace
  ``qrouter-<router id>``; per interface a veth pair ``tap<port[:11]>`` (host side,
  which the Linux bridge agent puts in the network's bridge ``brq<net[:11]>``: the
  port is bound to this host) and ``qr-<port[:11]>`` inside, with the port's MAC,
  the network's MTU and the port's addresses; the gateway the same with
  ``qg-<port[:11]>``, which also carries each floating IP as a /32; routes: the
  default route via the external subnet's gateway (per IP version) and the extra
  ``routes``; the NAT table (nat.py). A router that is admin down, or internal
  only with ``handle_internal_only_routers`` off, is not realised: its namespace
  goes (no forwarding, its addresses answer nothing) and its floating IPs are DOWN.
* `plan_router(want, have)`: the actions that turn one router namespace as observed
  (`RouterSnapshot`) into its spec, only the difference, in an order that works:
  the namespace, stale ``qr-``/``qg-`` links, links (recreated when half there),
  addresses, routes. Only ``qr-``/``qg-`` links and routes with a gateway are ever
  deleted (the loopback and what the kernel adds stay).
* `stale_namespaces`, `announcements` (gratuitous ARP for IPv4 addresses that
  appear on the gateway), `floatingip_statuses` (what to report).

A HA router (ha.py) has the same namespace, links and NAT, plus its HA interface
``ha-<port[:11]>`` with that port's own address; its interfaces' and gateway's
addresses, floating IPs and routes are keepalived's (`RouterSpec.owned_*`): the
plan neither adds nor removes them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from neutrino.agent.common.actions import Action as Action
from neutrino.agent.common.actions import act as _act
from neutrino.agent.common.privileged import Link
from neutrino.agent.l3 import ha, nat
from neutrino.agent.l3.nat import NatSettings, NatTable
from neutrino.contract.l3 import L3State

NAMESPACE_PREFIX = "qrouter-"
INTERNAL_PREFIX = nat.INTERNAL_PREFIX
GATEWAY_PREFIX = nat.GATEWAY_PREFIX
TAP_PREFIX = "tap"
HA_PREFIX = "ha-"
DEVICE_PREFIXES = (INTERNAL_PREFIX, GATEWAY_PREFIX, HA_PREFIX)
# The router namespace's loopback carries this alias and the agent's host: agents
# that do not own every qrouter- namespace of the machine (tests playing several
# hosts) recognise theirs by it.
OWNER_ALIAS = "neutrino-l3-agent host={}"
SYSCTLS = {"net/ipv4/ip_forward": "1", "net/ipv6/conf/all/forwarding": "1"}

ACTIVE, DOWN = "ACTIVE", "DOWN"


def namespace_name(router_id: str) -> str:
    return NAMESPACE_PREFIX + router_id


def router_of(namespace: str) -> str | None:
    return namespace[len(NAMESPACE_PREFIX):] if namespace.startswith(NAMESPACE_PREFIX) \
        else None


def tap_name(port_id: str) -> str:
    return TAP_PREFIX + port_id[:11]


@dataclass(frozen=True)
class Settings:
    """The agent's options as the plan needs them."""

    handle_internal_only_routers: bool = True
    nat: NatSettings = field(default_factory=NatSettings)


@dataclass(frozen=True)
class DeviceSpec:
    name: str                    # qr-<port[:11]> | qg-<port[:11]> (in the namespace)
    tap: str                     # tap<port[:11]> (host side)
    port_id: str
    mac: str
    mtu: int | None
    addresses: frozenset[str]    # "ip/prefixlen"
    gateway: bool = False


@dataclass(frozen=True)
class RouterSpec:
    id: str
    namespace: str
    devices: Mapping[str, DeviceSpec]
    routes: frozenset[tuple[str, str]]      # (destination/prefixlen, nexthop)
    nat: NatTable | None
    floating_ips: tuple[str, ...] = ()       # ids of the floating IPs it carries
    router: Mapping[str, Any] = field(default_factory=dict)  # as the server sent it
    # HA: what keepalived adds and removes (device, address) / (destination, via).
    owned_addresses: frozenset[tuple[str, str]] = frozenset()
    owned_routes: frozenset[tuple[str, str]] = frozenset()


@dataclass
class Layout:
    routers: dict[str, RouterSpec] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # router id -> why not


def _prefix(fixed: Mapping[str, Any]) -> str | None:
    address = fixed.get("ip_address")
    if not address:
        return None
    prefixlen = fixed.get("prefixlen")
    if prefixlen is None and fixed.get("cidr"):
        prefixlen = ipaddress.ip_network(str(fixed["cidr"]), strict=False).prefixlen
    if prefixlen is None:
        return None
    return f"{ipaddress.ip_address(address)}/{prefixlen}"


def _device(port: Mapping[str, Any], gateway: bool, extra: Iterable[str] = ()) -> DeviceSpec:
    prefix = GATEWAY_PREFIX if gateway else INTERNAL_PREFIX
    addresses = {a for a in (_prefix(f) for f in port.get("fixed_ips") or []) if a}
    return DeviceSpec(name=port.get("device") or prefix + port["port_id"][:11],
                      tap=tap_name(port["port_id"]), port_id=port["port_id"],
                      mac=str(port["mac_address"]).lower(), mtu=port.get("mtu") or None,
                      addresses=frozenset(addresses | set(extra)), gateway=gateway)


def _network(value: str) -> str:
    return str(ipaddress.ip_network(value, strict=False))


def routes(router: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    """The default route per IP version of the gateway (via the external subnet's
    gateway) and the extra routes; an extra route to a destination replaces the
    default route to it (one route per destination, as the kernel keeps them)."""
    out: dict[str, str] = {}
    gateway = router.get("gateway") or {}
    for fixed in gateway.get("fixed_ips") or []:
        via = fixed.get("gateway_ip")
        if not via:
            continue
        default = "0.0.0.0/0" if ipaddress.ip_address(via).version == 4 else "::/0"
        out.setdefault(default, str(ipaddress.ip_address(via)))
    for route in sorted(router.get("routes") or [],
                        key=lambda r: (r.get("destination", ""), r.get("nexthop", ""))):
        try:
            out[_network(route["destination"])] = str(ipaddress.ip_address(route["nexthop"]))
        except (KeyError, ValueError):
            continue
    return frozenset(out.items())


def router_refusal(router: Mapping[str, Any], settings: Settings) -> str | None:
    """Why this agent does not realise `router`; None when it does."""
    if not router.get("admin_state_up", True):
        return "admin_state_up is false"
    if not router.get("gateway") and not settings.handle_internal_only_routers:
        return "no external gateway and handle_internal_only_routers is false"
    return None


def router_spec(router: Mapping[str, Any], settings: Settings) -> RouterSpec:
    devices: dict[str, DeviceSpec] = {}
    for interface in router.get("interfaces") or []:
        spec = _device(interface, gateway=False)
        devices[spec.name] = spec
    table = nat.render(router, settings.nat)
    mappings = nat.floating_mappings(router)
    # Floating IPs with port forwardings are carried (and answer ARP) the same way.
    forwarded = nat.forwarded_addresses(router)
    gateway = router.get("gateway")
    if gateway:
        spec = _device(gateway, gateway=True,
                       extra=(f"{f}/32" for f in [*mappings, *forwarded]))
        devices[spec.name] = spec
    carried = tuple(sorted(f["id"] for f in router.get("floating_ips") or []
                           if f.get("floating_ip_address") in mappings
                           or f.get("floating_ip_address") in forwarded))
    wanted_routes = routes(router)
    owned: frozenset[tuple[str, str]] = frozenset()
    owned_routes: frozenset[tuple[str, str]] = frozenset()
    if ha.is_ha(router):
        # keepalived holds the addresses and routes on the active agent only.
        devices = {name: replace(device, addresses=frozenset())
                   for name, device in devices.items()}
        interface = router.get("ha_interface")
        if interface:
            device = _device(interface, gateway=False)
            devices[device.name] = replace(device, name=ha.ha_device(router) or device.name)
        owned = ha.owned_addresses(router)
        owned_routes, wanted_routes = wanted_routes, frozenset()
    return RouterSpec(id=router["id"], namespace=namespace_name(router["id"]),
                      devices=devices, routes=wanted_routes, nat=table,
                      floating_ips=carried, router=router, owned_addresses=owned,
                      owned_routes=owned_routes)


def layout(desired: L3State, settings: Settings) -> Layout:
    out = Layout()
    for router in desired.get("routers") or []:
        why = router_refusal(router, settings)
        if why is not None:
            out.skipped[router["id"]] = why
            continue
        out.routers[router["id"]] = router_spec(router, settings)
    return out


def stale_namespaces(want: Layout, present: Iterable[str]) -> list[str]:
    """Router namespaces (of ours: the caller filters) with no router to realise."""
    return sorted(ns for ns in present
                  if ns.startswith(NAMESPACE_PREFIX) and router_of(ns) not in want.routers)


# -- one router's namespace -----------------------------------------------------------


@dataclass
class RouterSnapshot:
    """One router namespace as the kernel shows it."""

    exists: bool = False
    links: dict[str, Link] = field(default_factory=dict)           # inside
    addresses: dict[str, set[str]] = field(default_factory=dict)   # qr-/qg- links
    routes: set[tuple[str, str]] = field(default_factory=set)     # with a gateway
    taps: dict[str, Link] = field(default_factory=dict)             # host side, ours
    alias: str | None = None        # of its loopback: which agent's it is


# Action (agent/common/actions.py): `op` names an operation of the reconciler.


def _address_key(address: str) -> tuple[int, int, int]:
    iface = ipaddress.ip_interface(address)
    return iface.version, int(iface.ip), iface.network.prefixlen


def _route_key(route: tuple[str, str]) -> tuple[int, int, int, str]:
    net = ipaddress.ip_network(route[0])
    return net.version, int(net.network_address), net.prefixlen, route[1]


def plan_router(want: RouterSpec, have: RouterSnapshot) -> list[Action]:
    ns = want.namespace
    actions: list[Action] = []
    if not have.exists:
        actions.append(_act("create_namespace", ns))
    # 1. Links of ports gone (their veth peer, the tap, goes with them).
    for name in sorted(have.links):
        if name.startswith(DEVICE_PREFIXES) and name not in want.devices:
            actions.append(_act("delete_link", name))
    # A link made anew or an address removed: the routes through it may be gone.
    disturbed = False
    # 2. Each port's veth pair: made when either end is missing.
    for name, spec in sorted(want.devices.items()):
        link, tap = have.links.get(name), have.taps.get(spec.tap)
        fresh = link is None or tap is None
        if fresh:
            actions.append(_act("add_veth", name, tap=spec.tap))
            disturbed = True
        changes: dict[str, object] = {}
        if fresh or (link is not None and (link.mac or "").lower() != spec.mac):
            changes["mac"] = spec.mac
        if spec.mtu and (fresh or (link is not None and link.mtu != spec.mtu)):
            changes["mtu"] = spec.mtu
        if changes:
            actions.append(_act("set_link", name, **changes))
        if fresh or (link is not None and not link.up):
            actions.append(_act("set_link", name, up=True))
        tap_changes: dict[str, object] = {}
        if spec.mtu and (fresh or (tap is not None and tap.mtu != spec.mtu)):
            tap_changes["mtu"] = spec.mtu
        if fresh or (tap is not None and not tap.up):
            tap_changes["up"] = True
        if tap_changes:
            actions.append(_act("set_tap", spec.tap, **tap_changes))
    # 3. Addresses: the unwanted first (a prefix length may have changed).
    for name, spec in sorted(want.devices.items()):
        current = set() if _is_fresh(actions, name) else have.addresses.get(name, set())
        for address in sorted(current - spec.addresses, key=_address_key):
            if (name, address) in want.owned_addresses:
                continue  # keepalived's
            actions.append(_act("delete_address", name, address=address))
            disturbed = True
        for address in sorted(spec.addresses - current, key=_address_key):
            actions.append(_act("add_address", name, address=address))
    # 4. Routes (replace: adding one that is there is harmless).
    for route in sorted(have.routes - want.routes - want.owned_routes, key=_route_key):
        actions.append(_act("delete_route", route[0], via=route[1]))
    missing = want.routes if disturbed else want.routes - have.routes
    for route in sorted(missing, key=_route_key):
        actions.append(_act("add_route", route[0], via=route[1]))
    return actions


def _is_fresh(actions: list[Action], name: str) -> bool:
    return any(a.op == "add_veth" and a.name == name for a in actions)


def announcements(want: RouterSpec, done: Iterable[Action]) -> list[tuple[str, str, str]]:
    """(device, address, mac) for gratuitous ARP: the IPv4 addresses that were just
    added on the gateway device (its own address, floating IPs)."""
    out = []
    for action in done:
        spec = want.devices.get(action.name)
        if action.op != "add_address" or spec is None or not spec.gateway:
            continue
        iface = ipaddress.ip_interface(str(action.kwargs()["address"]))
        if iface.version == 4:
            out.append((spec.name, str(iface.ip), spec.mac))
    return out


# -- floating IP status ----------------------------------------------------------------


def floatingip_statuses(desired: L3State, want: Layout,
                        failed: Iterable[str] = ()) -> dict[str, dict[str, str]]:
    """Per router, the floating IPs whose status the server must change: ACTIVE
    when the router carries them (realised, its apply went through), DOWN when it
    does not (admin down, not realised, no gateway). Routers whose apply failed
    report nothing (the next sync will)."""
    failed = set(failed)
    out: dict[str, dict[str, str]] = {}
    for router in desired.get("routers") or []:
        if router["id"] in failed:
            continue
        spec = want.routers.get(router["id"])
        carried = set(spec.floating_ips) if spec is not None else set()
        changes = {}
        for fip in router.get("floating_ips") or []:
            status = ACTIVE if fip["id"] in carried else DOWN
            if fip.get("status") != status:
                changes[fip["id"]] = status
        if changes:
            out[router["id"]] = changes
    return out
