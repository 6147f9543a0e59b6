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
kernel's comment differs, and then deletes the router's tracked connections so a
rule that now denies a flow cuts it (upstream flushes them for a new group too).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    kernel reports for it, and the status each enforced group is to be reported."""

    text: str
    comment: str
    statuses: Mapping[str, str]


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
    for name, body in rules.items():
        lines.append(f"\tchain {name} {{")
        if name in HOOKS:
            lines.append(f"\t\t{HOOKS[name]}")
        lines += [f"\t\t{rule}" for rule in body]
        lines.append("\t}")
    text_body = "".join(line + "\n" for line in lines)
    comment = COMMENT_PREFIX + hashlib.sha256(text_body.encode()).hexdigest()[:DIGEST_LEN]
    text = f"table {FAMILY} {TABLE} {{\n\tcomment \"{comment}\"\n{text_body}}}\n"
    statuses = {str(g["id"]): ACTIVE if g.get("admin_state_up", True) else DOWN
                for g in enforced(router)}
    return FirewallTable(text=text, comment=comment, statuses=statuses)


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
