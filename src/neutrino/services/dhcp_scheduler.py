"""DHCP scheduling: which DHCP agents serve which networks (dhcp_agent_scheduler).

A network with at least one DHCP-enabled subnet is given `dhcp_agents_per_network`
DHCP agents: alive (a report within agent_down_time), administratively up, in one of
the network's availability_zone_hints when it has some, hosting the fewest networks
first. It happens when a subnet is created or updated with DHCP on, when a DHCP agent
registers, starts or comes back (it takes the networks short of agents), and when an
admin adds a network to an agent.

The binding table's primary key (network_id, dhcp_agent_id) makes a binding exist
once; scheduling locks the network's row so that concurrent requests do not give a
network more agents than it needs.

Failover (`allow_automatic_dhcp_failover`): the server's periodic check moves the
networks of DHCP agents that are down to alive agents. A network keeps its dead
agent's binding when no alive agent can take it (as upstream: nothing is lost when
every agent is down).

Every binding change is published as ("dhcp_agent_network", AFTER_CREATE /
AFTER_DELETE) with metadata network_id, agent_id and host; the notifier tells the
agent on that host.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.contract import topics
from neutrino.db import models
from neutrino.resources.agent import AgentNotFound
from neutrino.services.agents import AgentService
from neutrino.services.deps import Deps

LOG = logging.getLogger(__name__)
A = models.Agent
B = models.NetworkDhcpAgentBinding
N = models.Network
S = models.Subnet
P = models.Port

# The resource name of binding events.
BINDING = "dhcp_agent_network"
DHCP_OWNER = "network:dhcp"
# device_id of a DHCP port kept for the next agent of its network (upstream's).
RESERVED_DHCP_PORT = "reserved_dhcp_port"
_RNG = random.SystemRandom()


class InvalidDHCPAgent(AgentNotFound):
    message = "Agent %(id)s is not a valid DHCP Agent or has been disabled."


class NetworkHostedByDHCPAgent(exc.Conflict):
    message = ("The network %(network_id)s has been already hosted by the DHCP Agent "
               "%(agent_id)s.")


class NetworkNotHostedByDhcpAgent(exc.Conflict):
    message = "The network %(network_id)s is not hosted by the DHCP Agent %(agent_id)s."


def dhcp_device_id(host: str, network_id: str) -> str:
    """The device_id of the DHCP port of `host`'s agent on a network (upstream's:
    ``dhcp<uuid5 of the short host name>-<network id>``)."""
    local = host.split(".")[0]
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, local)}-{network_id}"


def parse_hints(raw: str | None) -> list[str]:
    """Stored availability zone hints: a JSON list, or a comma-separated string."""
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return [h.strip() for h in raw.split(",") if h.strip()]
    return [str(h) for h in value] if isinstance(value, list) else []


@dataclass(frozen=True)
class Candidate:
    id: str
    host: str
    availability_zone: str | None
    load: int  # networks hosted


def choose(candidates: list[Candidate], needed: int, hints: list[str],
           used_zones: set[str] | None = None) -> list[Candidate]:
    """Pick `needed` agents (pure): only in the hinted zones when there are hints,
    zones not used yet by the network first, then the least loaded; ties at random
    so that concurrent servers spread networks."""
    if needed <= 0:
        return []
    pool = [c for c in candidates if not hints or c.availability_zone in hints]
    used = set(used_zones or ())
    chosen: list[Candidate] = []
    shuffled = _RNG.sample(pool, len(pool))
    for _ in range(min(needed, len(pool))):
        best = min(shuffled, key=lambda c: (c.availability_zone in used, c.load))
        shuffled.remove(best)
        chosen.append(best)
        if best.availability_zone:
            used.add(best.availability_zone)
    return chosen


class DhcpScheduler:
    def __init__(self, deps: Deps, agents: AgentService, ports: Any = None) -> None:
        self.deps = deps
        self.agents = agents
        # The port service: a DHCP port removed from its agent is kept (reserved) for
        # the next agent, through the port service so events and revisions apply.
        self.ports = ports
        self._no_agent_logged = False

    @property
    def per_network(self) -> int:
        return self.deps.conf.dhcp_agents_per_network

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._on_subnet, "subnet", events.AFTER_CREATE)
        registry.subscribe(self._on_subnet, "subnet", events.AFTER_UPDATE)
        registry.subscribe(self._on_agent, "agent", events.AFTER_CREATE)
        registry.subscribe(self._on_agent, "agent", events.AFTER_UPDATE)

    # -- triggers --------------------------------------------------------------

    def _on_subnet(self, resource: str, event: str, payload: events.Payload) -> None:
        subnet = payload.states[-1] if payload.states else None
        if subnet and subnet.get("enable_dhcp"):
            self.schedule_network(subnet["network_id"])

    def _on_agent(self, resource: str, event: str, payload: events.Payload) -> None:
        """A DHCP agent that registers, restarts or comes back takes the networks that
        are short of agents (upstream auto-schedules on the agent's sync too)."""
        meta = payload.metadata
        if meta.get("agent_type") != topics.AGENT_TYPE_DHCP:
            return
        if meta.get("status") in ("new", "revived") or meta.get("start_flag"):
            self.auto_schedule(payload.resource_id)

    # -- queries ----------------------------------------------------------------

    def _candidates(self, session: Session, exclude: set[str]) -> list[Candidate]:
        load = (select(B.dhcp_agent_id, func.count().label("n"))
                .group_by(B.dhcp_agent_id).subquery())
        stmt = (select(A.id, A.host, A.availability_zone, func.coalesce(load.c.n, 0))
                .outerjoin(load, load.c.dhcp_agent_id == A.id)
                .where(A.agent_type == topics.AGENT_TYPE_DHCP, A.admin_state_up.is_(True),
                       self.agents.alive_clause()))
        return [Candidate(i, h, z, n) for i, h, z, n in session.execute(stmt)
                if i not in exclude]

    @staticmethod
    def _hints(session: Session, network_id: str) -> list[str]:
        """The network's availability_zone_hints, when that feature's table exists."""
        table = models.Base.metadata.tables.get("network_az_hints")
        if table is None or "hints" not in table.c:
            return []
        raw = session.execute(select(table.c.hints).where(
            table.c.network_id == network_id)).scalar()
        return parse_hints(raw)

    @staticmethod
    def _needs_dhcp(session: Session, network_id: str) -> bool:
        return session.scalars(select(S.id).where(
            S.network_id == network_id, S.enable_dhcp.is_(True)).limit(1)).first() is not None

    def _hosting(self, session: Session, network_id: str) -> list[tuple[str, str, str | None,
                                                                         bool]]:
        """(agent id, host, zone, alive) of the agents bound to a network."""
        return [(i, h, z, bool(alive)) for i, h, z, alive in session.execute(
            select(A.id, A.host, A.availability_zone, self.agents.alive_clause())
            .join(B, B.dhcp_agent_id == A.id).where(B.network_id == network_id))]

    # -- automatic scheduling -----------------------------------------------------

    def _schedule_locked(self, session: Session, network_id: str, alive_only: bool
                         ) -> list[Candidate]:
        """Add agents until the network has enough (counting only alive ones when
        `alive_only`, for failover); the caller locked the network row."""
        if not self._needs_dhcp(session, network_id):
            return []
        hosting = self._hosting(session, network_id)
        counted = [h for h in hosting if h[3] or not alive_only]
        needed = self.per_network - len(counted)
        if needed <= 0:
            return []
        candidates = self._candidates(session, {h[0] for h in hosting})
        chosen = choose(candidates, needed, self._hints(session, network_id),
                        {h[2] for h in counted if h[2]})
        if chosen:
            session.execute(insert(B), [{"network_id": network_id, "dhcp_agent_id": c.id}
                                        for c in chosen])
        return chosen

    @staticmethod
    def _lock_network(session: Session, network_id: str) -> bool:
        return session.scalars(select(N.id).where(N.id == network_id)
                               .with_for_update()).first() is not None

    def schedule_network(self, network_id: str) -> list[str]:
        """Give the network the agents it lacks; returns the hosts added."""
        def check(session: Session) -> str:
            # Read first: most calls (a network already served) need no write.
            if not self._needs_dhcp(session, network_id):
                return "served"
            hosting = self._hosting(session, network_id)
            if len(hosting) >= self.per_network:
                return "served"
            if not self._candidates(session, {h[0] for h in hosting}):
                return "served" if hosting else "nobody"
            return "schedule"
        outcome = self.deps.db.run(check, write=False)
        if outcome == "nobody":
            LOG.warning("no alive DHCP agent can host network %s: it waits for one",
                        network_id)
        if outcome != "schedule":
            return []

        def run(session: Session) -> list[Candidate]:
            if not self._lock_network(session, network_id):
                return []
            return self._schedule_locked(session, network_id, alive_only=False)
        chosen = self.deps.db.run(run)
        for c in chosen:
            self._bound(network_id, c.id, c.host)
        return [c.host for c in chosen]

    def auto_schedule(self, agent_id: str) -> list[str]:
        """Give one (eligible) agent the networks that have fewer agents than they
        should and that it does not host yet; returns their ids."""
        def short(session: Session) -> tuple[Any, list[str]]:
            agent = session.scalars(select(A).where(
                A.id == agent_id, A.agent_type == topics.AGENT_TYPE_DHCP,
                A.admin_state_up.is_(True), self.agents.alive_clause())).first()
            if agent is None:
                return None, []
            counts = (select(B.network_id, func.count().label("n"))
                      .group_by(B.network_id).subquery())
            stmt = (select(N.id).outerjoin(counts, counts.c.network_id == N.id)
                    .where(func.coalesce(counts.c.n, 0) < self.per_network,
                           N.id.in_(select(S.network_id).where(S.enable_dhcp.is_(True))),
                           ~N.id.in_(select(B.network_id).where(
                               B.dhcp_agent_id == agent_id))))
            return agent, list(session.scalars(stmt))
        agent, network_ids = self.deps.db.run(short, write=False)
        taken = []
        for network_id in network_ids:
            if self._bind_one(agent, network_id):
                taken.append(network_id)
                self._bound(network_id, agent.id, agent.host)
        if taken:
            LOG.info("DHCP agent %s on %s takes networks %s", agent.id, agent.host,
                     ", ".join(taken))
        return taken

    def _bind_one(self, agent: A, network_id: str) -> bool:
        def run(session: Session) -> bool:
            if not self._lock_network(session, network_id):
                return False
            hosting = self._hosting(session, network_id)
            if len(hosting) >= self.per_network or agent.id in {h[0] for h in hosting}:
                return False
            hints = self._hints(session, network_id)
            if hints and agent.availability_zone not in hints:
                return False
            session.execute(insert(B), {"network_id": network_id,
                                        "dhcp_agent_id": agent.id})
            return True
        return self.deps.db.run(run)

    # -- failover -------------------------------------------------------------------

    def failover(self) -> list[tuple[str, str]]:
        """Move the networks of dead DHCP agents to alive ones; returns the
        (network id, dead agent id) bindings removed."""
        def dead_bindings(session: Session) -> list[tuple[str, str, str]]:
            return [(r.network_id, r.id, r.host) for r in session.execute(
                select(B.network_id, A.id, A.host).join(A, A.id == B.dhcp_agent_id)
                .where(A.agent_type == topics.AGENT_TYPE_DHCP,
                       ~self.agents.alive_clause())
                .order_by(B.network_id))]
        dead = self.deps.db.run(dead_bindings, write=False)
        if not dead:
            self._no_agent_logged = False
            return []
        if not self.deps.db.run(lambda s: self._candidates(s, set()), write=False):
            # Nobody could take over: keep the bindings, skip the per-network work.
            if not self._no_agent_logged:
                LOG.warning("DHCP agents are down and no alive DHCP agent can take "
                            "their networks: keeping the bindings")
                self._no_agent_logged = True
            return []
        removed: list[tuple[str, str, str]] = []
        for network_id in sorted({d[0] for d in dead}):
            gone = [(a, h) for n, a, h in dead if n == network_id]
            added, dropped = self.deps.db.run(
                lambda s, n=network_id, g=gone: self._move(s, n, g))
            for c in added:
                self._bound(network_id, c.id, c.host)
            for agent_id, host in dropped:
                removed.append((network_id, agent_id, host))
        if not removed and not self._no_agent_logged:
            LOG.warning("DHCP agents are down and no alive agent can take their "
                        "networks: keeping the bindings")
            self._no_agent_logged = True
        for network_id, agent_id, host in removed:
            LOG.warning("network %s moved away from DHCP agent %s on %s: the agent did "
                        "not report for more than %ss", network_id, agent_id, host,
                        self.deps.conf.agent_down_time)
            self._reserve_port(host, network_id)
            self._unbound(network_id, agent_id, host)
        return [(n, a) for n, a, _ in removed]

    def _move(self, session: Session, network_id: str, dead: list[tuple[str, str]]
              ) -> tuple[list[Candidate], list[tuple[str, str]]]:
        if not self._lock_network(session, network_id):
            return [], []
        added = self._schedule_locked(session, network_id, alive_only=True)
        alive = [h for h in self._hosting(session, network_id) if h[3]]
        if not alive:
            return added, []  # nobody else: keep the dead agent's binding
        dead_ids = [agent_id for agent_id, _ in dead]
        session.execute(delete(B).where(B.network_id == network_id,
                                        B.dhcp_agent_id.in_(dead_ids)))
        return added, dead

    # -- admin API (dhcp_agent_scheduler) -----------------------------------------

    def networks_of_agent(self, agent_id: str) -> list[str]:
        def run(session: Session) -> list[str]:
            ids = list(session.scalars(select(B.network_id).where(
                B.dhcp_agent_id == agent_id)))
            if not ids and session.get(A, agent_id) is None:
                raise AgentNotFound(id=agent_id)
            return ids
        return self.deps.db.run(run, write=False)

    def agents_of_network(self, network_id: str) -> list[str]:
        def run(session: Session) -> list[str]:
            return list(session.scalars(select(B.dhcp_agent_id).where(
                B.network_id == network_id)))
        return self.deps.db.run(run, write=False)

    def add_network(self, ctx: Context, agent_id: str, network_id: str) -> None:
        def run(session: Session) -> str:
            if not self._lock_network(session, network_id):
                raise exc.NetworkNotFound(net_id=network_id)
            agent = session.get(A, agent_id)
            if agent is None:
                raise AgentNotFound(id=agent_id)
            if agent.agent_type != topics.AGENT_TYPE_DHCP or not agent.admin_state_up:
                raise InvalidDHCPAgent(id=agent_id)
            if session.get(B, (network_id, agent_id)) is not None:
                raise NetworkHostedByDHCPAgent(network_id=network_id, agent_id=agent_id)
            # A concurrent add of the same pair fails on the primary key; the
            # retried transaction then answers 409 above.
            session.execute(insert(B), {"network_id": network_id,
                                        "dhcp_agent_id": agent_id})
            return agent.host
        host = self.deps.db.run(run)
        self._bound(network_id, agent_id, host)

    def remove_network(self, ctx: Context, agent_id: str, network_id: str) -> None:
        def run(session: Session) -> str:
            agent = session.get(A, agent_id)
            if agent is None:
                raise AgentNotFound(id=agent_id)
            done = session.execute(delete(B).where(B.network_id == network_id,
                                                   B.dhcp_agent_id == agent_id))
            if not done.rowcount:
                raise NetworkNotHostedByDhcpAgent(network_id=network_id, agent_id=agent_id)
            return agent.host
        host = self.deps.db.run(run)
        self._reserve_port(host, network_id)
        self._unbound(network_id, agent_id, host)

    # -- effects ---------------------------------------------------------------------

    def _reserve_port(self, host: str, network_id: str) -> None:
        """Keep the agent's DHCP port (and its addresses) for the network's next
        agent, as upstream does: its device_id becomes reserved_dhcp_port."""
        if self.ports is None:
            return
        device_id = dhcp_device_id(host, network_id)

        def run(session: Session) -> list[str]:
            return list(session.scalars(select(P.id).where(
                P.network_id == network_id, P.device_id == device_id)))
        for port_id in self.deps.db.run(run, write=False):
            try:
                self.ports.update(Context.admin(), port_id,
                                  {"device_id": RESERVED_DHCP_PORT})
            except exc.NotFound:
                pass  # deleted meanwhile

    def _bound(self, network_id: str, agent_id: str, host: str) -> None:
        LOG.info("network %s scheduled to DHCP agent %s on %s", network_id, agent_id, host)
        self.deps.events.publish(BINDING, events.AFTER_CREATE, events.Payload(
            Context.admin(), network_id,
            metadata={"network_id": network_id, "agent_id": agent_id, "host": host}))

    def _unbound(self, network_id: str, agent_id: str, host: str) -> None:
        self.deps.events.publish(BINDING, events.AFTER_DELETE, events.Payload(
            Context.admin(), network_id,
            metadata={"network_id": network_id, "agent_id": agent_id, "host": host}))


class AgentMonitor:
    """The server's periodic check: logs agents that go down (once each, in this
    process) and, with allow_automatic_dhcp_failover, moves the networks of dead DHCP
    agents. Every process serving the bus runs one; concurrent failovers are safe
    (the network's row is locked while its agents change)."""

    def __init__(self, scheduler: DhcpScheduler, interval: float | None = None) -> None:
        self.scheduler = scheduler
        conf = scheduler.deps.conf
        self.interval = interval or max(1.0, conf.agent_down_time / 2)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> AgentMonitor:
        self._thread = threading.Thread(target=self._loop, name="agent-monitor",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> None:
        self.scheduler.agents.note_liveness()
        if self.scheduler.deps.conf.allow_automatic_dhcp_failover:
            self.scheduler.failover()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - keep checking; the DB may be back next time
                LOG.exception("periodic agent check failed")
