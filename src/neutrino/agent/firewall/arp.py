"""ARP and MAC anti-spoofing as one nftables ``bridge`` table: the "l2" desired
state in, the table's text out. Pure (no I/O).

ARP is not IP, so the iptables side (render.py) never sees it: without this a VM
could answer ARP for another VM's address (ARP cache poisoning) or send frames
from a MAC that is not its own. Upstream's Linux bridge agent uses ebtables; here
it is the nft bridge family (no conntrack needed)::

  table bridge neutrino-arp {
    comment "neutrino sha256=<16 hex>"     the digest of everything below
    chain port-<port id> {                 one per filtered port (render.is_filtered)
      ether saddr != { <MACs> } drop
      ether type arp arp saddr ether != { <MACs> } drop
      ether type arp arp saddr ip != { 0.0.0.0, <IPv4 addresses/CIDRs> } drop
    }
    chain prerouting {
      type filter hook prerouting priority -200; policy accept;
      iifname vmap { "<tap>" : jump port-<port id>, ... }
    }
  }

MACs: the port's and those of its allowed address pairs. Sender IPs: the port's
IPv4 fixed IPs and IPv4 allowed address pairs (addresses or CIDRs), and 0.0.0.0
(ARP probes before an address is in use, DHCP's duplicate address check). Frames
of other taps (unfiltered ports, the bridge's other links) are not looked at. No
filtered port: no table at all.

The driver compares the digest in the kernel's table comment with the rendered one
and replaces the whole table in one ``nft -f`` batch only when they differ.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from neutrino.agent.firewall.render import device_of, is_filtered
from neutrino.contract.l2 import L2Port, L2State

FAMILY = "bridge"
TABLE = "neutrino-arp"
CHAIN_PREFIX = "port-"
PRIORITY = -200  # the bridge family's "filter" priority
COMMENT_PREFIX = "neutrino sha256="
DIGEST_LEN = 16
ANY_SENDER = ipaddress.IPv4Network("0.0.0.0/32")  # ARP probes, DHCP's address check


@dataclass(frozen=True)
class ArpTable:
    """The rendered table: its ``nft -f`` text (comment included) and the comment
    the kernel will report for it."""

    text: str
    comment: str


def render(desired: L2State) -> ArpTable | None:
    """The anti-spoofing table of an "l2" desired state; None when no port is
    filtered (then there must be no table)."""
    ports = sorted((p for p in desired["ports"] if is_filtered(p)),
                   key=lambda p: (device_of(p), p["id"]))
    chains: dict[str, list[str]] = {}
    vmap: dict[str, str] = {}
    for port in ports:
        device = device_of(port)
        if device in vmap:
            continue  # one tap, one entry (nft refuses a duplicate key)
        name = chain_name(port["id"])
        chains[name] = port_rules(port)
        vmap[device] = name
    if not chains:
        return None
    body = _body(chains, vmap)
    comment = COMMENT_PREFIX + hashlib.sha256(body.encode()).hexdigest()[:DIGEST_LEN]
    text = f"table {FAMILY} {TABLE} {{\n\tcomment \"{comment}\"\n{body}}}\n"
    return ArpTable(text=text, comment=comment)


def chain_name(port_id: str) -> str:
    return CHAIN_PREFIX + port_id


def port_rules(port: L2Port) -> list[str]:
    """The rules of one filtered port's chain, in order."""
    macs = f"{{ {', '.join(allowed_macs(port))} }}"
    rules = [f"ether saddr != {macs} drop",
             f"ether type arp arp saddr ether != {macs} drop"]
    senders = allowed_senders(port)
    if senders != [ipaddress.ip_network("0.0.0.0/0")]:  # an AAP of 0.0.0.0/0: any
        ips = ", ".join(_member(net) for net in senders)
        rules.append(f"ether type arp arp saddr ip != {{ {ips} }} drop")
    return rules


def allowed_macs(port: L2Port) -> list[str]:
    """The port's MAC and its allowed address pairs' MACs, sorted."""
    macs = {port["mac_address"].lower()}
    for pair in port["allowed_address_pairs"]:
        if pair["mac_address"]:
            macs.add(pair["mac_address"].lower())
    return sorted(macs)


def allowed_senders(port: L2Port) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks an ARP sender address of the port may be in: 0.0.0.0, its
    IPv4 fixed IPs and allowed address pairs; collapsed (no overlaps) and sorted."""
    values = [fixed["ip_address"] for fixed in port["fixed_ips"]]
    values += [pair["ip_address"] for pair in port["allowed_address_pairs"]]
    senders: list[ipaddress.IPv4Network] = [ANY_SENDER, *_ipv4(values)]
    return list(ipaddress.collapse_addresses(senders))


def _ipv4(values: Iterable[str | None]) -> Iterable[ipaddress.IPv4Network]:
    for value in values:
        if not value:
            continue
        try:
            net = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            continue
        if isinstance(net, ipaddress.IPv4Network):
            yield net


def _member(net: ipaddress.IPv4Network) -> str:
    return str(net.network_address) if net.prefixlen == 32 else str(net)


def _body(chains: Mapping[str, list[str]], vmap: Mapping[str, str]) -> str:
    """The chains then the base chain (a vmap may only jump to declared chains)."""
    lines: list[str] = []
    for name in sorted(chains):
        lines += [f"\tchain {name} {{", *(f"\t\t{rule}" for rule in chains[name]), "\t}"]
    entries = ", ".join(f'"{device}" : jump {vmap[device]}' for device in sorted(vmap))
    lines += ["\tchain prerouting {",
              f"\t\ttype filter hook prerouting priority {PRIORITY}; policy accept;",
              f"\t\tiifname vmap {{ {entries} }}",
              "\t}"]
    return "".join(line + "\n" for line in lines)


def replace_batch(table: ArpTable) -> str:
    """``nft -f`` input that replaces our table by `table` atomically (declaring it
    first makes the delete safe when there is none yet)."""
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n" + table.text
