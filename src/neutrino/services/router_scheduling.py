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
from neutrino.services.l3_ha import UNKNOWN, RouterHa
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
        """The router's agents, each with `ha_state` (l3-ha): the router's VRRP
        state there for a HA router (unknown: the agent is not alive), None for a
        legacy one."""
        def run(session: Session) -> list[dict[str, Any]]:
            self._router_exists(session, router_id)
            agents = self.agents.to_dicts(
                self.scheduler.agents_of_router(session, router_id))
            router = session.get(self.routers.model, router_id)
            states = (RouterHa.agent_states(session, router_id,
                                            {a["id"]: a["alive"] for a in agents})
                      if router is not None and router.ha else {})
            for agent in agents:
                agent["ha_state"] = (states.get(agent["id"], UNKNOWN)
                                     if router is not None and router.ha else None)
            return agents
        return self.deps.db.run(run, write=False)

    def routers_of_agent(self, agent_id: str) -> list[dict[str, Any]]:
        def run(session: Session) -> list[dict[str, Any]]:
            self.scheduler.l3_agent(session, agent_id)
            rows = self.scheduler.routers_of_agent(session, agent_id)
            return self.routers.to_dicts(session, rows)
        return self.deps.db.run(run, write=False)

    def add_router(self, ctx: Context, agent_id: str, router_id: str) -> None:
        created: list[dict] = []
        deleted: list[str] = []

        def run(session: Session) -> bool:
            created.clear()
            deleted.clear()
            self.scheduler.l3_agent(session, agent_id)
            self._router_exists(session, router_id)
            added = self.scheduler.add_router(session, agent_id, router_id)
            self._ensure_ha_ports(session, ctx, router_id, created, deleted)
            return added
        if self.deps.db.run(run):
            self.routers.publish_ports(ctx, created, deleted)
            self._router_changed(ctx, router_id)

    def remove_router(self, ctx: Context, agent_id: str, router_id: str) -> None:
        created: list[dict] = []
        deleted: list[str] = []

        def run(session: Session) -> None:
            created.clear()
            deleted.clear()
            self._router_exists(session, router_id)
            self.scheduler.remove_router(session, agent_id, router_id)
            self._ensure_ha_ports(session, ctx, router_id, created, deleted)
        self.deps.db.run(run)
        self.routers.publish_ports(ctx, created, deleted)
        self._router_changed(ctx, router_id)

    def _ensure_ha_ports(self, session: Session, ctx: Context, router_id: str,
                         created: list[dict], deleted: list[str]) -> None:
        """A HA router's HA ports follow its agents (l3-ha)."""
        if self.routers.ha is not None:
            session.flush()
            self.routers.ha.ensure_ports(session, ctx, router_id, created, deleted)
