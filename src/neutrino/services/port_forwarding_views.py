"""What a port forwarding looks like in answers (its own API, and a floating IP's
``port_forwardings``): shared by the forwardings' and the floating IPs' services."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources.port_forwarding import format_range

PF = models.PortForwarding


def to_dict(row: PF) -> dict[str, Any]:
    """A forwarding as the API shows it: single ports as integers, ranges as
    ``first:last`` (a side of one port shows its integer)."""
    out: dict[str, Any] = {"id": row.id, "internal_port_id": row.internal_port_id,
                           "internal_ip_address": row.internal_ip_address,
                           "protocol": row.protocol, "description": row.description,
                           "floatingip_id": row.floatingip_id}
    for side in ("external", "internal"):
        first, last = getattr(row, f"{side}_port_start"), getattr(row, f"{side}_port_end")
        if first == last:
            out[f"{side}_port"] = first
        else:
            out[f"{side}_port_range"] = format_range(first, last)
    return out


def for_floatingips(session: Session, fip_ids: list[str]) -> dict[str, list[dict]]:
    """fip id -> its forwardings as the floating IP shows them
    (expose-port-forwarding-in-fip with -detail)."""
    out: dict[str, list[dict]] = defaultdict(list)
    stmt = select(PF).order_by(PF.external_port_start, PF.protocol)
    for row in rows_for_ids(session, stmt, PF.floatingip_id, fip_ids):
        item = to_dict(row)
        del item["description"], item["floatingip_id"]
        out[row.floatingip_id].append(item)
    return out
