"""subnet-service-types storage: one row per (subnet, service type). Which subnets
serve a port is decided in neutrino.ipam.plan."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from neutrino.db import models
from neutrino.db.listing import rows_for_ids

SST = models.SubnetServiceType


def write(session: Session, subnet_id: str, service_types: list[str]) -> None:
    """Replace the subnet's service types."""
    session.execute(delete(SST).where(SST.subnet_id == subnet_id))
    if service_types:
        session.execute(insert(SST), [{"subnet_id": subnet_id, "service_type": t}
                                      for t in service_types])


def load(session: Session, subnet_ids: list[str]) -> dict[str, list[str]]:
    """Each subnet's service types (sorted); subnets without any are absent."""
    out: dict[str, list[str]] = defaultdict(list)
    stmt = select(SST.subnet_id, SST.service_type).order_by(SST.service_type)
    for subnet_id, service_type in rows_for_ids(session, stmt, SST.subnet_id, subnet_ids):
        out[subnet_id].append(service_type)
    return out
