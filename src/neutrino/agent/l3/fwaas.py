"""FWaaS v2 (issue 16): a router's firewall groups as one nftables ``inet`` table in
its namespace; a router of the "l3" desired state in, the table's text out. Pure.

::

  table inet neutrino-fwaas {
    comment "neutrino sha256=<16 hex>"        the digest of everything below
    chain from-ports {                        egress: what enters the router from
      type filter hook forward priority -1; policy accept;        a member port
      iifname vmap { "qr-…" : jump g-<group>-out, "qr-…" : drop, ... }
    }
    chain to-ports {                          ingress: what the router sends out
      type filter hook forward priority 0; policy accept;          of a member port
      oifname vmap { "qr-…" : jump g-<group>-in, ... }
    }
    chain g-<group>-in {                      one per group and direction
      comment "neutrino sha256=<16 hex>"      the digest of this chain's rules
      ct state invalid drop
      ct state established,related accept     stateful: the replies of what passed
      meta nfproto ipv4 ip saddr 10.0.0.0/24 meta l4proto tcp tcp dport 80 accept
      ...                                     the policy's enabled rules, in order:
      drop                                    allow accept, deny drop, reject reject
    }
  }

Upstream's iptables driver in nft terms: its ingress chains take what leaves the
router through the port (``-o qr-…``: into the network behind it), its egress chains
what comes in from it (``-i qr-…``); after the rules, everything else is dropped, and
a direction without a policy drops every new connection (only replies pass). A group
whose ``admin_state_up`` is false drops everything on its ports, replies included;
one without any policy enforces nothing (its status stays INACTIVE). Two base chains,
so that a packet between two member ports meets the egress rules of the one and the
ingress rules of the other (an ``accept`` ends only its own base chain). Only the
forward hook: the router's own traffic (its addresses, the metadata proxy) is not
filtered, as upstream.

The agent replaces the table in one ``nft -f`` batch only when the digest in the
kernel's comment differs, and then deletes the tracked connections of the ports
whose filtering changed, so a rule that now denies a flow cuts it while the other
flows through the router go on. Which ports changed is read from the kernel's table
before the replace (`listed_ports`: each port's verdicts in the two vmaps, a group
chain known by its comment's digest) and compared with the rendered table's
(`FirewallTable.ports`); the connections cut are those from or to the subnets of
those ports' interfaces, and to the floating IPs of addresses in them
(`cut_addresses`, `connections_to_cut`). A port that leaves every group cuts
nothing (it is filtered less); an unreadable old table cuts all, as before.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from neutrino.agent.firewall.conntrack import Entry

FAMILY = "inet"
TABLE = "neutrino-fwaas"
COMMENT_PREFIX = "neutrino sha256="
DIGEST_LEN = 16
INGRESS, EGRESS = "in", "out"
VERDICTS = {"allow": "accept", "deny": "drop", "reject": "reject"}
PORTED = ("tcp", "udp")
ACTIVE, DOWN = "ACTIVE", "DOWN"
HOOKS = {"from-ports": "type filter hook forward priority -1; policy accept;",
         "to-ports": "type filter hook forward priority 0; policy accept;"}


@dataclass(frozen=True)
class FirewallTable:
    """The rendered table: its ``nft -f`` text (comment included), the comment the
    kernel reports for it, the status each enforced group is to be reported, and
    what each filtered device meets (`port_key`: compared with `listed_ports`)."""

    text: str
    comment: str
    statuses: Mapping[str, str]
    ports: Mapping[str, str] = dc_field(default_factory=dict)


def _digest(text: str) -> str:
    return COMMENT_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LEN]


def port_key(entering: str, leaving: str) -> str:
    """What a device meets in both directions: "drop", or the digest of the group
    chain it jumps to."""
    return f"from {entering}; to {leaving}"


def _network(value: Any, version: int) -> str | None:
    """An address or CIDR as nft takes it (host bits cleared); None when it is not
    of the rule's IP version (the API refuses that; never render a wider match)."""
    network = ipaddress.ip_network(str(value), strict=False)
    return str(network) if network.version == version else None


def _ports(value: Any) -> str:
    low, _, high = str(value).partition(":")
    return low if not high or high == low else f"{low}-{high}"


def rule_text(rule: Mapping[str, Any]) -> str | None:
    """One rule as an nft rule; None when it can match nothing here (an address
    of the other IP version)."""
    version = 6 if rule.get("ip_version") == 6 else 4
    family = "ip" if version == 4 else "ip6"
    parts = [f"meta nfproto ipv{version}"]
    for key, field in (("source_ip_address", "saddr"),
                       ("destination_ip_address", "daddr")):
        if rule.get(key):
            network = _network(rule[key], version)
            if network is None:
                return None
            parts.append(f"{family} {field} {network}")
    protocol = rule.get("protocol")
    if protocol in PORTED:
        parts.append(f"meta l4proto {protocol}")
        for key, field in (("source_port", "sport"), ("destination_port", "dport")):
            if rule.get(key):
                parts.append(f"{protocol} {field} {_ports(rule[key])}")
    elif protocol == "icmp":
        parts.append("meta l4proto icmp" if version == 4 else "meta l4proto ipv6-icmp")
    elif protocol:
        parts.append(f"meta l4proto {protocol}")
    parts.append(VERDICTS.get(str(rule.get("action")), "drop"))
    return " ".join(parts)


def group_chain(rules: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """A direction's chain: invalid dropped, replies accepted, the rules, then drop
    (also with no policy in this direction: only replies pass)."""
    lines = ["ct state invalid drop", "ct state established,related accept"]
    lines += [text for text in (rule_text(r) for r in rules or []) if text]
    return [*lines, "drop"]


def enforced(router: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The router's groups that enforce something (a policy, or admin down), on
    interfaces the router has, sorted."""
    devices = _devices(router)
    out = []
    for group in router.get("firewall_groups") or []:
        ports = [p for p in group.get("ports") or [] if p in devices]
        if not ports:
            continue
        if group.get("admin_state_up", True) and group.get("ingress_rules") is None \
                and group.get("egress_rules") is None:
            continue
        out.append(dict(group, ports=sorted(ports)))
    return sorted(out, key=lambda g: str(g["id"]))


def _devices(router: Mapping[str, Any]) -> dict[str, str]:
    return {str(i["port_id"]): str(i.get("device") or "qr-" + str(i["port_id"])[:11])
            for i in router.get("interfaces") or []}


def chains(router: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every chain's rules, base chains first; empty when nothing is enforced."""
    devices = _devices(router)
    out: dict[str, list[str]] = {}
    entering: list[str] = []
    leaving: list[str] = []
    for group in enforced(router):
        up = bool(group.get("admin_state_up", True))
        name = f"g-{group['id']}"
        if up:
            out[f"{name}-{INGRESS}"] = group_chain(group.get("ingress_rules"))
            out[f"{name}-{EGRESS}"] = group_chain(group.get("egress_rules"))
        for port in group["ports"]:
            device = devices[port]
            entering.append(f'"{device}" : ' + (f"jump {name}-{EGRESS}" if up else "drop"))
            leaving.append(f'"{device}" : ' + (f"jump {name}-{INGRESS}" if up else "drop"))
    if not entering:
        return {}
    return {"from-ports": [f"iifname vmap {{ {', '.join(entering)} }}"],
            "to-ports": [f"oifname vmap {{ {', '.join(leaving)} }}"], **out}


def render(router: Mapping[str, Any]) -> FirewallTable | None:
    """The firewall table of one router; None when it enforces nothing (then there
    must be no table)."""
    rules = chains(router)
    if not rules:
        return None
    lines: list[str] = []
    digests: dict[str, str] = {}
    for name, body in rules.items():
        lines.append(f"\tchain {name} {{")
        if name in HOOKS:
            lines.append(f"\t\t{HOOKS[name]}")
        else:  # a group chain: its digest tells a changed one from the kernel's
            digests[name] = _digest("\n".join(body))
            lines.append(f'\t\tcomment "{digests[name]}"')
        lines += [f"\t\t{rule}" for rule in body]
        lines.append("\t}")
    text_body = "".join(line + "\n" for line in lines)
    comment = _digest(text_body)
    text = f"table {FAMILY} {TABLE} {{\n\tcomment \"{comment}\"\n{text_body}}}\n"
    statuses = {str(g["id"]): ACTIVE if g.get("admin_state_up", True) else DOWN
                for g in enforced(router)}
    return FirewallTable(text=text, comment=comment, statuses=statuses,
                         ports=_port_keys(rules["from-ports"][0], rules["to-ports"][0],
                                          digests))


def replace_batch(table: FirewallTable) -> str:
    """``nft -f`` input replacing our table by `table` atomically."""
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n" + table.text


def delete_batch() -> str:
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"


def reports(router: Mapping[str, Any], table: FirewallTable | None
            ) -> dict[str, tuple[str, str]]:
    """group id -> (status the server has, status to report) for the groups applied
    on this router whose status differs."""
    wanted = table.statuses if table is not None else {}
    return {str(g["id"]): (str(g.get("status")), wanted[str(g["id"])])
            for g in router.get("firewall_groups") or []
            if str(g["id"]) in wanted and g.get("status") != wanted[str(g["id"])]}


# -- what changed, and the connections to cut ------------------------------------------

_VMAP = re.compile(r"(iifname|oifname) vmap \{([^}]*)\}", re.S)
_ELEMENT = re.compile(r'"([^"]+)"\s*:\s*(drop|jump ([^\s,}]+))')
_CHAIN = re.compile(r"^\s*chain (\S+) \{\s*$")
_COMMENT = re.compile(r'^\s*comment "([^"]*)"\s*$')


def _port_keys(entering: str, leaving: str, digests: Mapping[str, str]
               ) -> dict[str, str]:
    """device -> port_key from the two base chains' vmap rules (as rendered or as
    the kernel lists them) and the group chains' digests."""
    verdicts: dict[str, dict[str, str]] = {}
    for match in _VMAP.finditer(entering + "\n" + leaving):
        side = "from" if match.group(1) == "iifname" else "to"
        for device, verdict, target in _ELEMENT.findall(match.group(2)):
            seen = "drop" if verdict == "drop" else digests.get(target, "?" + target)
            verdicts.setdefault(device, {})[side] = seen
    return {device: port_key(v.get("from", "accept"), v.get("to", "accept"))
            for device, v in sorted(verdicts.items())}


def listed_ports(listing: str | None) -> dict[str, str]:
    """device -> port_key of the table as ``nft list table`` prints it ({} when
    there is none: nothing was filtered)."""
    if not listing:
        return {}
    digests: dict[str, str] = {}
    chain = None
    for line in listing.splitlines():
        found = _CHAIN.match(line)
        if found:
            chain = found.group(1)
            continue
        comment = _COMMENT.match(line)
        if comment and chain is not None:
            digests[chain] = comment.group(1)
    return _port_keys(listing, "", digests)


def changed_ports(old: Mapping[str, str], table: FirewallTable | None) -> list[str]:
    """The devices the new table filters otherwise than the kernel's did (those it
    no longer filters are filtered less: nothing of theirs is to be cut)."""
    new = table.ports if table is not None else {}
    return sorted(d for d, key in new.items() if old.get(d) != key)


def cut_addresses(router: Mapping[str, Any], devices: Iterable[str]
                  ) -> dict[int, list[str]]:
    """IP version -> the CIDRs of the devices' interfaces and the floating
    addresses (as /32) of fixed addresses in them: what the tracked connections
    through those ports have as original source or destination."""
    wanted = set(devices)
    nets: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
    for interface in router.get("interfaces") or []:
        device = str(interface.get("device") or "qr-" + str(interface["port_id"])[:11])
        if device not in wanted:
            continue
        for fixed in interface.get("fixed_ips") or []:
            try:
                nets.add(ipaddress.ip_network(str(fixed.get("cidr")), strict=False))
            except ValueError:
                continue
    floating: set[ipaddress.IPv4Network] = set()
    for fip in router.get("floating_ips") or []:
        try:
            fixed_ip = ipaddress.ip_address(str(fip.get("fixed_ip_address")))
            address = ipaddress.ip_network(str(fip.get("floating_ip_address")))
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv4Network) and any(fixed_ip in n for n in nets):
            floating.add(address)
    out: dict[int, list[str]] = {}
    for net in sorted(nets | floating, key=lambda n: (n.version, n)):
        out.setdefault(net.version, []).append(str(net))
    return out


def connections_to_cut(entries: Iterable[Entry], cidrs: Sequence[str]) -> list[Entry]:
    """The tracked connections whose original
    source or destination is in one of `cidrs`, each once."""
    nets = [ipaddress.ip_network(c) for c in cidrs]
    out = []
    for entry in dict.fromkeys(entries):
        try:
            ends = (ipaddress.ip_address(entry.src), ipaddress.ip_address(entry.dst))
        except ValueError:
            continue
        if any(end in net for end in ends for net in nets if end.version == net.version):
            out.append(entry)
    return out
