"""VPNaaS (issue 16): the status of the VPN services to the server, as charon sees
them (``update_status(status=[...])`` on topic ``ipsec_driver``, a cast).

After each sync the agent hands over the routers it realised (`watch`); every
`interval` seconds, on a thread of its own (a tunnel coming up or going down must
reach the server without waiting for the next sync), `tick` asks each router's
charon for its SAs and reports the services whose statuses differ from the
server's (status.changed), once per value: a report is not repeated while the
server has not caught up, but is again after the next `watch` (a cast may be
lost). A report that fails is retried at the next tick.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from neutrino.agent.common.periodic import Periodic
from neutrino.agent.l3.vpn import status
from neutrino.agent.l3.vpn.status import Charon
from neutrino.contract.l3 import VpnServiceStatus

LOG = logging.getLogger(__name__)

INTERVAL = 2.0


class Observer(Protocol):
    def observe(self, router_id: str, router: Mapping[str, Any]) -> Charon: ...


class VpnStatusReporter:
    def __init__(self, charons: Observer,
                 report: Callable[[list[VpnServiceStatus]], None],
                 interval: float = INTERVAL) -> None:
        self.charons = charons
        self.report = report
        self.interval = interval
        self._routers: dict[str, Mapping[str, Any]] = {}
        self._reported: dict[str, VpnServiceStatus] = {}
        self._lock = threading.Lock()
        self._periodic = Periodic("vpn-status", interval, self.tick, "VPN service statuses")

    def watch(self, routers: Mapping[str, Mapping[str, Any]]) -> None:
        """The routers realised here (id -> the "l3" router), those with VPN
        services kept; what was reported is forgotten (reported again if the
        server still differs)."""
        with self._lock:
            self._routers = {rid: r for rid, r in routers.items()
                             if r.get("vpn_services")}
            self._reported = {}

    def tick(self) -> list[VpnServiceStatus]:
        """Report what differs; what was reported."""
        with self._lock:
            routers = dict(self._routers)
            reported = dict(self._reported)
        todo: list[VpnServiceStatus] = []
        for router_id, router in sorted(routers.items()):
            charon = self.charons.observe(router_id, router)
            todo += [r for r in status.changed(router.get("vpn_services") or [], charon)
                     if reported.get(r["id"]) != r]
        if not todo:
            return []
        self.report(todo)
        with self._lock:
            self._reported.update({r["id"]: r for r in todo})
        LOG.info("VPN service statuses reported: %s", ", ".join(
            f"{r['id']} {r['status']}" for r in todo))
        return todo

    def start(self) -> VpnStatusReporter:
        self._periodic.start()
        return self

    def stop(self) -> None:
        self._periodic.stop()
