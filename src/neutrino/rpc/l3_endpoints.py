"""The L3 agent's calls on topic q-plugin (docs/rpc.md):

* ``sync_routers(host)``: the host's "l3" desired state (the routers scheduled to
  its L3 agent), after binding the routers' ports to that host (upstream does it in
  its ``sync_routers`` too): the host's Linux bridge agent then plugs them like VM
  ports and reports them up, so router interfaces and gateways go ACTIVE.
* ``update_floatingip_statuses(router_id, fip_statuses)``: ``{fip id: status}``
  (ACTIVE, DOWN, ERROR) of that router's floating IPs, as the agent realised them.
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

LOG = logging.getLogger(__name__)
HOST_ID = "binding:host_id"


class L3Endpoint:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, core: ServerServices) -> None:
        self.db = core.db
        self.ports = core.ports
        self.states = DesiredStates(core.conf)

    def sync_routers(self, context: Any, host: str, **kwargs: Any) -> L3State:
        """The whole "l3" state of `host` (a `router_ids` argument, upstream's way
        to ask for some routers only, is accepted and ignored: level-triggered
        agents always get everything)."""
        def run(session: Session) -> L3State:
            # kind "l3" is always an L3State (the union is per kind).
            return cast(L3State, self.states.build(session, host, "l3"))
        state = self.db.run(run, write=False)
        self._bind(host, state)
        return state

    def _bind(self, host: str, state: L3State) -> None:
        def run(session: Session) -> list[str]:
            return l3_agent_sync.ports_to_bind(session, state, host)
        for port_id in self.db.run(run, write=False):
            try:
                self.ports.update(Context.admin(), port_id, {HOST_ID: host})
            except exc.NotFound:
                continue  # removed meanwhile
            LOG.info("router port %s bound to %s (its L3 agent)", port_id, host)

    def update_floatingip_statuses(self, context: Any, router_id: str,
                                   fip_statuses: dict[str, str], **kwargs: Any) -> None:
        changed = self.db.run(lambda s: l3_agent_sync.set_floatingip_statuses(
            s, router_id, dict(fip_statuses or {})))
        if changed:
            LOG.debug("floating IP statuses of router %s: %s", router_id,
                      {f: fip_statuses[f] for f in changed})
