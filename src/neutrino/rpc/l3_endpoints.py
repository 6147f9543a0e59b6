"""The L3 agent's calls on topic q-plugin (docs/rpc.md):

* ``sync_routers(host)``: the host's "l3" desired state (the routers scheduled to
  its L3 agent), after binding the routers' ports to that host (upstream does it in
  its ``sync_routers`` too): the host's Linux bridge agent then plugs them like VM
  ports and reports them up, so router interfaces and gateways go ACTIVE.
* ``update_floatingip_statuses(router_id, fip_statuses)``: ``{fip id: status}``
  (ACTIVE, DOWN, ERROR) of that router's floating IPs, as the agent realised them.
* ``update_ha_routers_states(host, states)``: ``{router id: "active" | "standby"}``
  of the HA routers on that host's agent, as keepalived reports them; the ports of
  a router that went active there are bound to that host (its Linux bridge agent
  plugs them; services/l3_ha.py).

For a HA router, ``sync_routers`` first makes the agent's HA port if it has none
(an agent given the router by automatic scheduling), and binds the router's own
ports to the host of the agent that reports it active, or to the first agent that
asks while none does.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import oslo_messaging
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.contract.l3 import L3State
from neutrino.rpc.deps import ServerServices
from neutrino.services import l3_agent_sync
from neutrino.services.desired_state import DesiredStates
from neutrino.services.l3_ha import RouterHa

LOG = logging.getLogger(__name__)
HOST_ID = "binding:host_id"


class L3Endpoint:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, core: ServerServices) -> None:
        self.db = core.db
        self.ports = core.ports
        self.routers = core.routers
        self.ha: RouterHa | None = core.routers.ha
        self.states = DesiredStates(core.conf)

    def sync_routers(self, context: Any, host: str, **kwargs: Any) -> L3State:
        """The whole "l3" state of `host` (a `router_ids` argument, upstream's way
        to ask for some routers only, is accepted and ignored: level-triggered
        agents always get everything)."""
        self._ensure_ha_ports(host)

        def run(session: Session) -> L3State:
            # kind "l3" is always an L3State (the union is per kind).
            return cast(L3State, self.states.build(session, host, "l3"))
        state = self.db.run(run, write=False)
        self._bind(host, state)
        return state

    def _ensure_ha_ports(self, host: str) -> None:
        ha = self.ha
        if ha is None:
            return
        created: list[dict] = []
        deleted: list[str] = []
        ctx = Context.admin()

        def run(session: Session) -> None:
            created.clear()
            deleted.clear()
            for router_id in l3_agent_sync.ha_routers_of_host(session, host):
                ha.ensure_ports(session, ctx, router_id, created, deleted)
        self.db.run(run)
        self.routers.publish_ports(ctx, created, deleted)

    def _bind(self, host: str, state: L3State) -> None:
        def run(session: Session) -> list[tuple[str, str]]:
            return l3_agent_sync.ports_to_bind(session, state, host)
        for port_id, target in self.db.run(run, write=False):
            self._bind_port(port_id, target)

    def _bind_port(self, port_id: str, host: str) -> None:
        try:
            self.ports.update(Context.admin(), port_id, {HOST_ID: host})
        except exc.NotFound:
            return  # removed meanwhile
        LOG.info("router port %s bound to %s (its L3 agent)", port_id, host)

    def update_floatingip_statuses(self, context: Any, router_id: str,
                                   fip_statuses: dict[str, str], **kwargs: Any) -> None:
        changed = self.db.run(lambda s: l3_agent_sync.set_floatingip_statuses(
            s, router_id, dict(fip_statuses or {})))
        if changed:
            LOG.debug("floating IP statuses of router %s: %s", router_id,
                      {f: fip_statuses[f] for f in changed})

    def update_ha_routers_states(self, context: Any, host: str, states: dict[str, str],
                                 **kwargs: Any) -> None:
        """The VRRP states of `host`'s HA routers; the ports of those routers
        follow the host that reports them active: to `host` when it took over, away
        from it when it stepped down and another agent holds the router."""
        def mine(session: Session) -> dict[str, str]:
            # Only routers on this host's agent: a report moves nothing else.
            hosted = set(l3_agent_sync.ha_routers_of_host(session, host))
            return {r: s for r, s in (states or {}).items() if r in hosted}
        wanted = self.db.run(mine, write=False)
        changed = self.db.run(lambda s: RouterHa.set_states(s, host, wanted))
        if changed:
            LOG.info("HA router states on %s: %s", host,
                     {r: wanted[r] for r in changed})
        taken = {r: host for r, state in wanted.items() if state == "active"}
        for port_id, target in self.db.run(
                lambda s: l3_agent_sync.ports_to_move(s, sorted(wanted), taken),
                write=False):
            self._bind_port(port_id, target)
