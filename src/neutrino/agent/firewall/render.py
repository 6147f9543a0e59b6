"""Security groups as iptables rules and ipsets: the "l2" desired state in, what the
kernel must hold out. Pure (no I/O), so every rule can be checked by unit tests.

Layout (filter table, the same for iptables and ip6tables)::

  FORWARD -j neutrino-FORWARD            (one jump, bridged traffic of our ports)
    neutrino-FORWARD: per port, --physdev-out/--physdev-in <tap> -j neutrino-sg-chain
    neutrino-sg-chain: per filtered port, --physdev-out <tap> -j neutrino-i<port>
                       (ingress, to the VM), --physdev-in <tap> -j neutrino-o<port>
                       (egress, from the VM); then -j ACCEPT
  INPUT -j neutrino-INPUT                (traffic from a VM to the host itself)
    neutrino-INPUT: per filtered port, --physdev-in <tap> -j neutrino-o<port>
  neutrino-s<port>: anti-spoofing (source IP + MAC), called from neutrino-o<port>
  neutrino-gi<groups>, neutrino-go<groups>: the ingress / egress verdict of every
                       port with those security groups (see below)

A port's rules that do not depend on the port are rendered once per set of security
groups (in the port's order; the key is the group id[:16] for one group, ``x`` and a
digest for any other number), not once per port::

  neutrino-i<port>:  -g neutrino-gi<groups>
  neutrino-gi<groups>: RELATED,ESTABLISHED RETURN; DHCP/ND replies; INVALID DROP;
                       the groups' ingress rules (-j RETURN); DROP
  neutrino-o<port>:  -j neutrino-s<port>; -g neutrino-go<groups>
  neutrino-s<port>:  the port's (source, MAC) pairs RETURN; -g neutrino-unaddressed
  neutrino-unaddressed: DHCP discover / DAD / MLD from no address RETURN; DROP
  neutrino-go<groups>: DHCP client allowed, DHCP server and RA dropped, ND/MLD;
                       RELATED,ESTABLISHED RETURN; INVALID DROP; the egress rules; DROP

A goto (``-g``) never comes back, so a group chain's RETURN is the port chain's and
a packet meets exactly the rules an inline port chain had (`walk` expands them).
1,000 ports of one group are ~25 rules each instead of ~60, and a rule change
rewrites the group's chain, not a chain per port. A logged port (seclog.py: its log
rules carry the port id) keeps its rules inline, as before.

Packets from no address (DHCP discover, IPv6 DAD and MLD) pass the anti-spoofing
check in one chain shared by every port (`UNADDRESSED_CHAIN`), not a rule per port
ahead of it: each of them is RETURNed again by the first rules of the egress verdict
(DHCP client, ND/MLD), so the verdict is the one they had. This is also what keeps
the first write of a host linear in its ports: iptables parses a ``-m udp``
port number with getaddrinfo(), which (AI_ADDRCONFIG) dumps every address of the
namespace, so a udp port rule per port cost O(ports) each (docs/agents.md,
session 9); the rules left per port carry no udp/tcp port number.

A port chain RETURNs what a rule allows and ends in DROP; neutrino-sg-chain then
ACCEPTs, so a host whose FORWARD policy is DROP still forwards allowed traffic. A
port without port security (or a trusted ``network:*`` port) gets no chains but is
still sent to neutrino-sg-chain, where only the filtered port at the other end (if
any) is checked before the ACCEPT.

Rules are rendered exactly as ``iptables-save`` prints them (the driver compares
them with what the kernel holds and rewrites only chains that differ), except for
protocols given by number, which iptables-save prints by name: `canonical` maps
both forms to one.

ARP and MAC spoofing (ARP is not IP, iptables does not see it) is arp.py's nft
bridge table, for the same filtered ports (`is_filtered`).

Security group logging (seclog.py): in the ingress and egress chains of a port some
enabled log covers, a rate-limited ``-j NFLOG`` rule with the same matches comes
before each security group rule's RETURN (the log asks for ACCEPT or ALL) and one
before the final DROP (DROP or ALL). For a stateful port the rules only ever see a
connection's first packet (established traffic RETURNs earlier); for a stateless
one every packet a rule allows is logged, within the rate limit.

Not covered (documented in docs/agents.md): conntrack zones (ports on one host are
assumed not to share addresses across networks), NOTRACK for stateless groups
(their traffic is still tracked; the rules just do not use the state).
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from neutrino.agent.firewall import seclog
from neutrino.agent.firewall.seclog import LogSettings
from neutrino.contract.common import AddressesByFamily
from neutrino.contract.l2 import L2Port, L2State, SecurityGroup, SecurityGroupRule

Net = ipaddress.IPv4Network | ipaddress.IPv6Network

CHAIN_PREFIX = "neutrino-"
FORWARD_CHAIN = "neutrino-FORWARD"
INPUT_CHAIN = "neutrino-INPUT"
SG_CHAIN = "neutrino-sg-chain"
UNADDRESSED_CHAIN = "neutrino-unaddressed"  # from no address: DHCP discover, DAD, MLD
INGRESS_PREFIX = "neutrino-i"   # to the VM (--physdev-out tap)
EGRESS_PREFIX = "neutrino-o"    # from the VM (--physdev-in tap)
SPOOF_PREFIX = "neutrino-s"
GROUP_INGRESS_PREFIX = "neutrino-gi"  # a set of security groups' ingress verdict
GROUP_EGRESS_PREFIX = "neutrino-go"   # ... and egress verdict
PORT_CHAIN_ID_LEN = 10
GROUP_CHAIN_KEY_LEN = 16              # 11 + 16 <= 28, iptables' limit
JUMPS = {"FORWARD": FORWARD_CHAIN, "INPUT": INPUT_CHAIN}  # builtin -> our top chain

REMOTE_GROUP_SET_PREFIX = "NIP"   # + v4/v6 + group id: members of a remote group
ADDRESS_GROUP_SET_PREFIX = "NAG"  # + v4/v6 + address group id
SET_ID_LEN = 23                   # 5 + 23 + len(SWAP_SUFFIX) <= 31, ipset's limit
SWAP_SUFFIX = "-n"                # the temporary set a new content is built in
SET_PREFIXES = tuple(f"{p}v{v}" for p in (REMOTE_GROUP_SET_PREFIX, ADDRESS_GROUP_SET_PREFIX)
                     for v in (4, 6))

VERSIONS = (4, 6)
ETHERTYPE = {4: "IPv4", 6: "IPv6"}
ANY = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}

# Protocols printed by name by iptables-save and given port matches.
PORT_PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33, "udplite": 136}
ICMP = {4: "icmp", 6: "ipv6-icmp"}
# Names the API accepts (upstream's list) and their numbers.
PROTOCOL_NUMBERS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
    "icmpv6": 58, "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44,
    "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
    "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136,
    "vrrp": 112,
}
NAMED_BY_NUMBER = {6: "tcp", 17: "udp", 132: "sctp", 33: "dccp", 136: "udplite",
                   1: "icmp", 58: "ipv6-icmp"}

# ICMPv6 a port needs whatever its groups say (upstream allows the same).
ICMPV6_INGRESS = (130, 134, 135, 136)            # MLD query, RA, NS, NA
ICMPV6_EGRESS = (131, 132, 133, 135, 136, 143)   # MLD reports/done, RS, NS, NA, MLDv2
ICMPV6_UNSPECIFIED_SOURCE = (131, 135, 143)      # before an address: MLD, DAD
ICMPV6_RA = 134
ESTABLISHED = "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"
INVALID = "-m conntrack --ctstate INVALID -j DROP"


@dataclass(frozen=True)
class IpSet:
    """One hash:net set; members as ``ipset save`` prints them."""

    name: str
    family: str  # "inet" | "inet6"
    members: frozenset[str]


@dataclass
class Ruleset:
    """Everything the firewall wants on a host."""

    ipsets: dict[str, IpSet] = field(default_factory=dict)
    # version -> chain -> its rules ("-A chain ..."), in order; every chain of ours
    chains: dict[int, dict[str, list[str]]] = field(
        default_factory=lambda: {4: {}, 6: {}})
    filtered_ports: list[str] = field(default_factory=list)   # port ids
    unfiltered_ports: list[str] = field(default_factory=list)

    def rule_count(self) -> int:
        return sum(len(rules) for chains in self.chains.values()
                   for rules in chains.values())


# -- names -------------------------------------------------------------------------

def port_chain(prefix: str, port_id: str) -> str:
    return prefix + port_id[:PORT_CHAIN_ID_LEN]


def group_chain(prefix: str, group_ids: Iterable[str]) -> str:
    """The chain of a set of security groups (in the port's order): the group's
    id[:16] for one group, else ``x`` and a digest (ids are UUIDs: no clash)."""
    ids = list(dict.fromkeys(group_ids))
    if len(ids) == 1:
        return prefix + ids[0][:GROUP_CHAIN_KEY_LEN]
    digest = hashlib.sha1("\n".join(ids).encode()).hexdigest()
    return prefix + "x" + digest[:GROUP_CHAIN_KEY_LEN - 1]


def set_name(prefix: str, version: int, object_id: str) -> str:
    return f"{prefix}v{version}{object_id[:SET_ID_LEN]}"


def is_our_chain(name: str) -> bool:
    return name.startswith(CHAIN_PREFIX)


def is_our_set(name: str) -> bool:
    return name.startswith(SET_PREFIXES)


# -- values ----------------------------------------------------------------------

def network(value: str | None, version: int) -> Net | None:
    """An address or CIDR of the given IP version (host bits dropped, as iptables
    does); None when it is of the other version or not an address."""
    if not value:
        return None
    try:
        net = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return None
    return net if net.version == version else None


def address_match(flag: str, net: Net | None) -> list[str]:
    """``-s NET`` / ``-d NET``; nothing for "any" (iptables-save omits /0)."""
    if net is None or net.prefixlen == 0:
        return []
    return [flag, str(net)]


def set_members(values: Iterable[str], version: int) -> frozenset[str]:
    """Addresses and CIDRs as an ipset hash:net holds them: a host address without
    its prefix length, and /0 (which hash:net refuses) as its two halves."""
    out: set[str] = set()
    for value in values:
        net = network(value, version)
        if net is None:
            continue
        nets: list[Net] = (list(net.subnets(prefixlen_diff=1)) if net.prefixlen == 0
                           else [net])
        out.update(member_text(part) for part in nets)
    return frozenset(out)


def member_text(net: Net) -> str:
    """A set member as we write and compare it: a host address without its
    prefix length."""
    return (str(net.network_address) if net.prefixlen == net.max_prefixlen
            else str(net))


def link_local(mac: str) -> ipaddress.IPv6Network:
    """The EUI-64 link-local address of a MAC (a VM's IPv6 source before it has
    any other address), as a /128."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return ipaddress.IPv6Network("fe80::" + ":".join(groups) + "/128")


def protocol_of(value: str | int | None, version: int) -> str | None:
    """A rule's protocol as iptables takes it: a name for those iptables-save names
    (and whose ports we match), else the number; None for any protocol.
    ``icmp`` in an IPv6 rule means ICMPv6 (upstream does the same). ValueError
    for a protocol iptables would refuse."""
    if value is None or value == "" or str(value).lower() == "any":
        return None
    text = str(value).lower()
    number = int(text) if text.isdigit() else PROTOCOL_NUMBERS.get(text)
    if number is None:
        try:
            number = socket.getprotobyname(text)
        except OSError:
            raise ValueError(f"unknown protocol {value}") from None
    if not 0 <= number <= 255:
        raise ValueError(f"no IP protocol {value}")
    if number == 0:
        return None  # "-p 0" is iptables' "all"
    if version == 6 and number == 1:
        number = 58
    return NAMED_BY_NUMBER.get(number, str(number))


def canonical(line: str) -> str:
    """A rule line with its protocol as `protocol_of` renders it and its addresses
    as Python writes them, so a rule we wrote and the same rule read back from
    iptables-save compare equal (iptables-save names protocols given by number and
    writes IPv4-mapped IPv6 addresses its own way)."""
    tokens = line.split()
    for i, token in enumerate(tokens[:-1]):
        value = tokens[i + 1]
        if token == "-p":
            if value not in NAMED_BY_NUMBER.values() and not value.isdigit():
                try:
                    tokens[i + 1] = str(socket.getprotobyname(value))
                except OSError:
                    pass
        elif token in ("-s", "-d") and ":" in value and ("." in value or "ffff" in value):
            # Only IPv4-mapped IPv6 addresses are spelled differently.
            try:
                tokens[i + 1] = str(ipaddress.ip_network(value, strict=False))
            except ValueError:
                pass
    return " ".join(tokens)


# -- security group rules --------------------------------------------------------

def rule_matches(rule: SecurityGroupRule, version: int) -> list[str] | None:
    """The match part of one security group rule in the chain of its direction;
    None when the rule is for the other IP version or cannot apply to it."""
    if rule["ethertype"] != ETHERTYPE[version]:
        return None
    ingress = rule["direction"] == "ingress"
    args: list[str] = []
    prefix = rule["remote_ip_prefix"]
    if prefix:
        net = network(prefix, version)
        if net is None:
            return None
        args += address_match("-s" if ingress else "-d", net)
    try:
        protocol = protocol_of(rule["protocol"], version)
    except ValueError:
        return None  # the API refuses it; one bad rule must not fail a batch
    if protocol is not None:
        args += ["-p", protocol]
        low, high = rule["port_range_min"], rule["port_range_max"]
        if protocol == ICMP[version]:
            if not all(v is None or 0 <= int(v) <= 255 for v in (low, high)):
                return None
            if low is not None:
                flag = "--icmp-type" if version == 4 else "--icmpv6-type"
                value = f"{low}/{high}" if high is not None else str(low)
                args += ["-m", "icmp" if version == 4 else "icmp6", flag, value]
        elif protocol in PORT_PROTOCOLS and (low is not None or high is not None):
            first = 1 if low is None else int(low)
            last = first if high is None else int(high)
            if not 0 <= first <= last <= 65535:
                return None
            if (first, last) != (1, 65535):  # every port: no match needed
                value = str(first) if first == last else f"{first}:{last}"
                if protocol == "udplite":  # no udplite match module: multiport
                    args += ["-m", "multiport", "--dports", value]
                else:
                    args += ["-m", protocol, "--dport", value]
    direction = "src" if ingress else "dst"
    if remote_group := rule["remote_group_id"]:
        args += ["-m", "set", "--match-set",
                 set_name(REMOTE_GROUP_SET_PREFIX, version, remote_group), direction]
    if address_group := rule["remote_address_group_id"]:
        args += ["-m", "set", "--match-set",
                 set_name(ADDRESS_GROUP_SET_PREFIX, version, address_group), direction]
    return args


# -- ports -----------------------------------------------------------------------

def is_filtered(port: L2Port) -> bool:
    """Port security on and not a trusted network:* port (router, DHCP)."""
    if not port["port_security_enabled"]:
        return False
    return not port["device_owner"].startswith("network:")


def device_of(port: L2Port) -> str:
    return port["device"]


def is_stateful(port: L2Port, groups: Mapping[str, SecurityGroup]) -> bool:
    """Stateless only when every group of the port is (the API refuses a mix)."""
    own = [groups[g] for g in port["security_groups"] if g in groups]
    return not own or any(g["stateful"] for g in own)


def spoof_pairs(port: L2Port, version: int) -> list[tuple[str, str]]:
    """(source match, MAC) pairs a port may send from ("-s CIDR", or "" for any
    address: an allowed address pair 0.0.0.0/0): its fixed IPs with its MAC,
    its allowed address pairs (their MAC or the port's) and, for IPv6, the
    link-local addresses of those MACs."""
    mac = port["mac_address"].lower()
    pairs: list[tuple[Net | None, str]] = []
    macs = [mac]
    for fixed in port["fixed_ips"]:
        pairs.append((network(fixed["ip_address"], version), mac))
    for pair in port["allowed_address_pairs"]:
        pair_mac = (pair["mac_address"] or mac).lower()
        pairs.append((network(pair["ip_address"], version), pair_mac))
        if pair_mac not in macs:
            macs.append(pair_mac)
    if version == 6:
        pairs += [(link_local(m), m) for m in macs]
    out: list[tuple[str, str]] = []
    for net, pair_mac in pairs:
        if net is None:
            continue
        item = (" ".join(address_match("-s", net)), pair_mac)
        if item not in out:
            out.append(item)
    return out


def _icmpv6(types: Iterable[int], target: str, extra: str = "") -> list[str]:
    return [f"{extra}-p ipv6-icmp -m icmp6 --icmpv6-type {t} -j {target}" for t in types]


def port_chains(port: L2Port, groups: Mapping[str, SecurityGroup], version: int,
                log_settings: LogSettings | None = None) -> dict[str, list[str]]:
    """The ingress, egress and anti-spoofing chains of one filtered port and the
    group chains they go to (a logged port, with the log rules of its logs unless
    `log_settings` is None, has its rules inline and no group chain)."""
    pid = port["id"]
    # The settings when the port's logs ask for that action, else None.
    log_accept, log_drop = (
        log_settings if log_settings and seclog.log_ids(port, action) else None
        for action in (seclog.ACCEPT, seclog.DROP))
    ingress, egress = port_chain(INGRESS_PREFIX, pid), port_chain(EGRESS_PREFIX, pid)
    spoof = port_chain(SPOOF_PREFIX, pid)
    logged = log_accept is not None or log_drop is not None
    verdicts = _verdicts(port, groups, version, log_accept, log_drop)
    spoofing = [*(f"{source} -m mac --mac-source {mac} -j RETURN".lstrip()
                  for source, mac in spoof_pairs(port, version)),
                f"-g {UNADDRESSED_CHAIN}"]
    chains = {UNADDRESSED_CHAIN: unaddressed(version)}
    if logged:
        chains |= {ingress: verdicts["ingress"],
                   egress: [f"-j {spoof}", *verdicts["egress"]], spoof: spoofing}
    else:
        key = port["security_groups"]
        gi, go = group_chain(GROUP_INGRESS_PREFIX, key), group_chain(GROUP_EGRESS_PREFIX,
                                                                      key)
        chains |= {ingress: [f"-g {gi}"], egress: [f"-j {spoof}", f"-g {go}"],
                   spoof: spoofing, gi: verdicts["ingress"], go: verdicts["egress"]}
    return {name: [f"-A {name} {rule}" for rule in _unique(body)]
            for name, body in chains.items()}


def unaddressed(version: int) -> list[str]:
    """The body of `UNADDRESSED_CHAIN`: what a port may send before it has an
    address (the end of every anti-spoofing chain). A RETURN here goes back to
    the port's egress chain, whose verdict (`_verdicts`: DHCP client, ND/MLD
    first) RETURNs these packets again."""
    allowed = (
        ["-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 "
         "-j RETURN"]  # DHCP discover
        if version == 4 else
        _icmpv6(ICMPV6_UNSPECIFIED_SOURCE, "RETURN", "-s ::/128 -d ff02::/16 "))
    return [*allowed, "-j DROP"]


def _verdicts(port: L2Port, groups: Mapping[str, SecurityGroup], version: int,
              log_accept: LogSettings | None, log_drop: LogSettings | None
              ) -> dict[str, list[str]]:
    """The rules that decide a port's ingress and egress (after the anti-spoofing
    jump): fixed DHCP/ND rules, conntrack state, its groups' rules, DROP. Without
    log settings they depend on the port's groups only (a group chain's body)."""
    pid = port["id"]
    stateful = is_stateful(port, groups)
    state = [ESTABLISHED] if stateful else []
    invalid = [INVALID] if stateful else []

    rules: dict[str, list[str]] = {"ingress": [], "egress": []}
    for group_id in dict.fromkeys(port["security_groups"]):
        for rule in _rules(groups, group_id):
            matches = rule_matches(rule, version)
            if matches is None or rule["direction"] not in rules:
                continue
            if log_accept is not None:
                rules[rule["direction"]].append(seclog.log_rule(
                    log_accept, seclog.ACCEPT, pid, " ".join(matches)))
            rules[rule["direction"]].append(" ".join([*matches, "-j", "RETURN"]))

    if version == 4:
        in_fixed = ["-p udp -m udp --sport 67 --dport 68 -j RETURN"]  # DHCP offers
        out_fixed = ["-p udp -m udp --sport 68 --dport 67 -j RETURN",
                     "-p udp -m udp --sport 67 -j DROP"]  # no DHCP server in a VM
    else:
        in_fixed = [*_icmpv6(ICMPV6_INGRESS, "RETURN"),
                    "-p udp -m udp --sport 547 --dport 546 -j RETURN"]
        out_fixed = [*_icmpv6([ICMPV6_RA], "DROP"),  # no router advertisements from VMs
                     *_icmpv6(ICMPV6_EGRESS, "RETURN"),
                     "-p udp -m udp --sport 546 --dport 547 -j RETURN",
                     "-p udp -m udp --sport 547 -j DROP"]

    drop = [seclog.log_rule(log_drop, seclog.DROP, pid)] if log_drop is not None else []
    return {"ingress": [*state, *in_fixed, *invalid, *rules["ingress"], *drop, "-j DROP"],
            "egress": [*out_fixed, *state, *invalid, *rules["egress"], *drop, "-j DROP"]}


def walk(chains: Mapping[str, list[str]], name: str) -> list[str]:
    """A chain's rules as a packet meets them, as ``-A name …`` lines: a goto
    (``-g``, which never comes back) to a chain of `chains` is replaced by that
    chain's rules, so a port chain reads as if its group chain were inline."""
    out: list[str] = []
    head = f"-A {name} "
    for line in chains.get(name, []):
        before, goto, target = line.rpartition(" -g ")
        if goto and before == head.rstrip() and target in chains and target != name:
            out += [head + rule.split(" ", 2)[2] for rule in walk(chains, target)]
            break
        out.append(line)
    return out


def _rules(groups: Mapping[str, SecurityGroup], group_id: str) -> list[SecurityGroupRule]:
    """A port's group's rules; none when the server sent no such group (it sends
    every group of its ports, but a port must never fail its whole host)."""
    group = groups.get(group_id)
    return group["rules"] if group is not None else []


def _unique(lines: Iterable[str]) -> Iterator[str]:
    seen: set[str] = set()
    for line in lines:
        if line not in seen:
            seen.add(line)
            yield line


def _physdev(direction: str, device: str, bridged: bool = True) -> str:
    return (f"-m physdev --physdev-{direction} {device}"
            + (" --physdev-is-bridged" if bridged else ""))


# -- the whole host --------------------------------------------------------------

def render(desired: L2State, log_settings: LogSettings | None = LogSettings()
           ) -> Ruleset:
    """The firewall of an "l2" desired state (docs/rpc.md); `log_settings`: the log
    rules' limits and group (None: no log rules whatever the ports' logs say)."""
    groups = desired["security_groups"]
    ports = sorted(desired["ports"], key=device_of)
    out = Ruleset()
    filtered = [p for p in ports if is_filtered(p)]
    out.filtered_ports = [p["id"] for p in filtered]
    out.unfiltered_ports = [p["id"] for p in ports if not is_filtered(p)]

    for version in VERSIONS:
        chains = out.chains[version]
        forward: list[str] = []
        sg_chain: list[str] = []
        input_chain: list[str] = []
        chains[FORWARD_CHAIN], chains[SG_CHAIN], chains[INPUT_CHAIN] = (
            forward, sg_chain, input_chain)
        for port in ports:
            device = device_of(port)
            forward += [f"-A {FORWARD_CHAIN} {_physdev('out', device)} -j {SG_CHAIN}",
                        f"-A {FORWARD_CHAIN} {_physdev('in', device)} -j {SG_CHAIN}"]
        for port in filtered:
            device, pid = device_of(port), port["id"]
            sg_chain += [
                f"-A {SG_CHAIN} {_physdev('out', device)} -j "
                f"{port_chain(INGRESS_PREFIX, pid)}",
                f"-A {SG_CHAIN} {_physdev('in', device)} -j "
                f"{port_chain(EGRESS_PREFIX, pid)}"]
            input_chain.append(f"-A {INPUT_CHAIN} {_physdev('in', device, bridged=False)}"
                               f" -j {port_chain(EGRESS_PREFIX, pid)}")
            chains.update(port_chains(port, groups, version, log_settings))
        sg_chain.append(f"-A {SG_CHAIN} -j ACCEPT")

    out.ipsets = _ipsets(desired, filtered, groups)
    return out


def ipsets(desired: L2State) -> dict[str, IpSet]:
    """The sets `render` gives `desired` (membership only: when the ports and
    groups are those of an earlier render, its chains stand and only this is new)."""
    filtered = [p for p in desired["ports"] if is_filtered(p)]
    return _ipsets(desired, filtered, desired["security_groups"])


def _ipsets(desired: L2State, ports: list[L2Port],
            groups: Mapping[str, SecurityGroup]) -> dict[str, IpSet]:
    """A set per IP version for every remote group and address group a rule of a
    filtered port refers to (empty when the server sent no members)."""
    out: dict[str, IpSet] = {}
    used = {g for p in ports for g in p["security_groups"]}
    for group_id in sorted(used):
        for rule in _rules(groups, group_id):
            for ref, prefix, source in (
                    (rule["remote_group_id"], REMOTE_GROUP_SET_PREFIX,
                     desired["remote_groups"]),
                    (rule["remote_address_group_id"], ADDRESS_GROUP_SET_PREFIX,
                     desired["address_groups"])):
                if not ref:
                    continue
                for version in VERSIONS:
                    if rule["ethertype"] != ETHERTYPE[version]:
                        continue
                    name = set_name(prefix, version, ref)
                    values = _family(source.get(ref), version)
                    out[name] = IpSet(name, "inet" if version == 4 else "inet6",
                                      set_members(values, version))
    return out


def _family(addresses: AddressesByFamily | None, version: int) -> list[str]:
    if addresses is None:
        return []
    return addresses["IPv4"] if version == 4 else addresses["IPv6"]


# -- text for the tools ------------------------------------------------------------

def ipset_commands(sets: Iterable[IpSet]) -> str:
    """``ipset restore`` input that gives each set exactly its members at once:
    built in a temporary set, then swapped in (rules using the set never see it
    half-filled)."""
    lines: list[str] = []
    for ipset in sets:
        temporary = ipset.name + SWAP_SUFFIX
        spec = f"hash:net family {ipset.family}"
        lines += [f"create {ipset.name} {spec}", f"create {temporary} {spec}",
                  f"flush {temporary}"]
        lines += [f"add {temporary} {member}" for member in sorted(ipset.members)]
        lines += [f"swap {temporary} {ipset.name}", f"destroy {temporary}"]
    return "".join(line + "\n" for line in lines)


def iptables_restore_input(chains: Mapping[str, list[str]], delete: Iterable[str],
                           add_jumps: Iterable[str], remove_jumps: Iterable[str] = ()
                           ) -> str:
    """``iptables-restore --noflush`` input: declaring a chain flushes it, so each
    given chain ends up with exactly its rules; `delete` chains are flushed and
    removed; `add_jumps` builtin chains get their jump to our top chain first,
    `remove_jumps` lose one duplicate."""
    delete = list(delete)
    lines = ["*filter"]
    lines += [f":{name} - [0:0]" for name in [*chains, *delete]]
    for builtin in add_jumps:
        lines.append(f"-I {builtin} 1 -j {JUMPS[builtin]}")
    for builtin in remove_jumps:
        lines.append(f"-D {builtin} -j {JUMPS[builtin]}")
    for rules in chains.values():
        lines += rules
    lines += [f"-X {name}" for name in delete]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"
