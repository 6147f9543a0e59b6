"""Security-group log changes reach the L2 agents (issue 14): creating, enabling,
disabling or deleting a log makes the agents of the networks of the ports it covers
resync, as a network update would (their "l2" desired state carries each port's
logs, services/desired_state/logs.py). A change of name or description only
changes nothing on the agents and sends nothing.

`cast` is built by the composition root (neutrino/core.py) on the process's agent
notifier; it gets a function listing the affected networks, called on the
notifier's thread, so the request that changed the log waits for no query.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.db import models
from neutrino.db.engine import Database

P = models.Port
PB = models.PortBinding
SGB = models.SecurityGroupPortBinding

NetworkIds = Callable[[], list[str]]


def affected_networks(session: Session, log: dict) -> list[str]:
    """Networks with a bound port the log covers (the same rule as
    desired_state/logs.py `covers`)."""
    stmt = select(P.network_id).join(PB, PB.port_id == P.id).where(PB.host != "")
    if log.get("target_id"):
        stmt = stmt.where(P.id == log["target_id"])
    elif log.get("resource_id"):
        stmt = stmt.join(SGB, SGB.port_id == P.id).where(
            SGB.security_group_id == log["resource_id"])
    else:
        stmt = stmt.where(P.project_id == log["project_id"])
    return sorted(set(session.scalars(stmt)))


def changed_log(event: str, states: tuple) -> dict | None:
    """The log whose ports must resync after `event`, or None when the agents'
    state does not change (a disabled log created or deleted, a rename)."""
    if event == events.AFTER_UPDATE:
        old, new = states
        return new if bool(old.get("enabled")) != bool(new.get("enabled")) else None
    log = states[-1] if states else None
    return log if log and log.get("enabled") else None


class LogAgentNotifier:
    def __init__(self, db: Database, cast: Callable[[NetworkIds], None]) -> None:
        self.db = db
        # Sends network_update for the networks the function lists (never blocks).
        self.cast = cast

    def subscribe(self, registry: events.Registry) -> None:
        for event in (events.AFTER_CREATE, events.AFTER_UPDATE, events.AFTER_DELETE):
            registry.subscribe(self._on_log, "log", event)

    def _on_log(self, resource: str, event: str, payload: events.Payload) -> None:
        log = changed_log(event, payload.states)
        if log is None:
            return

        def networks() -> list[str]:
            return self.db.run(lambda s: affected_networks(s, log), write=False)
        self.cast(networks)
