"""`neutrino status`'s verdict on the broker's queues: an RPC queue nobody consumes
is a failure (agents' calls to it time out); notification queues without a consumer
are normal (nothing listens for notifications)."""

from __future__ import annotations

import io

from neutrino.cli import status
from neutrino.cli.output import Output


def _server(*queues: dict) -> dict:
    return {"version": "0.1.0", "host": "h", "auth_strategy": "noauth", "api_workers": 1,
            "database": {"backend": "sqlite", "reachable": True, "schema": "0024"},
            "bus": {"driver": "rabbit", "hosts": ["127.0.0.1:5672"], "reachable": True,
                    "queues": list(queues)}}


def test_an_rpc_queue_without_consumer_is_unserved() -> None:
    server = _server({"name": "q-plugin", "messages": 7, "consumers": 0, "rpc": True},
                     {"name": "q-plugin.h", "messages": 0, "consumers": 1, "rpc": True},
                     {"name": "notifications.info", "messages": 40, "consumers": 0,
                      "rpc": False})
    assert status.unserved(server) == ["q-plugin"]


def test_no_queues_no_verdict() -> None:
    assert status.unserved({"bus": {"driver": "fake", "reachable": True}}) == []
    assert status.unserved({"error": "403"}) == []


def test_the_table_names_the_unserved_queue() -> None:
    buffer = io.StringIO()
    status.render(Output(fmt="table", stream=buffer), {"server": _server(
        {"name": "q-reports-plugin", "messages": 3, "consumers": 0, "rpc": True}),
        "agents": []})
    text = buffer.getvalue()
    assert "q-reports-plugin" in text and "nobody serves it" in text
