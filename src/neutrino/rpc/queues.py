"""How many messages wait in the server's queues on RabbitMQ, for the metrics
(``[metrics] broker_queues``; issue 15).

Read with AMQP passive declares — the broker answers a queue's message and consumer
counts to any client allowed on the vhost, no management plugin needed — over one
short connection per reading, at most every `ttl` seconds (scrapes in between get the
last reading). A queue that does not exist (yet) is left out; a broker that does not
answer gives no reading, logged, and never holds a scrape up for more than the connect
timeout.

The queues: each RPC topic the server serves (``q-plugin``, ``q-reports-plugin``,
``q-metering-plugin``: what the agents' calls wait in) and its server's own
(``<topic>.<host>``), and the notification topics' ``<topic>.info`` (what
Ceilometer-style consumers have not taken yet).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from urllib.parse import quote

import oslo_messaging
from oslo_config import cfg

from neutrino.contract import topics
from neutrino.contract.metering import METERING_PLUGIN

LOG = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2.0
# The topics the server's RPC servers consume (rpc/server.py, endpoints_for).
SERVER_TOPICS = (topics.PLUGIN, topics.REPORTS, METERING_PLUGIN)


def amqp_url(conf: cfg.ConfigOpts, transport_url: str) -> str | None:
    """The first broker of a rabbit:// transport URL as kombu's amqp:// (None: not
    RabbitMQ)."""
    parsed = oslo_messaging.TransportURL.parse(conf, transport_url)
    if parsed.transport not in ("rabbit", "amqp") or not parsed.hosts:
        return None
    host = parsed.hosts[0]
    auth = ""
    if host.username:
        auth = quote(host.username, safe="")
        if host.password:
            auth += ":" + quote(host.password, safe="")
        auth += "@"
    vhost = quote(parsed.virtual_host or "/", safe="")
    return f"amqp://{auth}{host.hostname}:{host.port or 5672}/{vhost}"


def queue_names(rpc_topics: Iterable[str], host: str,
                notification_topics: Iterable[str]) -> list[str]:
    names: list[str] = []
    for topic in rpc_topics:
        names += [topic, f"{topic}.{host}"]
    names += [f"{topic}.info" for topic in notification_topics]
    return names


class QueueDepths:
    """(messages, consumers) of each named queue that exists, cached for `ttl`."""

    def __init__(self, url: str, names: list[str], ttl: float = 10.0) -> None:
        self.url = url
        self.names = list(names)
        self.ttl = ttl
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._last: dict[str, tuple[int, int]] = {}

    def read(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.ttl:
                self._read_at = time.monotonic()
                try:
                    self._last = self._declare_all()
                except Exception as error:  # noqa: BLE001 - the metrics go on without
                    LOG.warning("broker queue depths not read: %s", error)
                    self._last = {}
            return dict(self._last)

    def _declare_all(self) -> dict[str, tuple[int, int]]:
        import amqp  # kombu's AMQP client, there with oslo.messaging's rabbit driver
        import kombu

        found: dict[str, tuple[int, int]] = {}
        with kombu.Connection(self.url, connect_timeout=CONNECT_TIMEOUT) as connection:
            connection.connect()
            for name in self.names:
                # A passive declare of a missing queue closes its channel: one each.
                channel = connection.channel()
                try:
                    _, messages, consumers = channel.queue_declare(queue=name,
                                                                   passive=True)
                    found[name] = (int(messages), int(consumers))
                except amqp.exceptions.NotFound:
                    continue
                finally:
                    try:
                        channel.close()
                    except Exception:  # noqa: BLE001 - already closed by the broker
                        LOG.debug("channel close after declaring %s", name,
                                  exc_info=True)
        return found


def for_server(conf: cfg.ConfigOpts, notifications: bool,
               ttl: float = 10.0) -> QueueDepths | None:
    """The server's queues on its broker (None: the bus is not RabbitMQ);
    `notifications`: whether it sends notifications (their topics' queues too)."""
    url = amqp_url(conf, conf.transport_url)
    if url is None:
        return None
    notification_topics = (list(conf.oslo_messaging_notifications.topics)
                           if notifications else [])
    return QueueDepths(url, queue_names(SERVER_TOPICS, conf.host, notification_topics),
                       ttl=ttl)
