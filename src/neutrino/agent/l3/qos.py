"""Bandwidth limits in a router namespace (qos-fip, qos-gateway-ip): a router of the
"l3" desired state in, the tc commands out. Pure (no I/O).

Each floating IP the router carries with a QoS policy, and the gateway's own
address (the SNAT source) with the gateway's policy, get their bandwidth_limit
rules. Directions are upstream's: *egress* is what leaves the cloud through the
address, *ingress* what comes to it.

::

    qg-… root htb 1:                               egress (after SNAT: source is
      class 1:1N rate/ceil = limit                  the floating or gateway address)
      u32 match ip src <address>/32 → 1:1N          unmatched traffic: not shaped
    qg-… ingress ffff:                             ingress (before DNAT/de-SNAT:
      u32 match ip dst <address>/32                 destination is the address)
        action mirred egress redirect → ifb-<gateway port[:11]>
    ifb-… root htb 1:
      class 1:1N rate/ceil = limit
      u32 match ip dst <address>/32 → 1:1N

This kernel has no ``act_police``, hence htb classes and, for ingress, the ifb.
The burst is the rule's ``max_burst_kbps`` or 80% of the rate (as the Linux bridge
side, agent/qos/plan.py). The ifb exists whenever the router has any limit and
carries, as its alias, the digest of the whole set-up: the agent rebuilds the
router's tc set-up only when the digest differs (deleting the qg- device's qdiscs
and the ifb first), and removes it when no limit is left.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neutrino.agent.l3 import nat
from neutrino.agent.qos.plan import Limit

IFB_PREFIX = "ifb-"
ALIAS_PREFIX = "neutrino-l3-qos sha256="
CLASS_BASE = 10
PRIO = "1"


@dataclass(frozen=True, order=True)
class AddressLimit:
    """The limits of one address (a floating IP or the gateway's)."""

    address: str
    egress: Limit | None = None
    ingress: Limit | None = None


@dataclass(frozen=True)
class QosPlan:
    device: str            # the gateway (qg-…)
    ifb: str               # ifb-<gateway port[:11]>
    alias: str             # the ifb's alias: the digest of the commands
    commands: tuple[tuple[str, ...], ...]  # tc arguments, in order, after the ifb


def ifb_name(gateway_port_id: str) -> str:
    return IFB_PREFIX + gateway_port_id[:11]


def _limits(rules: Any) -> tuple[Limit | None, Limit | None]:
    egress = ingress = None
    for rule in rules or []:
        if rule.get("type") != "bandwidth_limit" or not rule.get("max_kbps"):
            continue
        limit = Limit.from_rule(int(rule["max_kbps"]), int(rule.get("max_burst_kbps") or 0))
        if rule.get("direction") == "ingress":
            ingress = limit
        else:
            egress = limit
    return egress, ingress


def address_limits(router: Mapping[str, Any]) -> list[AddressLimit]:
    """The limited addresses of a router the agent realises: its carried floating
    IPs (mapped to a fixed IP, or forwarding ports) and its IPv4 gateway address."""
    carried = set(nat.floating_mappings(router)) | set(nat.forwarded_addresses(router))
    out: dict[str, AddressLimit] = {}
    for fip in router.get("floating_ips") or []:
        address = fip.get("floating_ip_address")
        if address in carried:
            egress, ingress = _limits(fip.get("qos_rules"))
            if egress or ingress:
                out[address] = AddressLimit(address, egress, ingress)
    gateway = nat.gateway_address(router)
    if gateway is not None:
        egress, ingress = _limits(router.get("gateway_qos_rules"))
        if egress or ingress:
            out[gateway] = AddressLimit(gateway, egress, ingress)
    return sorted(out.values(), key=lambda a: ipaddress.ip_address(a.address))


def _htb(device: str, limits: list[tuple[str, Limit]], match: str
         ) -> list[tuple[str, ...]]:
    commands: list[tuple[str, ...]] = [
        ("qdisc", "replace", "dev", device, "root", "handle", "1:", "htb")]
    for index, (address, limit) in enumerate(limits):
        classid = f"1:{CLASS_BASE + index}"
        rate = f"{limit.rate * 8}bit"
        commands.append(("class", "add", "dev", device, "parent", "1:", "classid", classid,
                         "htb", "rate", rate, "ceil", rate, "burst", str(limit.burst)))
        commands.append(("filter", "add", "dev", device, "parent", "1:", "protocol", "ip",
                         "prio", PRIO, "u32", "match", "ip", match, f"{address}/32",
                         "flowid", classid))
    return commands


def plan(router: Mapping[str, Any]) -> QosPlan | None:
    """The router's tc set-up; None when it has no limit (or no gateway)."""
    gateway = router.get("gateway") or {}
    device = nat.gateway_device(router)
    limits = address_limits(router)
    if not limits or device is None or not gateway.get("port_id"):
        return None
    ifb = ifb_name(gateway["port_id"])
    egress = [(a.address, a.egress) for a in limits if a.egress is not None]
    ingress = [(a.address, a.ingress) for a in limits if a.ingress is not None]
    commands: list[tuple[str, ...]] = []
    if egress:
        commands += _htb(device, egress, "src")
    if ingress:
        commands += _htb(ifb, ingress, "dst")
        commands.append(("qdisc", "add", "dev", device, "handle", "ffff:", "ingress"))
        for address, _ in ingress:
            commands.append(("filter", "add", "dev", device, "parent", "ffff:", "protocol",
                             "ip", "prio", PRIO, "u32", "match", "ip", "dst",
                             f"{address}/32", "action", "mirred", "egress", "redirect",
                             "dev", ifb))
    digest = hashlib.sha256(repr(commands).encode()).hexdigest()[:16]
    return QosPlan(device=device, ifb=ifb, alias=ALIAS_PREFIX + digest,
                   commands=tuple(commands))


def teardown(device: str) -> list[tuple[str, ...]]:
    """What removes a set-up from the gateway: its root and ingress qdiscs (a
    missing one is fine); the caller deletes the ifbs."""
    return [("qdisc", "del", "dev", device, "root"),
            ("qdisc", "del", "dev", device, "ingress")]


def qdiscs_in_place(want: QosPlan, qdiscs: list[dict[str, object]]) -> bool:
    """The gateway still has the qdiscs of `want` (``tc -j qdisc show dev``): a
    gateway link made anew (same port, same digest on the ifb) has lost them."""
    kinds = {str(q.get("kind")) for q in qdiscs if q.get("root") or q.get("kind") == "ingress"}
    needed = {c[7] for c in want.commands if c[:2] == ("qdisc", "replace")
              and c[3] == want.device}
    if any(c[:2] == ("qdisc", "add") and c[3] == want.device for c in want.commands):
        needed.add("ingress")
    return needed <= kinds


def up_to_date(want: QosPlan | None, ifbs: Mapping[str, str | None]) -> bool:
    """`ifbs`: the namespace's ifb devices and their aliases."""
    if want is None:
        return not ifbs
    return dict(ifbs) == {want.ifb: want.alias}
