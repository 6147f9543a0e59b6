"""IPv6 router advertisements of a router: its ``radvd.conf``, as a value.

Pure (no kernel, no files), unit-tested in tests/unit/agent/test_l3_ra.py. From
the router as the "l3" desired state carries it (docs/rpc.md: each interface's
``fixed_ips`` with their subnet's ``ipv6_ra_mode``, ``ipv6_address_mode`` and
``dns_nameservers``), per internal interface ``qr-<port[:11]>``:

* only the IPv6 subnets whose ``ipv6_ra_mode`` is set are advertised; an
  interface without one gets no ``interface`` block (upstream: no ra_mode, no RA
  from the router: addresses come from elsewhere or statically); a router with no
  such interface gets no radvd at all (`render` returns None);
* ``slaac`` and ``dhcpv6-stateless`` prefixes: ``AdvAutonomous on`` (hosts make
  their address from the prefix); ``dhcpv6-stateful``: ``AdvAutonomous off``;
* ``AdvOtherConfigFlag on`` (O: other configuration by DHCPv6) when one of the
  interface's subnets is ``dhcpv6-stateless``, ``AdvManagedFlag on`` (M: addresses
  by DHCPv6) when one is ``dhcpv6-stateful``;
* ``AdvLinkMTU`` the network's MTU when IPv6 can use it (>= 1280);
* ``RDNSS`` the ``dns_nameservers`` of the interface's ``slaac`` subnets (IPv6
  ones, at most three, the option's usual limit), as upstream: the DHCPv6 modes
  give the name servers by DHCPv6.

The rendering is deterministic (sorted interfaces, prefixes in subnet order), so
"the text differs" is exactly "radvd must reload" (radvd.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from neutrino.agent.l3.nat import INTERNAL_PREFIX

SLAAC = "slaac"
DHCPV6_STATELESS = "dhcpv6-stateless"
DHCPV6_STATEFUL = "dhcpv6-stateful"
RA_MODES = (SLAAC, DHCPV6_STATELESS, DHCPV6_STATEFUL)
AUTONOMOUS_MODES = (SLAAC, DHCPV6_STATELESS)
IPV6_MIN_MTU = 1280
MAX_RDNSS = 3


@dataclass(frozen=True)
class RaSettings:
    """The agent's RA options (upstream's names in l3_agent.ini)."""

    min_rtr_adv_interval: int = 30   # seconds between unsolicited RAs, at least
    max_rtr_adv_interval: int = 100  # and at most


@dataclass(frozen=True)
class Prefix:
    cidr: str
    ra_mode: str

    @property
    def autonomous(self) -> bool:
        return self.ra_mode in AUTONOMOUS_MODES


@dataclass(frozen=True)
class Advertised:
    """One internal interface the router advertises on."""

    device: str
    prefixes: tuple[Prefix, ...]
    mtu: int | None
    dns_servers: tuple[str, ...]

    @property
    def managed(self) -> bool:      # M flag
        return any(p.ra_mode == DHCPV6_STATEFUL for p in self.prefixes)

    @property
    def other_config(self) -> bool:  # O flag
        return any(p.ra_mode == DHCPV6_STATELESS for p in self.prefixes)


def _is_v6(fixed: Mapping[str, Any]) -> bool:
    if fixed.get("ip_version") is not None:
        return int(fixed["ip_version"]) == 6
    cidr = fixed.get("cidr")
    return bool(cidr) and ipaddress.ip_network(str(cidr), strict=False).version == 6


def _dns_servers(fixed_ips: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    out: list[str] = []
    for fixed in fixed_ips:
        if fixed.get("ipv6_ra_mode") != SLAAC:
            continue
        for server in fixed.get("dns_nameservers") or []:
            try:
                address = ipaddress.ip_address(str(server))
            except ValueError:
                continue
            if address.version == 6 and str(address) not in out:
                out.append(str(address))
    return tuple(out[:MAX_RDNSS])


def advertised(interface: Mapping[str, Any]) -> Advertised | None:
    """What the router advertises on one internal interface; None: nothing."""
    fixed_ips = [f for f in interface.get("fixed_ips") or []
                 if _is_v6(f) and f.get("ipv6_ra_mode") in RA_MODES and f.get("cidr")]
    prefixes: list[Prefix] = []
    for fixed in fixed_ips:
        prefix = Prefix(str(ipaddress.ip_network(str(fixed["cidr"]), strict=False)),
                        str(fixed["ipv6_ra_mode"]))
        if prefix not in prefixes:
            prefixes.append(prefix)
    if not prefixes:
        return None
    port_id = str(interface["port_id"])
    mtu = interface.get("mtu")
    return Advertised(device=str(interface.get("device") or INTERNAL_PREFIX + port_id[:11]),
                      prefixes=tuple(prefixes),
                      mtu=int(mtu) if mtu and int(mtu) >= IPV6_MIN_MTU else None,
                      dns_servers=_dns_servers(fixed_ips))


def advertisements(router: Mapping[str, Any]) -> list[Advertised]:
    """The router's advertised interfaces, sorted by device name."""
    out = [a for a in (advertised(i) for i in router.get("interfaces") or []) if a]
    return sorted(out, key=lambda a: a.device)


def _flag(on: bool) -> str:
    return "on" if on else "off"


def _interface_block(item: Advertised, settings: RaSettings) -> list[str]:
    lines = [f"interface {item.device}", "{",
             "    AdvSendAdvert on;",
             f"    MinRtrAdvInterval {settings.min_rtr_adv_interval};",
             f"    MaxRtrAdvInterval {settings.max_rtr_adv_interval};"]
    if item.mtu:
        lines.append(f"    AdvLinkMTU {item.mtu};")
    lines += [f"    AdvManagedFlag {_flag(item.managed)};",
              f"    AdvOtherConfigFlag {_flag(item.other_config)};"]
    if item.dns_servers:
        lines.append(f"    RDNSS {' '.join(item.dns_servers)} {{}};")
    for prefix in item.prefixes:
        lines += [f"    prefix {prefix.cidr}", "    {",
                  "        AdvOnLink on;",
                  f"        AdvAutonomous {_flag(prefix.autonomous)};",
                  "    };"]
    lines.append("};")
    return lines


def render(router: Mapping[str, Any], settings: RaSettings) -> str | None:
    """The router's radvd.conf; None when it advertises on no interface."""
    items = advertisements(router)
    if not items:
        return None
    lines = [f"# radvd of router {router.get('id', '')}, written by neutrino-l3-agent"]
    for item in items:
        lines += _interface_block(item, settings)
    return "\n".join(lines) + "\n"
