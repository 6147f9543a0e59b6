"""FWaaS v2 (issue 16) in the "l3" desired state: each router's firewall groups on
its interfaces, with the enabled rules of their policies in order
(contract/l3.py FirewallGroup). Three queries whatever the number of routers."""

from __future__ import annotations

from collections import defaultdict
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.contract.l3 import FirewallGroup, FirewallRule, L3State
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources.fwaas import port_text

G = models.FirewallGroup
GP = models.FirewallGroupPort
PR = models.FirewallPolicyRule
R = models.FirewallRule


def add_firewall_groups(session: Session, state: L3State) -> None:
    owner = {port["port_id"]: router["id"] for router in state["routers"]
             for port in router["interfaces"]}
    stmt = select(GP.port_id, G.id, G.status, G.admin_state_up,
                  G.ingress_firewall_policy_id, G.egress_firewall_policy_id).join(
        G, G.id == GP.firewall_group_id).order_by(G.id, GP.port_id)
    rows = rows_for_ids(session, stmt, GP.port_id, sorted(owner))
    rules = _rules(session, sorted({p for row in rows for p in row[4:] if p}))
    by_router: dict[str, dict[str, FirewallGroup]] = defaultdict(dict)
    for port_id, group_id, status, admin_state_up, ingress, egress in rows:
        mine = by_router[owner[port_id]]
        if group_id not in mine:
            mine[group_id] = {
                "id": group_id, "status": status, "admin_state_up": admin_state_up,
                "ports": [], "ingress_rules": _policy(rules, ingress),
                "egress_rules": _policy(rules, egress)}
        mine[group_id]["ports"].append(port_id)
    for router in state["routers"]:
        router["firewall_groups"] = list(by_router.get(router["id"], {}).values())


def _policy(rules: dict[str, list[FirewallRule]], policy_id: str | None
            ) -> list[FirewallRule] | None:
    return None if policy_id is None else list(rules.get(policy_id, []))


def _rules(session: Session, policy_ids: list[str]) -> dict[str, list[FirewallRule]]:
    out: dict[str, list[FirewallRule]] = defaultdict(list)
    stmt = (select(PR.firewall_policy_id, R.id, R.protocol, R.ip_version,
                   R.source_ip_address, R.destination_ip_address,
                   R.source_port_range_min, R.source_port_range_max,
                   R.destination_port_range_min, R.destination_port_range_max, R.action)
            .join(R, R.id == PR.firewall_rule_id)
            .where(R.enabled.is_(True)).order_by(PR.firewall_policy_id, PR.position))
    for row in rows_for_ids(session, stmt, PR.firewall_policy_id, policy_ids):
        (policy_id, rule_id, protocol, version, source, destination, sport_min,
         sport_max, dport_min, dport_max, action) = row
        out[policy_id].append(cast(FirewallRule, {
            "id": rule_id, "protocol": protocol, "ip_version": version,
            "source_ip_address": source, "destination_ip_address": destination,
            "source_port": port_text(sport_min, sport_max),
            "destination_port": port_text(dport_min, dport_max), "action": action}))
    return out
