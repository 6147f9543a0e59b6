"""Pieces several kinds of desired state share (pure helpers and id-list queries)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.contract.common import AddressesByFamily, FixedIp
from neutrino.db import models
from neutrino.db.listing import rows_for_ids

IPA = models.IPAllocation
NS = models.NetworkSegment
A = models.Agent


def ethertype(address: str) -> str:
    return "IPv6" if ":" in address else "IPv4"


def split_by_family(addresses: list[str]) -> AddressesByFamily:
    """{"IPv4": [...], "IPv6": [...]}, each sorted and without duplicates (pure)."""
    v4: set[str] = set()
    v6: set[str] = set()
    for address in addresses:
        (v6 if ethertype(address) == "IPv6" else v4).add(address)
    return {"IPv4": sorted(v4), "IPv6": sorted(v6)}


def pick_segment(segments: list[dict[str, Any]], bound_id: str | None
                 ) -> dict[str, Any] | None:
    """The segment a port is bound to, else the network's first (pure)."""
    if bound_id is not None:
        for segment in segments:
            if segment["id"] == bound_id:
                return segment
    return min(segments, key=lambda s: s["segment_index"]) if segments else None


def ips_by_port(session: Session, port_ids: list[str]) -> dict[str, list[FixedIp]]:
    ips: dict[str, list[FixedIp]] = defaultdict(list)
    stmt = select(IPA.port_id, IPA.subnet_id, IPA.ip_address)
    for port_id, subnet_id, ip in rows_for_ids(session, stmt, IPA.port_id, port_ids):
        ips[port_id].append({"subnet_id": subnet_id, "ip_address": ip})
    for values in ips.values():
        values.sort(key=lambda i: (i["subnet_id"], i["ip_address"]))
    return ips


def segments_of(session: Session, network_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    stmt = select(NS.id, NS.network_id, NS.network_type, NS.physical_network,
                  NS.segmentation_id, NS.segment_index)
    for row in rows_for_ids(session, stmt, NS.network_id, network_ids):
        out[row.network_id].append(dict(row._mapping))
    return out


def tunneling_ip(configurations: str | None) -> str | None:
    """The `tunneling_ip` an L2 agent (Linux bridge or Open vSwitch) reports in its
    configurations (its local_ip); None when it reports none or garbage (pure)."""
    try:
        return (json.loads(configurations or "{}") or {}).get("tunneling_ip")
    except (ValueError, AttributeError):
        return None
