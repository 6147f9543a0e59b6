"""What an agent uses to talk to the server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import oslo_messaging

from neutrino.rpc import topics


class StateReporter:
    """Sends an agent's state report (heartbeat) on q-reports-plugin.

    ``state`` holds agent_type, binary, topic, host (default: the reporter's),
    configurations, availability_zone, start_flag (true in the first report after the
    agent started) and optionally load. `report` waits for the server's answer
    ("new", "alive" or "revived"), so a broker or server outage raises
    oslo_messaging.MessagingTimeout; `report_async` (a cast) does not wait.
    """

    def __init__(self, transport: oslo_messaging.Transport, host: str,
                 timeout: float | None = None, server: str | None = None) -> None:
        self.host = host
        target = oslo_messaging.Target(topic=topics.REPORTS, version="1.0")
        client = oslo_messaging.get_rpc_client(transport, target, timeout=timeout)
        # Any server by default; `server` (a server's `host`) sends to that one only.
        self.client: Any = client.prepare(server=server) if server else client

    def _kwargs(self, state: dict) -> dict[str, Any]:
        state = dict(state)
        state.setdefault("host", self.host)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
        return {"agent_state": {"agent_state": state}, "time": now}

    def report(self, state: dict) -> str:
        return self.client.call({}, "report_state", **self._kwargs(state))

    def report_async(self, state: dict) -> None:
        self.client.cast({}, "report_state", **self._kwargs(state))
