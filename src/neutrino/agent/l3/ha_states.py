"""The HA routers' VRRP states, from keepalived's notify scripts to the server.

keepalived's notify script (ha.py) writes ``active``/``standby`` into the router's
state file on each transition; `HaStateReporter` reads those files every
`interval` seconds on a thread of its own (a failover must reach the server
without waiting for the agent's next sync) and reports those that differ from what
it last reported (``update_ha_routers_states``). A report that fails is retried at
the next tick; after an agent restart everything is reported once again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from neutrino.agent.common.periodic import Periodic

LOG = logging.getLogger(__name__)

INTERVAL = 0.2


def changes(current: dict[str, str], reported: dict[str, str]) -> dict[str, str]:
    """The states to report: new or changed since the last report."""
    return {router: state for router, state in sorted(current.items())
            if reported.get(router) != state}


class HaStateReporter:
    def __init__(self, read: Callable[[], dict[str, str]],
                 report: Callable[[dict[str, str]], None],
                 interval: float = INTERVAL) -> None:
        self.read = read
        self.report = report
        self.interval = interval
        self.reported: dict[str, str] = {}
        self._periodic = Periodic("ha-states", interval, self.tick, "HA router states")

    def tick(self) -> dict[str, str]:
        """Report what changed; what was reported."""
        current = self.read()
        todo = changes(current, self.reported)
        # Routers gone from this host: forget them (reported again if they return).
        self.reported = {r: s for r, s in self.reported.items() if r in current}
        if not todo:
            return {}
        self.report(todo)
        self.reported.update(todo)
        LOG.info("HA router states reported: %s", todo)
        return todo

    def start(self) -> HaStateReporter:
        self._periodic.start()
        return self

    def stop(self) -> None:
        self._periodic.stop()
