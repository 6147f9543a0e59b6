"""The trunk part of the "l2" desired state (issue 14): on each trunk parent bound
to the host, its sub-ports with their VLAN ids and MACs (contract/trunk.py), in one
query whatever the number of ports (none without trunks)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.contract import names
from neutrino.contract.l2 import L2Port
from neutrino.contract.trunk import TrunkSubPort
from neutrino.db import models
from neutrino.db.listing import rows_for_ids

SP = models.SubPort
P = models.Port


def add_trunks(session: Session, ports: list[L2Port],
               trunks: Mapping[str, tuple[str, bool]]) -> None:
    """Set `trunk` on the ports that are a trunk's parent; `trunks`: parent port id
    -> (trunk id, its admin_state_up), as l2.py reads them with the ports."""
    if not trunks:
        return
    subports: dict[str, list[TrunkSubPort]] = defaultdict(list)
    stmt = (select(SP.trunk_id, SP.port_id, SP.segmentation_type, SP.segmentation_id,
                   P.mac_address).join(P, P.id == SP.port_id))
    for trunk_id, port_id, seg_type, seg_id, mac in rows_for_ids(
            session, stmt, SP.trunk_id, [t for t, _ in trunks.values()]):
        subports[trunk_id].append({
            "port_id": port_id, "device": names.tap_device(port_id),
            "segmentation_type": seg_type, "segmentation_id": seg_id,
            "mac_address": mac})
    for port in ports:
        found = trunks.get(port["id"])
        if found is not None:
            trunk_id, up = found
            port["trunk"] = {"trunk_id": trunk_id, "admin_state_up": up,
                             "sub_ports": sorted(subports.get(trunk_id, []),
                                                 key=lambda s: s["segmentation_id"])}
