"""Security groups as OpenFlow flows on br-int: the "l2" desired state and each
port's ofport and local VLAN in, ``ovs-ofctl add-flows`` lines out, grouped by
cookie (one cookie per port, one for the shared flows). Pure (no I/O).

The layout is upstream's OVS firewall (so operators read the same tables);
"ingress" is towards the VM, "egress" from it::

  table 60 (the agent's, plan.transient_flows; upstream's):
                     in_port=<ofport>           -> reg5=<ofport>, reg6=<local VLAN>, 71
                     dl_vlan=<tag>,dl_dst=<mac> -> reg5, reg6, pop_vlan, 81
                     (one per MAC of the port: its own and its address pairs')
  71 egress base     anti-spoofing: ARP (arp_sha, arp_spa) -> 94, DHCP client -> 73,
                     DHCP server / RA from the VM dropped, ND (nd_target) and MLD
                     -> 94, IP from the port's MAC/address pairs -> ct(table=72,
                     zone=reg6) (stateless: straight to 72); the rest -> 93
  72 egress rules    +inv and ct_mark=1 dropped; replies (+est+rpl) and related
                     accepted; a rule accepts +new and +est-rpl -> 73; an
                     established connection no rule allows any more is marked
                     (ct_mark=1, committed) and dropped: that is how a removed
                     rule cuts the connections it had allowed (then its
                     replies drop too; its original direction still meets the
                     rules, and is unmarked in 91/92 if a rule allows it again)
  73 accepted egress to a port of this host (reg6 + dl_dst) -> reg5=<its ofport>,
                     81 (its ingress filter; committed there); else +new
                     committed (ct(commit,zone=reg6)) -> 91 -> 94 (NORMAL)
  81 ingress base    ARP, ND/MLD/RA, DHCP offers -> 92; IP ->
                     ct(table=82,zone=reg6) (stateless: 82); the rest -> 93
  82 ingress rules   as 72, accepted -> 92
  92 accepted ingress  +new committed, output:<ofport>
  93 dropped         drop

reg5 holds the port's ofport, reg6 the network's local VLAN, which is also the
conntrack zone (one zone per network, so overlapping addresses of two networks
never share a connection). A port without port security (or a trusted
``network:*`` port) gets only its dispatch flows: 71 -> 73, 81 -> 92.

Rules with a remote group or an address group are conjunctions, as upstream's:
clause 1/2, the member addresses, is shared by every port of the network (one flow
per member, ``reg6=<vlan>,nw_src=<member> actions=conjunction(id,1/2),...`` with an
id per (network, security group, remote, direction, version)) and carries its own
cookie (`group_cookie`); clause 2/2 (protocol and ports) and the ``conj_id`` flow
are the port's. A membership change rewrites the group's flows only, and N ports
of one group cost N + members flows, not N x members.
"""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from neutrino.agent.firewall import render as iptables
from neutrino.contract.l2 import L2Port, L2State, SecurityGroupRule

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")

COOKIE_BASE = 0x6E66777300000000     # "nfws": the firewall's flows, and only them
COOKIE_MASK = 0xFFFFFFFF00000000
SHARED = COOKIE_BASE                  # the flows every port uses

# Tables (upstream's numbers).
DISPATCH = 60
BASE_EGRESS, RULES_EGRESS, ACCEPT_OR_INGRESS = 71, 72, 73
BASE_INGRESS, RULES_INGRESS = 81, 82
ACCEPTED_EGRESS, ACCEPTED_INGRESS, DROPPED = 91, 92, 93
NORMAL = 94                           # the agent's: priority=1 actions=NORMAL
TABLES = range(71, 94)

ZONE = "NXM_NX_REG6[0..15]"
CT_MARK_INVALID = "0x1"
# A marked connection some rule allows again (its original direction passed the
# rules of both ends): unmarked, so its replies pass too.
UNMARK = f"ct(commit,zone={ZONE},exec(set_field:0->ct_mark))"
ICMPV6_EGRESS = (130, 131, 132, 133, 135, 143)   # MLD, RS, NS (NA: own targets only)
ICMPV6_NA, ICMPV6_RA = 136, 134
ICMPV6_INGRESS = (130, 131, 132, 134, 135, 136, 143)   # MLD, RA, NS, NA
PORT_PROTOCOLS = {"tcp", "udp", "sctp"}           # those OpenFlow matches ports of
IP = {4: "ip", 6: "ipv6"}
SRC = {4: "nw_src", 6: "ipv6_src"}
DST = {4: "nw_dst", 6: "ipv6_dst"}


@dataclass(frozen=True)
class Binding:
    """Where a port is on br-int: its OpenFlow port number and its network's local
    VLAN (the agent's; also the conntrack zone)."""

    ofport: int
    vlan: int


def port_cookie(ofport: int) -> int:
    return COOKIE_BASE | ofport


# (local VLAN, "rg" | "ag", remote group or address group id, direction, version)
RemoteKey = tuple[int, str, str, str, int]
GROUP_COOKIE_BIT = 0x80000000   # group cookies: this bit and a hash of the key


def group_cookie(key: RemoteKey) -> int:
    """The cookie of one remote's address flows; two keys sharing one only means
    their flows are rewritten together."""
    return COOKIE_BASE | GROUP_COOKIE_BIT | (zlib.crc32(repr(key).encode()) & 0x7FFFFFFF)


class Conjunctions:
    """The conjunction ids of one render: stable (a hash of what they join) and
    unique (a colliding key probes to the next free id), and which ids each
    remote's address flows must feed."""

    def __init__(self) -> None:
        self.ids: dict[tuple[object, ...], int] = {}
        self.taken: set[int] = set()
        self.users: dict[RemoteKey, set[int]] = {}

    def id(self, remote: RemoteKey, group_id: str) -> int:
        key = (*remote, group_id)
        if key not in self.ids:
            value = zlib.crc32(repr(key).encode()) & 0xFFFFFFFF
            while value in self.taken:
                value = (value + 1) & 0xFFFFFFFF
            self.ids[key] = value
            self.taken.add(value)
        self.users.setdefault(remote, set()).add(self.ids[key])
        return self.ids[key]


def flow(table: int, priority: int, match: str, actions: str) -> str:
    match = f",{match}" if match else ""
    return f"table={table},priority={priority}{match} actions={actions}"


def goto(table: int) -> str:
    return f"resubmit(,{table})"


# -- rules -------------------------------------------------------------------------

def port_masks(low: int, high: int) -> list[str]:
    """The smallest list of ``value/mask`` matches covering ports low..high (one
    plain value where the block is a single port)."""
    out: list[str] = []
    while low <= high:
        size = low & -low if low else 1 << 16
        while size > high - low + 1:
            size >>= 1
        out.append(str(low) if size == 1 else f"0x{low:04x}/0x{0xFFFF & ~(size - 1):04x}")
        low += size
    return out


def protocol_matches(rule: SecurityGroupRule, version: int) -> list[str] | None:
    """The protocol part of a rule: one match per port block (["ip"]-like for any
    protocol); None when OpenFlow cannot express it (dccp/udplite port ranges:
    the rule then allows nothing rather than more)."""
    try:
        name = iptables.protocol_of(rule["protocol"], version)
    except ValueError:
        return None
    if name is None:
        return [IP[version]]
    low, high = rule["port_range_min"], rule["port_range_max"]
    if name in ("icmp", "ipv6-icmp"):
        base = "icmp" if version == 4 else "icmp6"
        if not all(v is None or 0 <= int(v) <= 255 for v in (low, high)):
            return None
        if low is None:
            return [base]
        code = f",icmp_code={high}" if high is not None else ""
        return [f"{base},icmp_type={low}{code}"]
    if name in PORT_PROTOCOLS:
        base = name if version == 4 else name + "6"
        if low is None and high is None:
            return [base]
        first = 1 if low is None else int(low)
        last = first if high is None else int(high)
        if not 0 <= first <= last <= 65535:
            return None
        if (first, last) == (1, 65535):
            return [base]
        return [f"{base},tp_dst={mask}" for mask in port_masks(first, last)]
    number = int(name) if name.isdigit() else iptables.PROTOCOL_NUMBERS.get(name)
    if number is None or (low is not None and (low, high) != (1, 65535)
                          and name in iptables.PORT_PROTOCOLS):
        return None
    return [f"{IP[version]},nw_proto={number}"]


def remote_addresses(rule: SecurityGroupRule, version: int) -> list[Net | None] | None:
    """The addresses a rule's other end may have ([None]: any); None when the
    rule is of the other IP version or its prefix is not an address. (Remote
    groups are conjunctions: `address_flows`.)"""
    if rule["ethertype"] != iptables.ETHERTYPE[version]:
        return None
    if rule["remote_ip_prefix"]:
        net = iptables.network(rule["remote_ip_prefix"], version)
        if net is None:
            return None
        return [None if net.prefixlen == 0 else net]
    return [None]


def remote_of(rule: SecurityGroupRule) -> tuple[str, str] | None:
    """("rg", group id) or ("ag", address group id) of a rule; None: no remote."""
    if rule["remote_group_id"]:
        return "rg", rule["remote_group_id"]
    if rule["remote_address_group_id"]:
        return "ag", rule["remote_address_group_id"]
    return None


def members(desired: L2State, kind: str, ref: str, version: int) -> list[Net | None]:
    """A remote group's or address group's addresses of one version (None: /0)."""
    family = (desired["remote_groups"] if kind == "rg" else desired["address_groups"]
              ).get(ref)
    values = [] if family is None else family["IPv4"] if version == 4 else family["IPv6"]
    nets = {n for n in (iptables.network(v, version) for v in values) if n is not None}
    return [None if n.prefixlen == 0 else n for n in sorted(nets, key=str)]


def address_flows(key: RemoteKey, ids: Iterable[int], desired: L2State) -> list[str]:
    """Clause 1/2 of every conjunction on one remote: its members on the network."""
    vlan, kind, ref, direction, version = key
    table = RULES_INGRESS if direction == "ingress" else RULES_EGRESS
    side = SRC if direction == "ingress" else DST
    actions = ",".join(f"conjunction({i},1/2)" for i in sorted(ids))
    return [flow(table, 71, f"reg6={vlan},{IP[version]}"
                 + (f",{side[version]}={net}" if net is not None else ""), actions)
            for net in members(desired, kind, ref, version)]


def rule_matches(rule: SecurityGroupRule) -> list[str]:
    """Every match of one security group rule without a remote group (both IP
    versions it may cover): protocol x port blocks x its remote prefix."""
    out: list[str] = []
    for version in iptables.VERSIONS:
        nets = remote_addresses(rule, version)
        protocols = protocol_matches(rule, version) if nets is not None else None
        if nets is None or protocols is None:
            continue
        side = SRC if rule["direction"] == "ingress" else DST
        for proto in protocols:
            for net in nets:
                out.append(proto if net is None else f"{proto},{side[version]}={net}")
    return out


# -- one port ----------------------------------------------------------------------

def port_macs(port: L2Port) -> list[str]:
    """The port's MAC and its address pairs' MACs, lower case, each once."""
    macs = [port["mac_address"].lower()]
    for pair in port["allowed_address_pairs"]:
        mac = (pair["mac_address"] or port["mac_address"]).lower()
        if mac not in macs:
            macs.append(mac)
    return macs


def sources(port: L2Port, version: int) -> list[tuple[str, Net | None]]:
    """(MAC, source network) pairs the port may send from (None: any address, an
    address pair of /0); for IPv6 also each MAC's link-local address."""
    mac = port["mac_address"].lower()
    pairs: list[tuple[str, Net | None]] = []
    for fixed in port["fixed_ips"]:
        if (net := iptables.network(fixed["ip_address"], version)) is not None:
            pairs.append((mac, net))
    for pair in port["allowed_address_pairs"]:
        if (net := iptables.network(pair["ip_address"], version)) is not None:
            pairs.append(((pair["mac_address"] or mac).lower(),
                          None if net.prefixlen == 0 else net))
    if version == 6:
        pairs += [(m, iptables.link_local(m)) for m in port_macs(port)]
    return list(_unique(pairs))


def dispatch_flows(port: L2Port, bind: Binding) -> list[str]:
    """A port's entry in 73 for traffic of local ports to it, and its output in
    92. (Its entry from table 60, registers set and the VLAN popped, is the
    agent's: plan.transient_flows.)"""
    x, v = bind.ofport, bind.vlan
    out: list[str] = []
    for mac in port_macs(port):
        out.append(flow(ACCEPT_OR_INGRESS, 100, f"reg6={v},dl_dst={mac}",
                        f"set_field:{x}->reg5,{goto(BASE_INGRESS)}"))
    # ct() needs an IP match: one flow per version wherever it is used.
    out += [flow(ACCEPTED_INGRESS, 90, f"{ip},ct_state=+new-est+trk,reg5={x}",
                 f"ct(commit,zone={ZONE}),output:{x}") for ip in IP.values()]
    out += [flow(ACCEPTED_INGRESS, 90, f"{ip},ct_state=+est-rel-rpl+trk,"
                 f"ct_mark={CT_MARK_INVALID},reg5={x}", f"{UNMARK},output:{x}")
            for ip in IP.values()]
    out.append(flow(ACCEPTED_INGRESS, 80, f"reg5={x}", f"output:{x}"))
    return out


def egress_base(port: L2Port, x: int, stateful: bool) -> list[str]:
    """Table 71 of a filtered port: what may leave it before any rule."""
    r = f"reg5={x}"
    track = f"ct(table={RULES_EGRESS},zone={ZONE})" if stateful else goto(RULES_EGRESS)
    out: list[str] = []
    for mac, net in sources(port, 4):
        spa = f",arp_spa={net}" if net is not None else ""
        out.append(flow(BASE_EGRESS, 100, f"arp,{r},dl_src={mac},arp_sha={mac}{spa}",
                        goto(NORMAL)))
    for mac in port_macs(port):
        out += [flow(BASE_EGRESS, 95, f"icmp6,{r},dl_src={mac},icmp_type={t}", goto(NORMAL))
                for t in ICMPV6_EGRESS]
        out += [flow(BASE_EGRESS, 95, f"udp,{r},dl_src={mac},tp_src=68,tp_dst=67",
                     goto(ACCEPT_OR_INGRESS)),
                flow(BASE_EGRESS, 95, f"udp6,{r},dl_src={mac},tp_src=546,tp_dst=547",
                     goto(ACCEPT_OR_INGRESS))]
    for mac, net in sources(port, 6):
        target = f",nd_target={net}" if net is not None else ""
        out.append(flow(BASE_EGRESS, 95,
                        f"icmp6,{r},dl_src={mac},icmp_type={ICMPV6_NA}{target}",
                        goto(NORMAL)))
    out += [flow(BASE_EGRESS, 93, f"udp,{r},tp_src=67", goto(DROPPED)),   # DHCP server
            flow(BASE_EGRESS, 93, f"udp6,{r},tp_src=547", goto(DROPPED)),
            flow(BASE_EGRESS, 93, f"icmp6,{r},icmp_type={ICMPV6_RA}", goto(DROPPED))]
    for version in iptables.VERSIONS:
        for mac, net in sources(port, version):
            src = f",{SRC[version]}={net}" if net is not None else ""
            out.append(flow(BASE_EGRESS, 65, f"{IP[version]},{r},dl_src={mac}{src}",
                            track))
    out.append(flow(BASE_EGRESS, 10, r, goto(DROPPED)))
    return out


def ingress_base(x: int, stateful: bool) -> list[str]:
    """Table 81 of a filtered port: what reaches it before any rule."""
    r = f"reg5={x}"
    track = f"ct(table={RULES_INGRESS},zone={ZONE})" if stateful else goto(RULES_INGRESS)
    return [flow(BASE_INGRESS, 100, f"arp,{r}", goto(ACCEPTED_INGRESS)),
            *(flow(BASE_INGRESS, 100, f"icmp6,{r},icmp_type={t}", goto(ACCEPTED_INGRESS))
              for t in ICMPV6_INGRESS),
            flow(BASE_INGRESS, 95, f"udp,{r},tp_src=67,tp_dst=68", goto(ACCEPTED_INGRESS)),
            flow(BASE_INGRESS, 95, f"udp6,{r},tp_src=547,tp_dst=546",
                 goto(ACCEPTED_INGRESS)),
            flow(BASE_INGRESS, 90, f"ip,{r}", track),
            flow(BASE_INGRESS, 90, f"ipv6,{r}", track),
            flow(BASE_INGRESS, 10, r, goto(DROPPED))]


def rules_table(table: int, accept: int, x: int, stateful: bool,
                matches: Iterable[str]) -> list[str]:
    """Table 72 or 82 of a filtered port: its groups' rules of that direction."""
    r = f"reg5={x}"
    if not stateful:
        return [*(flow(table, 70, f"{r},{m}", goto(accept)) for m in matches),
                flow(table, 10, r, goto(DROPPED))]
    out = [flow(table, 100, f"ct_state=+inv+trk,{r}", goto(DROPPED)),
           flow(table, 95, f"ct_state=+rpl+trk,ct_mark={CT_MARK_INVALID},{r}",
                goto(DROPPED)),
           flow(table, 90, f"ct_state=+est-rel+rpl,{r}", goto(accept)),
           flow(table, 90, f"ct_state=-new-est+rel-inv,{r}", goto(accept))]
    for m in matches:
        out += [flow(table, 70, f"ct_state=+new-est,{r},{m}", goto(accept)),
                flow(table, 70, f"ct_state=+est-rel-rpl,{r},{m}", goto(accept))]
    out += [flow(table, 40, f"{ip},ct_state=+est-rel-rpl,{r}",
                 f"ct(commit,zone={ZONE},exec(set_field:{CT_MARK_INVALID}->ct_mark))")
            for ip in IP.values()]
    out.append(flow(table, 10, r, goto(DROPPED)))
    return out


def conjunctive_flows(table: int, accept: int, x: int, stateful: bool,
                      clauses: Mapping[str, set[int]]) -> list[str]:
    """A port's clauses 2/2 (match -> the conjunctions it feeds) and its conj_id
    flows, at priority 71 (conjunctive flows must not share a priority with
    plain ones that overlap them)."""
    states = ("ct_state=+new-est,", "ct_state=+est-rel-rpl,") if stateful else ("",)
    out = [flow(table, 71, f"{state}reg5={x},{match}",
                ",".join(f"conjunction({i},2/2)" for i in sorted(ids)))
           for match, ids in clauses.items() for state in states]
    out += [flow(table, 71, f"conj_id={i},reg5={x}", goto(accept))
            for i in sorted({i for ids in clauses.values() for i in ids})]
    return out


def port_flows(port: L2Port, bind: Binding, desired: L2State,
               conj: Conjunctions | None = None) -> list[str]:
    """Every flow of one port (all carry its cookie when applied); `conj`
    collects the conjunctions its remote-group rules use."""
    conj = Conjunctions() if conj is None else conj
    out = dispatch_flows(port, bind)
    x = bind.ofport
    if not iptables.is_filtered(port):
        return [*out, flow(BASE_EGRESS, 10, f"reg5={x}", goto(ACCEPT_OR_INGRESS)),
                flow(BASE_INGRESS, 10, f"reg5={x}", goto(ACCEPTED_INGRESS))]
    groups = desired["security_groups"]
    stateful = iptables.is_stateful(port, groups)
    matches: dict[str, list[str]] = {"ingress": [], "egress": []}
    clauses: dict[str, dict[str, set[int]]] = {"ingress": {}, "egress": {}}
    for group_id in port["security_groups"]:
        group = groups.get(group_id)
        for rule in group["rules"] if group is not None else []:
            direction = rule["direction"]
            if direction not in matches:
                continue
            remote = remote_of(rule)
            if remote is None:
                matches[direction] += rule_matches(rule)
                continue
            for version in iptables.VERSIONS:
                protocols = (protocol_matches(rule, version)
                             if rule["ethertype"] == iptables.ETHERTYPE[version] else None)
                key = (bind.vlan, *remote, direction, version)
                for match in protocols or []:
                    clauses[direction].setdefault(match, set()).add(conj.id(key, group_id))
    out += egress_base(port, x, stateful)
    out += rules_table(RULES_EGRESS, ACCEPT_OR_INGRESS, x, stateful,
                       _unique(matches["egress"]))
    out += conjunctive_flows(RULES_EGRESS, ACCEPT_OR_INGRESS, x, stateful,
                             clauses["egress"])
    out += ingress_base(x, stateful)
    out += rules_table(RULES_INGRESS, ACCEPTED_INGRESS, x, stateful,
                       _unique(matches["ingress"]))
    out += conjunctive_flows(RULES_INGRESS, ACCEPTED_INGRESS, x, stateful,
                             clauses["ingress"])
    return list(_unique(out))


def shared_flows() -> list[str]:
    """The flows every port's traffic ends in; unknown traffic in our tables drops."""
    return [*(flow(ACCEPT_OR_INGRESS, 90, f"{ip},ct_state=+new-est+trk",
                   f"ct(commit,zone={ZONE}),{goto(ACCEPTED_EGRESS)}")
              for ip in IP.values()),
            flow(ACCEPT_OR_INGRESS, 80, "", goto(ACCEPTED_EGRESS)),
            *(flow(ACCEPTED_EGRESS, 90, f"{ip},ct_state=+est-rel-rpl+trk,"
                   f"ct_mark={CT_MARK_INVALID}", f"{UNMARK},{goto(NORMAL)}")
              for ip in IP.values()),
            flow(ACCEPTED_EGRESS, 1, "", goto(NORMAL)),
            *(flow(table, 1, "", goto(DROPPED))
              for table in (BASE_EGRESS, RULES_EGRESS, BASE_INGRESS, RULES_INGRESS,
                            ACCEPTED_INGRESS)),
            flow(DROPPED, 1, "", "drop")]


# -- the host ----------------------------------------------------------------------

def render(desired: L2State, bindings: Mapping[str, Binding]) -> dict[int, list[str]]:
    """cookie -> flows for every port of `desired` that has a binding (a port not
    yet on br-int gets none), and the shared flows under `SHARED`."""
    out = {SHARED: shared_flows()}
    conj = Conjunctions()
    for port in sorted(desired["ports"], key=lambda p: p["id"]):
        bind = bindings.get(port["id"])
        if bind is not None:
            out[port_cookie(bind.ofport)] = port_flows(port, bind, desired, conj)
    for key in sorted(conj.users):
        lines = address_flows(key, conj.users[key], desired)
        if lines:
            out.setdefault(group_cookie(key), []).extend(lines)
    return out


def _unique(items: Iterable[T]) -> Iterator[T]:
    seen: set[T] = set()
    for item in items:
        if item not in seen:
            seen.add(item)
            yield item
