"""Tracked connections the firewall no longer allows. Pure (no I/O).

Port chains are stateful (render.py): ``RELATED,ESTABLISHED`` is accepted first, so
a connection opened while a rule allowed it would outlive the rule. After an apply
the driver lists the tracked connections of the filtered ports' addresses
(`watched`) and deletes those `stale` returns: the ones whose first packet the
chains just rendered would refuse. The chains themselves are evaluated (a port
chain with its group chain's rules inline: render.walk), so
"allowed" means exactly what the kernel does for a new connection (DHCP and
neighbour discovery basics, the drops before the rules, ipset members), and
nothing is remembered between applies (an agent restart re-validates everything).

Which port a connection belongs to is known only by address (no conntrack zones:
see render.py): an original source that is a filtered port's address (fixed IPs,
allowed address pairs) is that port's egress flow, an original destination its
ingress flow; a flow between two ports of this host must pass both. Ports whose
groups are all stateless are skipped (their rules already see every packet), as
are /0 allowed address pairs (they would claim every connection of the host).
When a rule cannot be interpreted here the connection is kept.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neutrino.agent.firewall import render
from neutrino.contract.l2 import L2Port, L2State

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
FAMILIES = {4: "ipv4", 6: "ipv6"}   # conntrack's names
ICMP_NUMBERS = {4: 1, 6: 58}
PORT_NUMBERS = frozenset(render.PORT_PROTOCOLS.values())


@dataclass(frozen=True)
class Entry:
    """One tracked connection: its original direction (the first packet's)."""

    version: int          # 4 | 6
    protocol: int         # IP protocol number
    src: str
    dst: str
    sport: int | None = None
    dport: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    icmp_id: int | None = None


# -- conntrack's text ---------------------------------------------------------------

def parse(text: str) -> list[Entry]:
    """Entries from ``conntrack -L -o extended`` (lines such as ``ipv4 2 tcp 6 431999
    ESTABLISHED src=… dst=… sport=… dport=… src=… …``); the original tuple is the
    fields before the second ``src=``. Lines of another shape are skipped."""
    out: list[Entry] = []
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 5 or tokens[0] not in ("ipv4", "ipv6") or not tokens[3].isdigit():
            continue
        fields: dict[str, str] = {}
        for token in tokens[4:]:
            key, sep, value = token.partition("=")
            if not sep:
                continue
            if key == "src" and "src" in fields:
                break  # the reply tuple
            fields.setdefault(key, value)
        if "src" not in fields or "dst" not in fields:
            continue
        out.append(Entry(version=4 if tokens[0] == "ipv4" else 6,
                         protocol=int(tokens[3]), src=fields["src"], dst=fields["dst"],
                         sport=_number(fields, "sport"), dport=_number(fields, "dport"),
                         icmp_type=_number(fields, "type"),
                         icmp_code=_number(fields, "code"), icmp_id=_number(fields, "id")))
    return out


def _number(fields: Mapping[str, str], key: str) -> int | None:
    value = fields.get(key, "")
    return int(value) if value.isdigit() else None


def delete_batch(entries: Iterable[Entry]) -> str:
    """``conntrack -R -`` input deleting exactly these entries (the whole original
    tuple: deleting more would cut allowed connections too)."""
    lines = []
    for entry in entries:
        args = ["-D", "-f", FAMILIES[entry.version], "-s", entry.src, "-d", entry.dst]
        if entry.protocol == ICMP_NUMBERS[entry.version]:
            kind = "icmp" if entry.version == 4 else "icmpv6"
            args += ["-p", kind]
            for name, value in (("type", entry.icmp_type), ("code", entry.icmp_code),
                                ("id", entry.icmp_id)):
                if value is not None:
                    args += [f"--{kind}-{name}", str(value)]
        else:
            args += ["-p", str(entry.protocol)]
            if entry.sport is not None and entry.dport is not None:
                args += ["--sport", str(entry.sport), "--dport", str(entry.dport)]
        lines.append(" ".join(args) + "\n")
    return "".join(lines)


# -- which connections --------------------------------------------------------------

def _checked_ports(desired: L2State) -> list[L2Port]:
    groups = desired["security_groups"]
    return [p for p in desired["ports"]
            if render.is_filtered(p) and render.is_stateful(p, groups)]


def port_networks(port: L2Port, version: int) -> list[Net]:
    """The addresses a port's traffic is recognised by: what its anti-spoofing
    chain lets it send from, less a /0 address pair."""
    out: list[Net] = []
    for source, _mac in render.spoof_pairs(port, version):
        net = render.network(source.split()[1], version) if source else None
        if net is not None and net.prefixlen > 0 and net not in out:
            out.append(net)
    return out


def watched(desired: L2State) -> dict[int, list[str]]:
    """Per IP version, the addresses (or CIDRs) whose connections to list."""
    out: dict[int, list[str]] = {}
    for version in render.VERSIONS:
        nets = {net for port in _checked_ports(desired)
                for net in port_networks(port, version)}
        out[version] = sorted((render.member_text(n) for n in nets),
                              key=lambda t: ipaddress.ip_network(t))
    return out


def stale(desired: L2State, entries: Iterable[Entry],
          ruleset: render.Ruleset | None = None) -> list[Entry]:
    """The entries (once each) that the firewall of `desired` (`ruleset`: its
    rendering, when the caller has it) would not let start now."""
    ruleset = ruleset if ruleset is not None else render.render(desired)
    sets = {name: [ipaddress.ip_network(m) for m in ipset.members]
            for name, ipset in ruleset.ipsets.items()}
    owners = _Owners(_checked_ports(desired))
    return [entry for entry in dict.fromkeys(entries)
            if _refused(entry, owners, ruleset.chains[entry.version], sets)]


class _Owners:
    """The checked ports by address: a dict for host addresses, so thousands of
    connections of thousands of ports stay cheap; a list for CIDR address pairs."""

    def __init__(self, ports: Iterable[L2Port]) -> None:
        self.hosts: dict[Any, list[str]] = {}
        self.nets: list[tuple[Net, str]] = []
        for port in ports:
            for version in render.VERSIONS:
                for net in port_networks(port, version):
                    if net.prefixlen == net.max_prefixlen:
                        self.hosts.setdefault(net.network_address, []).append(port["id"])
                    else:
                        self.nets.append((net, port["id"]))

    def of(self, address: Any) -> list[str]:
        found = list(self.hosts.get(address, []))
        found += [pid for net, pid in self.nets if address in net and pid not in found]
        return found


def _refused(entry: Entry, owners: _Owners, chains: Mapping[str, list[str]],
             sets: Mapping[str, list[Net]]) -> bool:
    """Whether a chain of a port the connection leaves or enters refuses it."""
    try:
        src, dst = ipaddress.ip_address(entry.src), ipaddress.ip_address(entry.dst)
    except ValueError:
        return False
    if src.version != entry.version or dst.version != entry.version:
        return False
    for prefix, address in ((render.EGRESS_PREFIX, src), (render.INGRESS_PREFIX, dst)):
        for port_id in owners.of(address):
            name = render.port_chain(prefix, port_id)
            if name in chains and not allows(render.walk(chains, name), entry, sets):
                return True
    return False


# -- evaluating a rendered chain ----------------------------------------------------

def allows(lines: Sequence[str], entry: Entry, sets: Mapping[str, list[Net]]) -> bool:
    """Whether a port chain (``-A chain …`` lines, render.py) RETURNs the first
    packet of `entry` (a NEW connection). A jump to another chain (the
    anti-spoofing one: the source is the port's, by how `stale` picks the chain)
    passes; a RETURN that might match allows, a DROP only drops when it surely
    matches; a chain that ends without a verdict allows."""
    for line in lines:
        tokens = line.split()[2:]
        if len(tokens) < 2 or tokens[-2] != "-j":
            continue
        matched = matches(tokens[:-2], entry, sets)
        if tokens[-1] == "RETURN" and matched is not False:
            return True
        if tokens[-1] == "DROP" and matched is True:
            return False
    return True


def matches(tokens: Sequence[str], entry: Entry, sets: Mapping[str, list[Net]]
            ) -> bool | None:
    """Whether the packet matches all of a rule's matches (the options render.py
    writes); None when some option is not understood here (or a set unknown)."""
    result: bool | None = True
    i = 0
    while i < len(tokens):
        option = tokens[i]
        args = tokens[i + 1:i + 3]
        if option == "-m" and args:
            i += 2
            continue
        if option == "--match-set" and len(args) == 2:
            found = _in_set(entry, sets.get(args[0]), args[1])
            i += 3
        elif option in _MATCHERS and args:
            found = _MATCHERS[option](entry, args[0])
            i += 2
        else:
            return None
        if found is False:
            result = False  # read on: an option not understood still says None
        elif found is None and result is True:
            result = None
    return result


def _in_set(entry: Entry, members: list[Net] | None, direction: str) -> bool | None:
    if members is None or direction not in ("src", "dst"):
        return None
    address = ipaddress.ip_address(entry.src if direction == "src" else entry.dst)
    return any(address in net for net in members)


def _address(value: str, address: str) -> bool | None:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(value, strict=False)
    except (ValueError, TypeError):
        return None


def _protocol(entry: Entry, value: str) -> bool | None:
    number = int(value) if value.isdigit() else render.PROTOCOL_NUMBERS.get(value)
    return None if number is None else number == entry.protocol


def _port(port: int | None, value: str, protocol: int) -> bool | None:
    if protocol not in PORT_NUMBERS:
        return False
    if port is None:
        return None
    try:
        for part in value.split(","):
            low, _, high = part.partition(":")
            if int(low) <= port <= int(high or low):
                return True
    except ValueError:
        return None
    return False


def _icmp(entry: Entry, value: str) -> bool | None:
    if entry.protocol != ICMP_NUMBERS[entry.version]:
        return False
    if entry.icmp_type is None:
        return None
    kind, _, code = value.partition("/")
    if not kind.isdigit() or not (code or "0").isdigit():
        return None
    return int(kind) == entry.icmp_type and (not code or int(code) == entry.icmp_code)


def _ctstate(_entry: Entry, value: str) -> bool:
    return "NEW" in value.split(",")


_MATCHERS = {
    "-s": lambda e, v: _address(v, e.src),
    "-d": lambda e, v: _address(v, e.dst),
    "-p": _protocol,
    "--sport": lambda e, v: _port(e.sport, v, e.protocol),
    "--dport": lambda e, v: _port(e.dport, v, e.protocol),
    "--dports": lambda e, v: _port(e.dport, v, e.protocol),
    "--icmp-type": _icmp,
    "--icmpv6-type": _icmp,
    "--ctstate": _ctstate,
}
