"""The notifier's fanout exchanges outlive the agents listening to them (real
RabbitMQ): RabbitMQ deletes an auto-delete fanout exchange with its last bound
queue, and a cast to it then gets 404 NOT_FOUND, which makes oslo.messaging drop
and reopen the connection. The notifier anchors each fanout exchange it uses, so a
cast after the last agent went is published like any other."""

from __future__ import annotations

import logging
import threading
from typing import Any

import oslo_messaging
import pytest

from neutrino import conf as conf_mod
from neutrino.rpc.notifier import Cast, Notifier
from rpc_helpers import new_transport, unique


class Agent:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self) -> None:
        self.got: list[dict] = []
        self.cond = threading.Condition()

    def routers_updated(self, context: Any, **kwargs: Any) -> None:
        with self.cond:
            self.got.append(kwargs)
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 20) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.got) >= count, timeout)


def one_agent(transport: Any, topic: str, notifier: Notifier, routers: str) -> Agent:
    """An agent listening on `topic` while the notifier casts `routers` to it; it
    leaves (its queue goes) once it got the cast."""
    agent = Agent()
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic=topic, server=unique("agent")), [agent],
        executor="threading")
    server.start()
    try:
        notifier.enqueue(Cast(topic, "routers_updated", {"routers": [routers]}))
        assert agent.wait(1), agent.got
    finally:
        server.stop()
        server.wait()
    return agent


def test_cast_after_the_last_agent_left_needs_no_reconnect(
        rabbit: str, caplog: pytest.LogCaptureFixture) -> None:
    topic = unique("anchor-test")  # its exchange: <topic>_fanout, this test's alone
    conf = conf_mod.new_conf([])
    conf.set_override("transport_url", rabbit)
    notifier = Notifier(conf).start()
    agents_transport = new_transport(rabbit)
    try:
        # The only agent goes after the first cast: its queue, and without the
        # anchor the exchange, too.
        one_agent(agents_transport, topic, notifier, "r1")
        with caplog.at_level(logging.INFO, logger="oslo.messaging._drivers.impl_rabbit"):
            notifier.enqueue(Cast(topic, "routers_updated", {"routers": ["r2"]}))
            assert notifier.flush()
            second = one_agent(agents_transport, topic, notifier, "r3")
        assert second.got == [{"routers": ["r3"]}]
        assert notifier.sent == 3
        trouble = [r.getMessage() for r in caplog.records
                   if "NOT_FOUND" in r.getMessage() or "Reconnected" in r.getMessage()
                   or "unreachable" in r.getMessage()]
        assert trouble == []
    finally:
        notifier.stop()
        agents_transport.cleanup()
