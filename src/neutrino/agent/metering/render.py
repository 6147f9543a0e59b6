"""A router's metering as one nftables ``inet`` table in its ``qrouter-`` namespace:
a router of the metering state in, the table's text out; and the counters the
kernel reports, read back. Pure (no I/O).

::

  table inet neutrino-meter {
    comment "neutrino sha256=<16 hex>"      the digest of everything below
    counter l-<label> { }                   one per label: what the agent reports
    chain forward {
      type filter hook forward priority filter - 10; policy accept;
      jump r-<label>                        per label
    }
    chain r-<label> {                       the label's rules:
      <match> return                        excluded ones first,
      <match> counter name "l-<label>" return      then the counted ones
    }
  }

A rule matches traffic routed through the router's gateway device (``qg-…``):
ingress comes in through it (``iifname``), egress leaves through it (``oifname``);
``source_ip_prefix``/``destination_ip_prefix`` match the packet's addresses. The
deprecated ``remote_ip_prefix`` keeps upstream's meaning (its iptables driver): the
source of egress traffic, the destination of ingress traffic, i.e. the router's
internal side. In the forward hook, DNAT (prerouting) has already happened and SNAT
(postrouting) not yet, so internal addresses are the VMs' fixed IPs, as upstream's
FORWARD chain sees them.

A packet is counted once per label however many of its rules match (``return`` after
the count); upstream jumps to the label's counter once per matching rule, which is
why it refuses overlapping rules. IPv4 and IPv6 prefixes both work (``inet``); a
rule mixing families matches nothing and is left out. A router without a gateway
gets no table (every rule matches on the gateway), as upstream.

The agent compares the digest in the kernel's table comment with the rendered one
and, when they differ, reads the counters (and resets them) before replacing the
whole table in one ``nft -f`` batch, so a change loses at most the packets counted
between those two commands.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neutrino.contract.metering import MeteringLabel, MeteringRouter, MeteringRule

FAMILY = "inet"
TABLE = "neutrino-meter"
COMMENT_PREFIX = "neutrino sha256="
DIGEST_LEN = 16
COUNTER_PREFIX = "l-"
CHAIN_PREFIX = "r-"
PRIORITY = "filter - 10"


@dataclass(frozen=True)
class MeterTable:
    """The rendered table: its ``nft -f`` text (comment included), the comment the
    kernel will report for it, and the labels it counts."""

    text: str
    comment: str
    labels: tuple[str, ...] = field(default=())


def counter_name(label_id: str) -> str:
    return COUNTER_PREFIX + label_id


def _family(cidr: str) -> str:
    return "ip" if ipaddress.ip_interface(cidr).version == 4 else "ip6"


def _network(cidr: str) -> str:
    return str(ipaddress.ip_interface(cidr).network)


def match(rule: MeteringRule, gateway: str) -> str | None:
    """The nft match of a rule on `gateway`; None when it can match nothing (a
    source and a destination of different families)."""
    device = (f'oifname "{gateway}"' if rule["direction"] == "egress"
              else f'iifname "{gateway}"')
    remote = rule["remote_ip_prefix"]
    if remote:
        field_name = "saddr" if rule["direction"] == "egress" else "daddr"
        return f"{_family(remote)} {field_name} {_network(remote)} {device}"
    parts = []
    families = set()
    for field_name, cidr in (("saddr", rule["source_ip_prefix"]),
                             ("daddr", rule["destination_ip_prefix"])):
        if cidr:
            families.add(_family(cidr))
            parts.append(f"{_family(cidr)} {field_name} {_network(cidr)}")
    if len(families) > 1:
        return None
    return " ".join([*parts, device])


def label_rules(label: MeteringLabel, gateway: str) -> list[str]:
    """The label chain's rules: excluded first (they take traffic out of the
    count whatever the order of creation), then the counted ones; each in the
    order of the rules' ids, so the text does not depend on the server's order."""
    rules = sorted(label["rules"], key=lambda r: (not r["excluded"], r["id"]))
    out = []
    for rule in rules:
        matched = match(rule, gateway)
        if matched is None:
            continue
        if rule["excluded"]:
            out.append(f"{matched} return")
        else:
            out.append(f'{matched} counter name "{counter_name(label["id"])}" return')
    return out


def render(router: MeteringRouter) -> MeterTable | None:
    """The metering table of one router; None when it must have none (no gateway,
    no label)."""
    gateway = router["gateway_device"]
    labels = sorted(router["labels"], key=lambda label: label["id"])
    if gateway is None or not labels:
        return None
    lines = [f"\tcounter {counter_name(label['id'])} {{\n\t}}" for label in labels]
    lines += ["\tchain forward {",
              f"\t\ttype filter hook forward priority {PRIORITY}; policy accept;",
              *(f"\t\tjump {CHAIN_PREFIX}{label['id']}" for label in labels), "\t}"]
    for label in labels:
        lines += [f"\tchain {CHAIN_PREFIX}{label['id']} {{",
                  *(f"\t\t{rule}" for rule in label_rules(label, gateway)), "\t}"]
    body = "".join(line + "\n" for line in lines)
    comment = COMMENT_PREFIX + hashlib.sha256(body.encode()).hexdigest()[:DIGEST_LEN]
    text = f"table {FAMILY} {TABLE} {{\n\tcomment \"{comment}\"\n{body}}}\n"
    return MeterTable(text=text, comment=comment,
                      labels=tuple(label["id"] for label in labels))


def replace_batch(table: MeterTable) -> str:
    """``nft -f`` input that replaces our table by `table` atomically."""
    return delete_batch() + table.text


def delete_batch() -> str:
    """Deletes our table (declaring it first makes the delete safe when absent)."""
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"


Counts = dict[str, tuple[int, int]]  # label id -> (packets, bytes)


def counters(listing_json: str | None) -> Counts:
    """The labels' counters from ``nft -j reset|list counters table inet
    neutrino-meter``; empty without a table (None) or output."""
    if not listing_json:
        return {}
    try:
        items = json.loads(listing_json).get("nftables", [])
    except (ValueError, AttributeError):
        return {}
    out: Counts = {}
    for item in items:
        counter: Mapping[str, Any] = item.get("counter") or {} if isinstance(item, dict) \
            else {}
        name = str(counter.get("name", ""))
        if counter.get("table") != TABLE or not name.startswith(COUNTER_PREFIX):
            continue
        out[name[len(COUNTER_PREFIX):]] = (int(counter.get("packets", 0)),
                                           int(counter.get("bytes", 0)))
    return out


def add_counts(total: Counts, more: Counts) -> Counts:
    """Per label sums (a label on several routers is one count, as upstream)."""
    out = dict(total)
    for label, (packets, size) in more.items():
        old = out.get(label, (0, 0))
        out[label] = (old[0] + packets, old[1] + size)
    return out
