"""Notifications on the notification bus for Ceilometer-style consumers: upstream's
``<resource>.create.start/.end``, ``.update.start/.end``, ``.delete.start/.end``
(INFO, publisher ``network.<host>``), sent with an oslo.messaging Notifier as
``[oslo_messaging_notifications] driver``/``topics``/``transport_url`` say.

What each carries (upstream's payloads; api/notifications.py builds them):

* ``<r>.create.start``: the request's body (``{"network": {...}}``, or the
  collection for a bulk); ``<r>.create.end``: the response (``{"network": {...}}``
  or ``{"networks": [...]}``).
* ``<r>.update.start``: the request's body plus ``"id"``; ``<r>.update.end``: the
  response, ``{"network": {...}}``.
* ``<r>.delete.start``: ``{"network_id": id}``; ``<r>.delete.end``:
  ``{"network_id": id, "network": {<the item as it was>}}``.

Sending never holds up a request: `info` only puts the notification on a bounded
queue; this object's one thread sends it. A broker that is down costs log lines and,
once the queue is full, dropped notifications (counted: `backlog`, `dropped`).
Notifications are off (nothing queued, no thread) unless a driver other than
``noop`` is configured.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from typing import Any

from oslo_config import cfg

LOG = logging.getLogger(__name__)

QUEUE_SIZE = 10000
# Retries of one send on connection errors before the notification is dropped.
SEND_RETRY = 2


def daemon(target: Any, name: str) -> threading.Thread:
    """A sender's thread, started: a daemon, so a bus or a Nova that hangs never
    holds up the process's exit."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def request_context(ctx: Any) -> Any:
    """The request's context as an oslo.context RequestContext: oslo.messaging's
    notifier sends such a context (its keys: user, project_id, roles, request_id...)
    and discards a plain dict."""
    from oslo_context import context as oslo_context
    return oslo_context.RequestContext(
        user_id=ctx.user_id, project_id=ctx.project_id, roles=list(ctx.roles),
        is_admin=ctx.is_admin, request_id=ctx.request_id)


def configured_drivers(conf: cfg.ConfigOpts) -> list[str]:
    """[oslo_messaging_notifications] driver, registered the way oslo.messaging does."""
    from oslo_messaging import opts as messaging_opts
    for group, opts in messaging_opts.list_opts():
        if group == "oslo_messaging_notifications":
            # The same Opt objects oslo.messaging registers: no duplicate error.
            conf.register_opts(list(opts), group=group)
    return [d for d in conf.oslo_messaging_notifications.driver if d != "noop"]


class NotificationSender:
    """The process's notifier for resource events on the notification bus."""

    def __init__(self, conf: cfg.ConfigOpts, publisher_id: str | None = None) -> None:
        self.conf = conf
        self.enabled = bool(configured_drivers(conf))
        self.publisher_id = publisher_id or f"network.{conf.host}"
        self._queue: queue.Queue[tuple[Any, str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._notifier: Any = None
        self._transport: Any = None
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    @property
    def backlog(self) -> int:
        """Notifications queued and not sent yet."""
        return self._queue.qsize()

    def start(self, transport: Any = None) -> NotificationSender:
        """Start the sending thread; `transport`: the in-process bus (fake://) the
        process shares, else the notifier makes its own on its thread."""
        if not self.enabled or self._thread is not None:
            return self
        self._transport = transport
        self._thread = daemon(self._run, "notifications")
        return self

    def stop(self, timeout: float = 2.0) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)  # the thread ends after what is queued
        self._thread.join(timeout)
        if self._thread.is_alive():
            LOG.warning("notifications: stopped with %d unsent", self.backlog)
        self._thread = None

    def info(self, ctx: Any, event_type: str, payload: Any) -> None:
        if not self.enabled:
            return
        try:
            self._queue.put_nowait((ctx, event_type, payload))
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                LOG.warning("notification queue full (bus down?): %d dropped",
                            self.dropped)

    def _oslo_notifier(self) -> Any:
        if self._notifier is None:
            import oslo_messaging
            transport = self._transport or oslo_messaging.get_notification_transport(
                self.conf)
            self._transport = transport
            self._notifier = oslo_messaging.Notifier(
                transport, publisher_id=self.publisher_id, retry=SEND_RETRY)
        return self._notifier

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            ctx, event_type, payload = item
            try:
                self._oslo_notifier().info(ctx, event_type, payload)
                self.sent += 1
            except Exception as error:  # noqa: BLE001 - logged; the request is done
                self.failed += 1
                LOG.warning("notification %s not sent: %s", event_type, error)
