"""What the server does for L3 agents beyond the "l3" desired state
(services/desired_state/l3.py):

* `ports_to_bind`: the router ports (interfaces and gateway) in an agent's state
  that are not bound to the agent's host yet. The RPC endpoint
  (rpc/l3_endpoints.py ``sync_routers``) binds them (``binding:host_id``) through
  the port service, as upstream's ``sync_routers`` does, so the host's Linux bridge
  agent sees them in its "l2" state, plugs their taps and reports them up (the
  router ports go ACTIVE like VM ports).
* `set_floatingip_statuses`: the statuses an agent reports
  (``update_floatingip_statuses``), for the floating IPs of that router only; a
  change bumps the floating IP's revision. No event is published: it would only
  tell the L3 agents to look at a router they just converged.
* a floating IP that loses its router (disassociated, or its port deleted) is set
  DOWN (`subscribe`): no agent carries it any more, and no agent would report it
  (upstream finds them by their last known router; we have no such column).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.contract.l3 import L3State
from neutrino.contract.topics import AGENT_TYPE_L3
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.services import common
from neutrino.services.l3_ha import RouterHa, port_host
from neutrino.services.port_binding import load_bindings

LOG = logging.getLogger(__name__)
FIP = models.FloatingIP

FLOATINGIP_STATUSES = ("ACTIVE", "DOWN", "ERROR")
DOWN = "DOWN"


def router_port_ids(state: L3State) -> list[str]:
    """The ports of every router of an "l3" state (gateway and interfaces)."""
    out: list[str] = []
    for router in state["routers"]:
        gateway = router["gateway"]
        if gateway:
            out.append(gateway["port_id"])
        out += [interface["port_id"] for interface in router["interfaces"]]
    return out


def ports_to_bind(session: Session, state: L3State, host: str) -> list[tuple[str, str]]:
    """(port, host) for the router ports of `state` not bound where they belong:
    `host` for a legacy router's; for a HA router's, a host of an agent that
    reports it active (l3_ha.port_host), or `host` while none does and the port is
    bound nowhere (the first of its agents to ask; the others' copies wait
    unplugged)."""
    ha_ids = [router["id"] for router in state["routers"] if router.get("ha")]
    active = RouterHa.active_hosts(session, ha_ids) if ha_ids else {}
    wanted: list[tuple[str, str | None]] = []
    for router in state["routers"]:
        ids = router_port_ids({"host": host, "routers": [router]})
        wanted += [(port_id, router["id"] if router.get("ha") else None) for port_id in ids]
    bindings = load_bindings(session, [port_id for port_id, _ in wanted])
    out = []
    for port_id, ha_router in wanted:
        current = bindings[port_id].host if port_id in bindings else None
        if ha_router is None:
            target: str | None = host
        else:
            target = port_host(current, active.get(ha_router, []))
            if target is None:  # no agent reports it active yet
                target = current or host
        if current != target and target:
            out.append((port_id, target))
    return out


def ha_routers_of_host(session: Session, host: str) -> list[str]:
    """The HA routers scheduled to the L3 agent of `host`."""
    stmt = (select(models.Router.id)
            .join(models.RouterL3AgentBinding,
                  models.RouterL3AgentBinding.router_id == models.Router.id)
            .join(models.Agent, models.Agent.id == models.RouterL3AgentBinding.l3_agent_id)
            .where(models.Agent.host == host, models.Agent.agent_type == AGENT_TYPE_L3,
                   models.Router.ha.is_(True))
            .order_by(models.Router.id))
    return list(session.scalars(stmt))


def ports_to_move(session: Session, router_ids: list[str],
                  taken: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(port, host) for the ports (interfaces, gateway) of these HA routers that
    are not on a host whose agent reports their router active; `taken`: router ->
    the host that just took it over (its ports go there, whatever a split left
    elsewhere)."""
    taken = taken or {}
    rows = list(session.execute(select(models.RouterPort.router_id,
                                       models.RouterPort.port_id).where(
        models.RouterPort.router_id.in_(router_ids)).order_by(models.RouterPort.port_id)))
    active = RouterHa.active_hosts(session, router_ids)
    bindings = load_bindings(session, [port_id for _, port_id in rows])
    out = []
    for router_id, port_id in rows:
        current = bindings[port_id].host if port_id in bindings else None
        target = taken.get(router_id) or port_host(current, active.get(router_id, []))
        if target and target != current:
            out.append((port_id, target))
    return out


def set_floatingip_statuses(session: Session, router_id: str,
                            statuses: dict[str, str]) -> list[str]:
    """Set the reported statuses of `router_id`'s floating IPs; the ids changed.
    Unknown statuses and floating IPs of other routers (moved meanwhile) are
    ignored."""
    wanted = {fip_id: status for fip_id, status in statuses.items()
              if status in FLOATINGIP_STATUSES}
    if not wanted:
        return []
    changed = []
    rows = session.scalars(select(FIP).where(FIP.id.in_(sorted(wanted)),
                                             FIP.router_id == router_id))
    for row in rows:
        status = wanted[row.id]
        if row.status != status:
            row.status = status
            common.bump_revision(row)
            changed.append(row.id)
    return changed


def down_unassociated(session: Session, fip_ids: Iterable[str]) -> list[str]:
    """Set DOWN those of the floating IPs that have no router; the ids changed."""
    ids = sorted(set(fip_ids))
    if not ids:
        return []
    changed = []
    for row in session.scalars(select(FIP).where(FIP.id.in_(ids), FIP.router_id.is_(None),
                                                 FIP.status != DOWN)):
        row.status = DOWN
        common.bump_revision(row)
        changed.append(row.id)
    return changed


def subscribe(registry: events.Registry, db: Database) -> None:
    """Floating IPs left without a router go DOWN (after the change committed)."""

    def on_update(resource: str, event: str, payload: events.Payload) -> None:
        new = payload.states[-1] if payload.states else None
        if new and not new.get("router_id") and new.get("status") != DOWN:
            db.run(lambda session: down_unassociated(session, [payload.resource_id]))

    def on_port_deleted(resource: str, event: str, payload: events.Payload) -> None:
        fips = payload.metadata.get("floatingips")
        if fips:
            db.run(lambda session: down_unassociated(session, fips))

    registry.subscribe(on_update, "floatingip", events.AFTER_UPDATE)
    registry.subscribe(on_port_deleted, "port", events.AFTER_DELETE)
