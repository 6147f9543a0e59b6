"""The metering agent's state (contract/metering.py): the routers scheduled to the
host's L3 agent that carry at least one label (their project's labels and every
shared label, as upstream), each label with its rules. Three queries whatever the
number of routers.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from neutrino.contract import names, topics
from neutrino.contract.metering import MeteringLabel, MeteringRouter, MeteringState
from neutrino.db import models

A = models.Agent
B = models.RouterL3AgentBinding
R = models.Router
L = models.MeteringLabel
LR = models.MeteringLabelRule


def build(session: Session, host: str) -> MeteringState:
    routers = session.execute(
        select(R.id, R.name, R.project_id, R.admin_state_up, R.gw_port_id)
        .join(B, B.router_id == R.id).join(A, A.id == B.l3_agent_id)
        .where(A.agent_type == topics.AGENT_TYPE_L3, A.host == host)
        .order_by(R.id)).all()
    projects = sorted({r.project_id for r in routers if r.project_id is not None})
    labels = _labels(session, projects) if routers else []
    out: list[MeteringRouter] = []
    for router in routers:
        mine = [label for label in labels
                if label["shared"] or label["project_id"] == router.project_id]
        if not mine:
            continue
        out.append({
            "id": router.id, "name": router.name, "project_id": router.project_id,
            "admin_state_up": router.admin_state_up,
            "gateway_device": (names.router_gateway(router.gw_port_id)
                               if router.gw_port_id else None),
            "labels": mine})
    return {"host": host, "routers": out}


def _labels(session: Session, projects: list[str]) -> list[MeteringLabel]:
    """The labels of these projects and the shared ones, with their rules."""
    rows = session.scalars(select(L).where(or_(L.shared.is_(True),
                                               L.project_id.in_(projects)))
                           .order_by(L.id)).all()
    rules: dict[str, list] = defaultdict(list)
    if rows:
        stmt = (select(LR).where(LR.metering_label_id.in_([r.id for r in rows]))
                .order_by(LR.id))
        for rule in session.scalars(stmt):
            rules[rule.metering_label_id].append({
                "id": rule.id, "direction": rule.direction, "excluded": rule.excluded,
                "remote_ip_prefix": rule.remote_ip_prefix,
                "source_ip_prefix": rule.source_ip_prefix,
                "destination_ip_prefix": rule.destination_ip_prefix})
    return [{"id": r.id, "name": r.name, "shared": r.shared, "project_id": r.project_id,
             "rules": rules.get(r.id, [])} for r in rows]
