"""QoS on the L3 side (qos-fip, qos-gateway-ip): `qos_policy_id` of floating IPs
and of routers' external gateways, their rules in the "l3" desired state, and the
routers told when a policy they use changes.

A policy given must be one the caller may use (own, shared with its project, or the
caller is an admin): else 404 QosPolicyNotFound, as upstream. The L3 agent applies
the bandwidth_limit rules (per floating IP and on the gateway address); other types
are accepted, as upstream, and left to nothing on this side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.db.listing import rows_for_ids
from neutrino.services.qos_bindings import check_usable
from neutrino.services.qos_policies import OBJECT_TYPE, policy_rules

FB = models.QosFipPolicyBinding
GB = models.QosRouterGatewayPolicyBinding
ATTR = "qos_policy_id"
# What the L3 agent applies (agent/l3/qos.py).
L3_RULE_TYPES = ("bandwidth_limit",)


def _set(session: Session, model: Any, column: str, object_id: str,
         policy_id: str | None) -> None:
    row = session.get(model, object_id)
    if row is not None and (policy_id is None or row.qos_policy_id != policy_id):
        session.delete(row)
        session.flush()
        row = None
    if policy_id is not None and row is None:
        session.add(model(**{column: object_id, "qos_policy_id": policy_id}))
        session.flush()


def set_fip_policy(session: Session, ctx: Context, fip_id: str, policy_id: str | None,
                   old: str | None = None) -> None:
    """Bind the floating IP to `policy_id` (None: unbind)."""
    if policy_id is not None and policy_id != old:
        check_usable(session, ctx, policy_id)
    _set(session, FB, "fip_id", fip_id, policy_id)


def set_gateway_policy(session: Session, ctx: Context, router_id: str,
                       policy_id: str | None, old: str | None = None) -> None:
    """Bind the router's gateway to `policy_id` (None: unbind)."""
    if policy_id is not None and policy_id != old:
        check_usable(session, ctx, policy_id)
    _set(session, GB, "router_id", router_id, policy_id)


def fip_policies(session: Session, fip_ids: list[str]) -> dict[str, str]:
    return dict(rows_for_ids(session, select(FB.fip_id, FB.qos_policy_id), FB.fip_id,
                             fip_ids))


def gateway_policies(session: Session, router_ids: list[str]) -> dict[str, str]:
    return dict(rows_for_ids(session, select(GB.router_id, GB.qos_policy_id),
                             GB.router_id, router_ids))


def l3_rules(session: Session, policy_ids: Iterable[str]) -> dict[str, list[dict]]:
    """policy -> its rules the L3 agent applies, as the "l3" state carries them
    (contract/qos.py BandwidthLimitRule)."""
    out: dict[str, list[dict]] = {}
    for policy_id, rules in policy_rules(session, sorted(set(policy_ids))).items():
        out[policy_id] = [{k: v for k, v in r.items() if k != "qos_policy_id"}
                          for r in rules if r["type"] in L3_RULE_TYPES]
    return out


def routers_using(session: Session, policy_id: str) -> list[str]:
    """Routers whose floating IPs or gateway use the policy."""
    fips = select(models.FloatingIP.router_id).join(
        FB, FB.fip_id == models.FloatingIP.id).where(FB.qos_policy_id == policy_id)
    gateways = select(GB.router_id).where(GB.qos_policy_id == policy_id)
    return sorted({r for r in session.scalars(fips) if r} | set(session.scalars(gateways)))


def subscribe(registry: events.Registry, db: Database,
              routers_updated: Callable[[Iterable[str | None]], None]) -> None:
    """A policy (or one of its rules) changed: its routers' L3 agents resync."""
    def on_policy(resource: str, event: str, payload: events.Payload) -> None:
        policy_id = payload.resource_id
        if policy_id:
            routers_updated(db.run(lambda s: routers_using(s, policy_id), write=False))
    registry.subscribe(on_policy, OBJECT_TYPE, events.AFTER_UPDATE)
