"""The trunk part of the "l2" desired state (issue 14): on each trunk parent bound
to the host, its sub-ports with their VLAN ids and MACs (contract/trunk.py), in one
query whatever the number of ports (none without trunks)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.contract import names
from neutrino.contract.trunk import TrunkSubPort
from neutrino.db import models
from neutrino.db.listing import rows_for_ids

SP = models.SubPort
P = models.Port


def sub_ports(session: Session, trunk_ids: list[str]) -> dict[str, list[TrunkSubPort]]:
    """Each trunk's sub-ports by VLAN id; `trunk_ids`: those of the host's trunk
    parents, as l2.py reads them with the ports. No query without ids."""
    out: dict[str, list[TrunkSubPort]] = defaultdict(list)
    stmt = (select(SP.trunk_id, SP.port_id, SP.segmentation_type, SP.segmentation_id,
                   P.mac_address).join(P, P.id == SP.port_id))
    for trunk_id, port_id, seg_type, seg_id, mac in rows_for_ids(
            session, stmt, SP.trunk_id, trunk_ids):
        out[trunk_id].append({
            "port_id": port_id, "device": names.tap_device(port_id),
            "segmentation_type": seg_type, "segmentation_id": seg_id,
            "mac_address": mac})
    for subports in out.values():
        subports.sort(key=lambda s: s["segmentation_id"])
    return out
