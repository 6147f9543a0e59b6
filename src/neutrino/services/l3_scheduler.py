"""Router scheduling to L3 agents (l3_agent_scheduler).

A router goes to one L3 agent (legacy, non-HA routers): alive, administratively up,
in one of the router's availability_zone_hints when it has some, hosting the fewest
routers. With no such agent the router stays unscheduled until an agent asks for its
state (auto_schedule) or an admin adds it to one.

Agent modes (``agent_mode`` in an L3 agent's configurations, as upstream): a
``legacy`` agent (the default, and this project's agent) never hosts a distributed
(dvr) router; ``dvr`` / ``dvr_no_external`` agents (compute nodes) are never
scheduled explicitly; ``dvr_snat`` agents host both. A distributed router with only
legacy agents around stays unscheduled, as upstream's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.contract import topics
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources.router import AvailabilityZoneNotFound

A = models.Agent
B = models.RouterL3AgentBinding
R = models.Router


class InvalidL3Agent(exc.BadRequest):
    message = "Agent %(id)s is not a L3 Agent or has been disabled"


class RouterHostedByL3Agent(exc.Conflict):
    message = ("The router %(router_id)s has been already hosted by the L3 Agent "
               "%(agent_id)s.")


class RouterNotHostedByL3Agent(exc.Conflict):
    message = "The router %(router_id)s is not hosted by L3 agent %(agent_id)s."


class RouterL3AgentMismatch(exc.Conflict):
    message = ("Cannot host distributed router %(router_id)s on legacy L3 agent "
               "%(agent_id)s.")


class DVRL3CannotAssignToDvrAgent(exc.Conflict):
    message = "Not allowed to manually assign a router to an agent in 'dvr' mode."


MODE_LEGACY = "legacy"
DVR_COMPUTE_MODES = ("dvr", "dvr_no_external")


def agent_mode(configurations: str | None) -> str:
    try:
        conf = json.loads(configurations or "{}")
    except ValueError:
        conf = {}
    mode = conf.get("agent_mode") if isinstance(conf, dict) else None
    return mode if isinstance(mode, str) and mode else MODE_LEGACY


def may_host(mode: str, distributed: bool) -> bool:
    """Whether an agent of this mode is scheduled a (distributed) router."""
    return mode not in DVR_COMPUTE_MODES and not (mode == MODE_LEGACY and distributed)


class L3Scheduler:
    def __init__(self, agent_down_time: int, max_ha_agents: int = 3) -> None:
        self.down_time = dt.timedelta(seconds=agent_down_time)
        # A HA router goes to this many agents at most (0: every eligible one).
        self.max_ha_agents = max_ha_agents

    def _alive_clause(self) -> Any:
        return A.heartbeat_timestamp >= models.utcnow() - self.down_time

    # -- availability zones -------------------------------------------------

    @staticmethod
    def check_hints(session: Session, hints: list[str]) -> None:
        """Every hint must be a zone some L3 agent reports (as upstream)."""
        if not hints:
            return
        known = set(session.scalars(select(A.availability_zone).where(
            A.agent_type == topics.AGENT_TYPE_L3, A.availability_zone.in_(hints))))
        for hint in hints:
            if hint not in known:
                raise AvailabilityZoneNotFound(availability_zone=hint)

    @staticmethod
    def router_zones(session: Session, router_ids: list[str]) -> dict[str, list[str]]:
        """The zones of the agents hosting each router (availability_zones)."""
        stmt = (select(B.router_id, A.availability_zone).join(A, A.id == B.l3_agent_id)
                .where(A.availability_zone.is_not(None)))
        zones: dict[str, set[str]] = defaultdict(set)
        for router_id, zone in rows_for_ids(session, stmt, B.router_id, router_ids):
            zones[router_id].add(zone)
        return {r: sorted(z) for r, z in zones.items()}

    # -- automatic scheduling -----------------------------------------------

    def candidates(self, session: Session, hints: list[str],
                   distributed: bool = False) -> list[tuple[str, int]]:
        """(agent id, routers hosted) of eligible agents, least loaded first."""
        load = (select(B.l3_agent_id, func.count().label("n")).group_by(B.l3_agent_id)
                .subquery())
        stmt = (select(A.id, func.coalesce(load.c.n, 0), A.configurations)
                .outerjoin(load, load.c.l3_agent_id == A.id)
                .where(A.agent_type == topics.AGENT_TYPE_L3, A.admin_state_up.is_(True),
                       self._alive_clause())
                .order_by(func.coalesce(load.c.n, 0), A.host, A.id))
        if hints:
            stmt = stmt.where(A.availability_zone.in_(hints))
        return [(agent_id, n) for agent_id, n, conf in session.execute(stmt)
                if may_host(agent_mode(conf), distributed)]

    def schedule(self, session: Session, router: R) -> str | None:
        """Bind the router to the least loaded eligible agent, unless it is bound (a
        HA router: to the least loaded ones up to max_ha_agents)."""
        bound = list(session.scalars(select(B.l3_agent_id).where(
            B.router_id == router.id)))
        if bound and not router.ha:
            return bound[0]
        agents = [agent_id for agent_id, _ in self.candidates(
            session, json.loads(router.availability_zone_hints), bool(router.distributed))
            if agent_id not in bound]
        room = (self.ha_room(len(bound)) if router.ha else 1)
        taken = agents[:room]
        if taken:
            session.execute(insert(B), [{"router_id": router.id, "l3_agent_id": agent_id}
                                        for agent_id in taken])
        return (bound + taken)[0] if bound or taken else None

    def ha_room(self, bound: int) -> int:
        """How many more agents a HA router bound to `bound` agents may get."""
        if self.max_ha_agents <= 0:
            return 1 << 30
        return max(0, self.max_ha_agents - bound)

    def auto_schedule(self, session: Session, agent: A) -> list[str]:
        """Give an eligible agent the routers no agent hosts (when it syncs)."""
        if (agent.agent_type != topics.AGENT_TYPE_L3 or not agent.admin_state_up
                or agent.heartbeat_timestamp < models.utcnow() - self.down_time):
            return []
        mode = agent_mode(agent.configurations)
        if mode in DVR_COMPUTE_MODES:
            return []
        stmt = select(R.id, R.availability_zone_hints).where(
            ~R.id.in_(select(B.router_id)), R.admin_state_up.is_(True))
        if mode == MODE_LEGACY:
            stmt = stmt.where(R.distributed.is_(False))
        unbound = session.execute(stmt.order_by(R.id).with_for_update()).all()
        # Locked; a binding another agent committed meanwhile shows in a new statement
        # (the router lives on one agent, whoever asked first).
        bound = {row[0] for row in rows_for_ids(session, select(B.router_id), B.router_id,
                                                [rid for rid, _ in unbound])}
        taken = [rid for rid, hints in unbound if rid not in bound
                 and (not json.loads(hints) or agent.availability_zone in json.loads(hints))]
        taken += self._ha_routers_for(session, agent, mode, set(taken))
        if taken:
            session.execute(insert(B), [{"router_id": rid, "l3_agent_id": agent.id}
                                        for rid in taken])
        return taken

    def _ha_routers_for(self, session: Session, agent: A, mode: str,
                        skip: set[str]) -> list[str]:
        """The HA routers this agent does not host that have room for one more."""
        counts = (select(B.router_id, func.count().label("n")).group_by(B.router_id)
                  .subquery())
        stmt = (select(R.id, R.availability_zone_hints, counts.c.n)
                .join(counts, counts.c.router_id == R.id)
                .where(R.ha.is_(True), R.admin_state_up.is_(True),
                       ~R.id.in_(select(B.router_id).where(B.l3_agent_id == agent.id))))
        if mode == MODE_LEGACY:
            stmt = stmt.where(R.distributed.is_(False))
        out = []
        for router_id, hints, n in session.execute(stmt.order_by(R.id)):
            zones = json.loads(hints)
            if router_id in skip or self.ha_room(n) <= 0 or (
                    zones and agent.availability_zone not in zones):
                continue
            out.append(router_id)
        return out

    # -- admin operations (l3_agent_scheduler) ------------------------------

    def l3_agent(self, session: Session, agent_id: str) -> A:
        agent = session.get(A, agent_id)
        if agent is None:
            from neutrino.resources.agent import AgentNotFound
            raise AgentNotFound(id=agent_id)
        return agent

    def add_router(self, session: Session, agent_id: str, router_id: str) -> bool:
        """Bind a router to an agent; False when it already was (nothing to do)."""
        agent = self.l3_agent(session, agent_id)
        if agent.agent_type != topics.AGENT_TYPE_L3 or not agent.admin_state_up:
            raise InvalidL3Agent(id=agent_id)
        # The router row's lock orders this against automatic scheduling.
        router = session.get(R, router_id, with_for_update=True)
        mode = agent_mode(agent.configurations)
        if mode in DVR_COMPUTE_MODES:
            raise DVRL3CannotAssignToDvrAgent()
        if router is not None and router.distributed and mode == MODE_LEGACY:
            raise RouterL3AgentMismatch(router_id=router_id, agent_id=agent_id)
        current = session.scalars(select(B.l3_agent_id).where(
            B.router_id == router_id)).all()
        if agent_id in current:
            return False
        if current and not (router is not None and router.ha):
            # a legacy router lives on one agent (a HA router on several)
            raise RouterHostedByL3Agent(router_id=router_id, agent_id=current[0])
        session.execute(insert(B), {"router_id": router_id, "l3_agent_id": agent_id})
        return True

    def remove_router(self, session: Session, agent_id: str, router_id: str) -> None:
        self.l3_agent(session, agent_id)
        result = session.execute(delete(B).where(B.router_id == router_id,
                                                 B.l3_agent_id == agent_id))
        if result.rowcount == 0:
            raise RouterNotHostedByL3Agent(router_id=router_id, agent_id=agent_id)

    @staticmethod
    def agents_of_router(session: Session, router_id: str) -> list[A]:
        return list(session.scalars(select(A).join(B, B.l3_agent_id == A.id).where(
            B.router_id == router_id).order_by(A.host)))

    @staticmethod
    def routers_of_agent(session: Session, agent_id: str) -> list[R]:
        return list(session.scalars(select(R).join(B, B.router_id == R.id).where(
            B.l3_agent_id == agent_id).order_by(R.id)))

    @staticmethod
    def hosts_of_routers(session: Session, router_ids: list[str]) -> dict[str, list[str]]:
        stmt = select(B.router_id, A.host).join(A, A.id == B.l3_agent_id)
        out: dict[str, list[str]] = defaultdict(list)
        for router_id, host in rows_for_ids(session, stmt, B.router_id, router_ids):
            out[router_id].append(host)
        return out


def subscribe_agents(registry: Any, db: Any, scheduler: L3Scheduler,
                     notify: Any) -> None:
    """An L3 agent that registers, restarts or comes back takes the routers no agent
    hosts (upstream schedules them when the agent syncs)."""
    from neutrino import events

    def on_agent(resource: str, event: str, payload: Any) -> None:
        meta = payload.metadata
        if meta.get("agent_type") != topics.AGENT_TYPE_L3:
            return
        if meta.get("status") in ("new", "revived") or meta.get("start_flag"):
            def run(session: Session) -> list[str]:
                agent = session.get(A, payload.resource_id)
                return scheduler.auto_schedule(session, agent) if agent else []
            notify(db.run(run))
    registry.subscribe(on_agent, "agent", events.AFTER_CREATE)
    registry.subscribe(on_agent, "agent", events.AFTER_UPDATE)
