"""Routers on L3 agents by hand (l3_agent_scheduler): which agents host a router,
which routers an agent hosts, adding and removing one. Rescheduling changes where
the router lives, so a change publishes ("router", AFTER_UPDATE) for the agents."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.resources import validators as v
from neutrino.resources.router import RouterNotFound
from neutrino.services.agents import AgentService
from neutrino.services.deps import Deps
from neutrino.services.routers import RouterService


class RouterScheduling:
    def __init__(self, deps: Deps, routers: RouterService, agents: AgentService) -> None:
        self.deps = deps
        self.routers = routers
        self.agents = agents
        self.scheduler = routers.scheduler

    def _router_exists(self, session: Session, router_id: str) -> None:
        if not v.UUID_RE.match(router_id) or session.get(
                self.routers.model, router_id) is None:
            raise RouterNotFound(router_id=router_id)

    def _router_changed(self, ctx: Context, router_id: str) -> None:
        self.deps.events.publish("router", events.AFTER_UPDATE,
                                 events.Payload(ctx, router_id, states=(None, None)))

    def agents_of_router(self, router_id: str) -> list[dict[str, Any]]:
        def run(session: Session) -> list[dict[str, Any]]:
            self._router_exists(session, router_id)
            return self.agents.to_dicts(self.scheduler.agents_of_router(session, router_id))
        return self.deps.db.run(run, write=False)

    def routers_of_agent(self, agent_id: str) -> list[dict[str, Any]]:
        def run(session: Session) -> list[dict[str, Any]]:
            self.scheduler.l3_agent(session, agent_id)
            rows = self.scheduler.routers_of_agent(session, agent_id)
            return self.routers.to_dicts(session, rows)
        return self.deps.db.run(run, write=False)

    def add_router(self, ctx: Context, agent_id: str, router_id: str) -> None:
        def run(session: Session) -> bool:
            self.scheduler.l3_agent(session, agent_id)
            self._router_exists(session, router_id)
            return self.scheduler.add_router(session, agent_id, router_id)
        if self.deps.db.run(run):
            self._router_changed(ctx, router_id)

    def remove_router(self, ctx: Context, agent_id: str, router_id: str) -> None:
        def run(session: Session) -> None:
            self._router_exists(session, router_id)
            self.scheduler.remove_router(session, agent_id, router_id)
        self.deps.db.run(run)
        self._router_changed(ctx, router_id)
