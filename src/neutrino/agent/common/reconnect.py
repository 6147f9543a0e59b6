"""Resync when the agent's connection to the broker comes back.

While an agent is cut off from RabbitMQ (the broker restarting, a network cut, its
connections closed by an operator), the notifications meant for it are lost: its
fanout queues are auto-deleted with its connection (and a restarted broker keeps no
queue that is not durable), so what the server casts meanwhile reaches nobody.
oslo.messaging reconnects by itself and declares the agent's queues again, but says
so only in its log: "Reconnected to AMQP server ...", logged once the consumers of
that connection are declared again. An agent therefore watches for that record and
resyncs: the desired state it then fetches holds every change it missed, and every
later change is notified to the queues now in place. Without it, the gap stays until
the periodic resync (``resync_interval``).

There is no API for this in oslo.messaging (its reconnection callback is internal);
the record's text has been the same since 2015, and tests/reliability's broker
restart test fails if it stops matching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

LOG = logging.getLogger(__name__)

RABBIT_LOGGER = "oslo.messaging._drivers.impl_rabbit"
RECONNECTED = "Reconnected to AMQP server"


class _Watch(logging.Handler):
    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__(level=logging.INFO)
        self._callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        if RECONNECTED in str(record.msg):
            self._callback()


class ReconnectWatch:
    """Calls `callback` (no arguments, must not log) each time a connection of this
    process to the broker is re-established."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self._handler = _Watch(callback)
        self._logger = logging.getLogger(RABBIT_LOGGER)

    def start(self) -> ReconnectWatch:
        if not self._logger.isEnabledFor(logging.INFO):
            LOG.warning("%s logs below INFO are off: a broker reconnection will not "
                        "trigger a resync (the periodic one still runs)", RABBIT_LOGGER)
        if self._handler not in self._logger.handlers:
            self._logger.addHandler(self._handler)
        return self

    def stop(self) -> None:
        self._logger.removeHandler(self._handler)
