"""A router's NAT as one nftables ``ip`` table in its namespace: a router of the
"l3" desired state in, the table's text out. Pure (no I/O).

::

  table ip neutrino-nat {
    comment "neutrino sha256=<16 hex>"       the digest of everything below
    chain prerouting {
      type nat hook prerouting priority dstnat; policy accept;
      iifname "qr-*" ip daddr 169.254.169.254 tcp dport 80 redirect to :9697
                                             metadata (enable_metadata_proxy)
      ip daddr <floating> tcp dport <ext> dnat to <internal>:<port>
                                             per port forwarding (below)
      ip daddr <floating> dnat to <fixed>    per floating IP
    }
    chain output {                           the router's own packets to a
      type nat hook output priority -100; policy accept;        floating IP
      ip daddr <floating> dnat to <fixed>
    }
    chain postrouting {                      only with an IPv4 gateway
      type nat hook postrouting priority srcnat; policy accept;
      oifname != "qg-…" ct status != dnat accept      no NAT between internal
                                                      subnets (nor extra routes)
      ip saddr <local> ip daddr <peer> accept         per VPN site connection
                                                      (vpn/render.py): tunnelled
      ip saddr <fixed> snat to <floating>             per floating IP
      oifname "qg-…" snat to <gateway address>        enable_snat
      iifname != "qg-…" ct status dnat snat to <gateway address>
    }                                        enable_snat: an internal VM reaching
                                             another's floating IP (hairpin) gets
                                             the answer back through the router
    chain input {                            enable_metadata_proxy: the proxy
      type filter hook input priority 0; policy accept;     listens on every
      iifname "qr-*" ct status dnat tcp dport 9697 accept   address; only what
      tcp dport 9697 drop                    the redirect above sent from an
    }                                        internal port reaches it (never the
  }                                          external side, nor a VM directly)

This is upstream's iptables NAT of a legacy router (``neutron-l3-agent-*``
chains) in nft terms: the SNAT rules only meet a connection's first packet
leaving through the gateway or one that was DNATed; traffic between the router's
internal subnets is routed as is. IPv6 is never translated (no ``ip6`` table),
as upstream. A chain without rules is left out; a router without any rule gets
no table at all.

Port forwardings (floating-ip-port-forwarding) of a floating IP without a port:
one DNAT rule each, in prerouting and output, matching the protocol and external
port(s): ``tcp dport 8080 dnat to 10.0.0.5:80`` for one port, ``tcp dport
9000-9009 dnat to 10.0.0.5:80`` for N:1, and for N:N ranges a map from each
external port to its internal one (``dnat to ip daddr . tcp dport map { F . 9000
: 10.0.0.5 . 8000, ... }``; nft has no port offset). Only protocols with ports
(tcp, udp, sctp, dccp) are rendered. Replies are translated back by conntrack; a
VM reaching a forwarding of its own router comes back through the hairpin SNAT.
A forwarding that goes has its tracked connections deleted (the old ones are read
back from the kernel's table, as the floating IP mappings).

The agent compares the digest in the kernel's table comment with the rendered
one and replaces the whole table in one ``nft -f`` batch only when they differ.
When a floating IP's mapping goes (disassociated, deleted, moved to another fixed
IP), its tracked connections are deleted (`connections_to_cut`): the old mappings
are read back from the kernel's table (`mappings`), so nothing is remembered.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neutrino.agent.firewall.conntrack import Entry
from neutrino.agent.l3.vpn import render as vpn_render

FAMILY = "ip"
TABLE = "neutrino-nat"
COMMENT_PREFIX = "neutrino sha256="
DIGEST_LEN = 16
METADATA_ADDRESS = "169.254.169.254"
METADATA_PORT = 9697  # upstream's: where the router's metadata proxy listens
INTERNAL_PREFIX = "qr-"
GATEWAY_PREFIX = "qg-"
_DNAT = re.compile(r"^ip daddr (\S+) dnat to (\S+)$")
_EXEMPT = re.compile(r"^ip saddr (\S+) ip daddr (\S+) accept$")
_FORWARD = re.compile(r"^ip daddr (\S+) (tcp|udp|sctp|dccp) dport (\d+)(?:-(\d+))? "
                      r"dnat (?:ip )?to (.*)$")
# Protocols whose ports nft matches, and their numbers (conntrack's).
PORTED = {"tcp": 6, "udp": 17, "dccp": 33, "sctp": 132}


@dataclass(frozen=True)
class NatSettings:
    """The agent's options as the renderer needs them."""

    enable_metadata_proxy: bool = False
    metadata_port: int = METADATA_PORT


@dataclass(frozen=True)
class NatTable:
    """The rendered table: its ``nft -f`` text (comment included), the comment the
    kernel will report for it, and the floating IP mappings it holds."""

    text: str
    comment: str
    mappings: Mapping[str, str] = field(default_factory=dict)  # floating -> fixed
    forwarded: frozenset[Forwarded] = frozenset()  # its port forwardings' keys


@dataclass(frozen=True, order=True)
class Forwarded:
    """What identifies a port forwarding in the kernel's table: the floating
    address, protocol, external ports and where they go (``ip:port``, or "map"
    for N:N ranges)."""

    floating: str
    protocol: str
    first: int
    last: int
    target: str


# -- what the router asks for ------------------------------------------------------


def _v4(address: Any) -> str | None:
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        return None
    return str(ip) if ip.version == 4 else None


def gateway_address(router: Mapping[str, Any]) -> str | None:
    """The router's IPv4 address on the external network (the SNAT source)."""
    gateway = router.get("gateway") or {}
    for fixed in gateway.get("fixed_ips") or []:
        address = _v4(fixed.get("ip_address"))
        if address:
            return address
    return None


def gateway_device(router: Mapping[str, Any]) -> str | None:
    gateway = router.get("gateway") or {}
    if not gateway:
        return None
    return str(gateway.get("device") or GATEWAY_PREFIX + gateway["port_id"][:11])


def floating_mappings(router: Mapping[str, Any]) -> dict[str, str]:
    """floating -> fixed IPv4 address of the router's floating IPs that have both;
    none without an IPv4 gateway (nothing could carry them)."""
    if gateway_address(router) is None:
        return {}
    out: dict[str, str] = {}
    for fip in router.get("floating_ips") or []:
        floating, fixed = _v4(fip.get("floating_ip_address")), _v4(fip.get("fixed_ip_address"))
        if floating and fixed:
            out[floating] = fixed
    return dict(sorted(out.items(), key=lambda item: ipaddress.ip_address(item[0])))


def internal_networks(router: Mapping[str, Any]) -> list[ipaddress.IPv4Network]:
    """The IPv4 subnets of the router's interfaces."""
    nets = set()
    for interface in router.get("interfaces") or []:
        for fixed in interface.get("fixed_ips") or []:
            try:
                net = ipaddress.ip_network(str(fixed.get("cidr")), strict=False)
            except ValueError:
                continue
            if net.version == 4:
                nets.add(net)
    return sorted(nets)


def _has_ipv4_interface(router: Mapping[str, Any]) -> bool:
    return any(_v4(fixed.get("ip_address"))
               for interface in router.get("interfaces") or []
               for fixed in interface.get("fixed_ips") or [])


@dataclass(frozen=True)
class Forwarding:
    """A port forwarding as the renderer needs it."""

    floating: str
    protocol: str
    external: tuple[int, int]
    internal_ip: str
    internal: tuple[int, int]

    @property
    def key(self) -> Forwarded:
        single = self.internal[0] == self.internal[1] or self.external[0] == self.external[1]
        target = f"{self.internal_ip}:{self.internal[0]}" if single else "map"
        return Forwarded(self.floating, self.protocol, *self.external, target)

    def rule(self) -> str:
        (e0, e1), (i0, i1) = self.external, self.internal
        dport = f"{self.protocol} dport {e0}" if e0 == e1 else \
            f"{self.protocol} dport {e0}-{e1}"
        head = f"ip daddr {self.floating} {dport}"
        if i0 == i1 or e0 == e1:
            return f"{head} dnat to {self.internal_ip}:{i0}"
        elements = ", ".join(f"{self.floating} . {e0 + k} : {self.internal_ip} . {i0 + k}"
                             for k in range(e1 - e0 + 1))
        return f"{head} dnat to ip daddr . {self.protocol} dport map {{ {elements} }}"


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and 1 <= value <= 65535 else None


def forwardings(router: Mapping[str, Any]) -> list[Forwarding]:
    """The port forwardings the router can carry (an IPv4 gateway, a floating IP
    without a port, a protocol with ports, ranges that fit: N:N or N:1), sorted."""
    if gateway_address(router) is None:
        return []
    out = []
    for fip in router.get("floating_ips") or []:
        floating = _v4(fip.get("floating_ip_address"))
        if not floating or fip.get("fixed_ip_address"):
            continue
        for pf in fip.get("port_forwardings") or []:
            internal_ip = _v4(pf.get("internal_ip_address"))
            ports = [_port(pf.get(k)) for k in ("external_port_start", "external_port_end",
                                                "internal_port_start", "internal_port_end")]
            e0, e1, i0, i1 = ports
            if (pf.get("protocol") not in PORTED or internal_ip is None
                    or e0 is None or e1 is None or i0 is None or i1 is None
                    or e0 > e1 or i0 > i1 or (i0 != i1 and i1 - i0 != e1 - e0)):
                continue
            out.append(Forwarding(floating, str(pf["protocol"]), (e0, e1), internal_ip,
                                  (i0, i1)))
    return sorted(out, key=lambda f: (ipaddress.ip_address(f.floating), f.protocol,
                                      f.external, f.internal_ip, f.internal))


def forwarded_addresses(router: Mapping[str, Any]) -> list[str]:
    """The floating addresses that carry port forwardings (on the gateway as /32)."""
    return sorted({f.floating for f in forwardings(router)}, key=ipaddress.ip_address)


# -- rendering ---------------------------------------------------------------------


def chains(router: Mapping[str, Any], settings: NatSettings) -> dict[str, list[str]]:
    """The rules of each chain (prerouting, output, postrouting), in order; a chain
    without rules is absent."""
    mappings = floating_mappings(router)
    gateway, qg = gateway_address(router), gateway_device(router)
    prerouting: list[str] = []
    if settings.enable_metadata_proxy and _has_ipv4_interface(router):
        # -- metadata: the proxy of this router listens on metadata_port in its
        # namespace (agent/l3/proxies.py MetadataProxies provides it).
        prerouting.append(f'iifname "{INTERNAL_PREFIX}*" ip daddr {METADATA_ADDRESS} '
                          f"tcp dport 80 redirect to :{settings.metadata_port}")
    dnat = [f.rule() for f in forwardings(router)]
    dnat += [f"ip daddr {floating} dnat to {fixed}" for floating, fixed in mappings.items()]
    prerouting += dnat
    postrouting: list[str] = []
    if gateway is not None and qg is not None:
        postrouting.append(f'oifname != "{qg}" ct status != dnat accept')
        # VPNaaS: what goes between a site connection's local and peer CIDRs is
        # tunnelled as it is, never SNATed (upstream's ACCEPT before its SNAT).
        postrouting += [f"ip saddr {local} ip daddr {peer} accept"
                        for local, peer in vpn_render.nat_exemptions(router)]
        postrouting += [f"ip saddr {fixed} snat to {floating}"
                        for floating, fixed in mappings.items()]
        if router.get("enable_snat", True):
            postrouting.append(f'oifname "{qg}" snat to {gateway}')
            postrouting.append(f'iifname != "{qg}" ct status dnat snat to {gateway}')
    out = {"prerouting": prerouting, "output": list(dnat), "postrouting": postrouting,
           "input": metadata_guard(settings)}
    return {name: rules for name, rules in out.items() if rules}


def metadata_guard(settings: NatSettings) -> list[str]:
    """The router's metadata proxy (in every router namespace when enabled) is
    reached only through the redirect from an internal port (upstream drops the
    rest in its INPUT chain too)."""
    if not settings.enable_metadata_proxy:
        return []
    port = settings.metadata_port
    return [f'iifname "{INTERNAL_PREFIX}*" ct status dnat tcp dport {port} accept',
            f"tcp dport {port} drop"]


HOOKS = {"prerouting": "type nat hook prerouting priority dstnat; policy accept;",
         "output": "type nat hook output priority -100; policy accept;",
         "postrouting": "type nat hook postrouting priority srcnat; policy accept;",
         "input": "type filter hook input priority 0; policy accept;"}


def render(router: Mapping[str, Any], settings: NatSettings) -> NatTable | None:
    """The NAT table of one router; None when it needs no rule (then there must be
    no table)."""
    rules = chains(router, settings)
    if not rules:
        return None
    lines: list[str] = []
    for name in HOOKS:
        if name in rules:
            lines += [f"\tchain {name} {{", f"\t\t{HOOKS[name]}",
                      *(f"\t\t{rule}" for rule in rules[name]), "\t}"]
    body = "".join(line + "\n" for line in lines)
    comment = COMMENT_PREFIX + hashlib.sha256(body.encode()).hexdigest()[:DIGEST_LEN]
    text = f"table {FAMILY} {TABLE} {{\n\tcomment \"{comment}\"\n{body}}}\n"
    return NatTable(text=text, comment=comment, mappings=floating_mappings(router),
                    forwarded=frozenset(f.key for f in forwardings(router)))


def replace_batch(table: NatTable) -> str:
    """``nft -f`` input that replaces our table by `table` atomically (declaring it
    first makes the delete safe when there is none yet)."""
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n" + table.text


def delete_batch() -> str:
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"


# -- the kernel's table --------------------------------------------------------------


def comment(listing: str | None) -> str | None:
    """The comment of a table as ``nft list table`` prints it ("" without one);
    None when there is no table."""
    if listing is None:
        return None
    for line in listing.splitlines()[1:]:
        line = line.strip()
        if line.startswith('comment "') and line.endswith('"'):
            return line[len('comment "'):-1]
        if line:  # the comment comes before the chains
            break
    return ""


def mappings(listing: str | None) -> dict[str, str]:
    """floating -> fixed of the DNAT rules of a listed table (the mappings the
    kernel holds now)."""
    out: dict[str, str] = {}
    for line in (listing or "").splitlines():
        found = _DNAT.match(line.strip())
        if found:
            out[found.group(1)] = found.group(2)
    return out


def exemptions(listing: str | None) -> set[tuple[str, str]]:
    """The (local, peer) VPN exemptions of a listed table."""
    out = set()
    for line in (listing or "").splitlines():
        found = _EXEMPT.match(line.strip())
        if found:
            out.add((found.group(1), found.group(2)))
    return out


def forwarded(listing: str | None) -> set[Forwarded]:
    """The port forwardings of a listed table (what the kernel forwards now)."""
    out = set()
    for line in (listing or "").splitlines():
        found = _FORWARD.match(line.strip())
        if found:
            floating, protocol, first, last, target = found.groups()
            target = "map" if " map " in f" {target} " else target.strip()
            out.add(Forwarded(floating, protocol, int(first), int(last or first), target))
    return out


def forwardings_to_cut(entries: Iterable[Entry], gone: Iterable[Forwarded]) -> list[Entry]:
    """The tracked connections (original tuples) that came in through port
    forwardings that went: to the floating address, protocol and an external port."""
    gone = list(gone)
    out = []
    for entry in dict.fromkeys(entries):
        if entry.version != 4 or entry.dport is None:
            continue
        if any(entry.dst == g.floating and entry.protocol == PORTED.get(g.protocol)
               and g.first <= entry.dport <= g.last for g in gone):
            out.append(entry)
    return out


def cut_mappings(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """The mappings the kernel held that are no longer wanted as they were."""
    return {floating: fixed for floating, fixed in old.items() if new.get(floating) != fixed}


def addresses_to_list(cut: Mapping[str, str]) -> list[str]:
    """The addresses whose tracked connections to look at for `cut` mappings."""
    return sorted(set(cut) | set(cut.values()), key=ipaddress.ip_address)


def connections_to_cut(entries: Iterable[Entry], cut: Mapping[str, str],
                       internal: Sequence[ipaddress.IPv4Network]) -> list[Entry]:
    """The tracked connections (original tuples) of mappings that went: those sent
    to the floating address (inbound, DNATed), and those from the fixed address to
    outside the router's internal subnets (outbound, SNATed to it). Each once."""
    fixed_of = {ipaddress.ip_address(f): ipaddress.ip_address(x) for f, x in cut.items()}
    fixed = set(fixed_of.values())
    out: list[Entry] = []
    for entry in dict.fromkeys(entries):
        if entry.version != 4:
            continue
        try:
            src, dst = ipaddress.ip_address(entry.src), ipaddress.ip_address(entry.dst)
        except ValueError:
            continue
        inbound = dst in fixed_of
        outbound = src in fixed and not any(dst in net for net in internal)
        if inbound or outbound:
            out.append(entry)
    return out
