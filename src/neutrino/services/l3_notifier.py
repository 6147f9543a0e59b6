"""`routers_updated` on topic l3_agent (fanout): tells L3 agents which routers changed.

Subscribes to the router, floating IP and port events (after commit) and hands the
router ids to `cast`, which the composition root (neutrino/core.py) points at the
process's agent notifier (rpc/notifier.py, `core.notifier`): its background thread
sends with bounded retries and queue, so a broker that is down never slows a
request. The agent then asks for its desired state (kind "l3"); a lost message costs
only a later resync. Until a ServerRuntime starts the notifier nothing is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from neutrino import events

LOG = logging.getLogger(__name__)


class L3AgentNotifier:
    def __init__(self, cast: Callable[[list[str]], None]) -> None:
        # Sends routers_updated for these router ids (never blocks).
        self.cast = cast

    def routers_updated(self, router_ids: Iterable[str | None]) -> None:
        ids = sorted({r for r in router_ids if r})
        if ids:
            self.cast(ids)

    def subscribe(self, registry: events.Registry) -> None:
        for event in (events.AFTER_CREATE, events.AFTER_UPDATE, events.AFTER_DELETE):
            registry.subscribe(self._router_event, "router", event)
            registry.subscribe(self._floatingip_event, "floatingip", event)
        registry.subscribe(self._port_deleted, "port", events.AFTER_DELETE)

    def _router_event(self, resource: str, event: str, payload: events.Payload) -> None:
        self.routers_updated([payload.resource_id])

    def _floatingip_event(self, resource: str, event: str,
                          payload: events.Payload) -> None:
        new = payload.states[-1] if payload.states else None
        self.routers_updated([payload.metadata.get("old_router_id"),
                              (new or {}).get("router_id")])

    def _port_deleted(self, resource: str, event: str, payload: events.Payload) -> None:
        self.routers_updated(payload.metadata.get("l3_routers", ()))
