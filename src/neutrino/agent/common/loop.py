"""The agents' main loop: heartbeat, triggers, debounced full resyncs.

An agent is level-triggered (DESIGN.md, principle 4): whatever woke it, it asks the
server for the whole desired state of its host and reconciles the kernel to it. So
every trigger is the same "resync soon":

* a fanout notification from the server (any method on the agent's topics);
* a device event from the kernel (a tap appeared or went away: netlink, no polling);
* the periodic full resync every ``resync_interval`` seconds (closes any gap: a
  lost message, a broker outage);
* a failed sync, retried after ``polling_interval`` seconds, then less and less
  often up to ``resync_interval``;
* a connection to the broker re-established (agent/common/reconnect.py): what was
  notified while the agent was cut off is lost. It also ends a failed sync's
  back-off at once.

Triggers within ``polling_interval`` of each other are coalesced into one sync.
The heartbeat (state report) runs in its own thread every ``report_interval``
seconds, ``start_flag`` set on the first report after start, so a slow sync never
makes the agent look dead. Nothing is kept on disk: a restarted agent starts with a
full resync, which is why a crash costs nothing but that.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from neutrino.agent.common.metrics import LoopMetrics

LOG = logging.getLogger(__name__)


class AgentLoop:
    def __init__(self, sync: Callable[[], None], report: Callable[[bool], None] | None,
                 report_interval: float, resync_interval: float,
                 polling_interval: float) -> None:
        """`sync()` fetches the desired state and reconciles (raises on failure);
        `report(start_flag)` sends one state report."""
        self.sync = sync
        self.report = report
        self.report_interval = report_interval
        self.resync_interval = resync_interval
        self.polling_interval = polling_interval
        self._wake = threading.Event()
        self._urgent = threading.Event()  # cuts a back-off short
        self._stop = threading.Event()
        self._reasons: list[str] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.syncs = 0           # completed syncs (tests, logs)
        self.last_error: BaseException | None = None
        self.metrics = LoopMetrics()  # Prometheus (issue 15): served if configured

    # -- triggers --------------------------------------------------------------

    def trigger(self, reason: str, urgent: bool = False) -> None:
        """Ask for a resync soon (coalesced with others within polling_interval).
        `urgent`: also now if a failed sync is waiting out its back-off (the bus
        reconnected: the server is likely reachable again). Does not log (called
        from a logging handler, agent/common/reconnect.py)."""
        with self._lock:
            if len(self._reasons) < 20:
                self._reasons.append(reason)
        if urgent:
            self._urgent.set()
        self._wake.set()

    def _take_reasons(self) -> list[str]:
        with self._lock:
            reasons, self._reasons = self._reasons, []
        return reasons

    # -- running ---------------------------------------------------------------

    def start(self) -> AgentLoop:
        """Run in background threads (the agent's main thread waits on `wait`)."""
        if self.report is not None and self.report_interval > 0:
            self._spawn(self._heartbeat, "heartbeat")
        self._spawn(self._sync_loop, "sync")
        return self

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def request_stop(self) -> None:
        """Make `wait` return (safe from a signal handler)."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._urgent.set()
        for thread in self._threads:
            thread.join(timeout)

    def stopped(self, timeout: float | None = None) -> bool:
        """Whether a stop was asked for, waiting up to `timeout` seconds for one."""
        return self._stop.wait(timeout)

    def retime(self, resync_interval: float, polling_interval: float) -> None:
        """New intervals (a configuration reload): the running threads take them at
        their next wait."""
        self.resync_interval = resync_interval
        self.polling_interval = polling_interval

    def _heartbeat(self) -> None:
        start_flag = True
        while not self._stop.is_set():
            try:
                self.report(start_flag)  # type: ignore[misc]
                start_flag = False
            except Exception as error:  # noqa: BLE001 - keep reporting: the server may come back
                LOG.warning("state report failed: %s", error)
            self._stop.wait(self.report_interval)

    def _sync_loop(self) -> None:
        self.trigger("agent started")
        retry_delay = self.polling_interval
        last_sync = 0.0
        while not self._stop.is_set():
            woken = self._wake.wait(self.resync_interval)
            if self._stop.is_set():
                return
            if not woken:
                self.trigger("periodic resync")
            # Debounce: a burst of events (a VM with several ports, a bulk create)
            # becomes one sync.
            since = time.monotonic() - last_sync
            if since < self.polling_interval:
                self._urgent.wait(self.polling_interval - since)  # not when urgent
            if self._stop.wait(min(self.polling_interval, 0.2)):
                return
            self._wake.clear()
            reasons = self._take_reasons()
            LOG.debug("resync: %s", ", ".join(reasons) or "woken")
            last_sync = time.monotonic()
            self._urgent.clear()  # what comes from now on may cut the back-off
            try:
                self.sync()
            except Exception as error:  # noqa: BLE001 - retried; the dataplane stays as it was
                self.metrics.observe(time.monotonic() - last_sync, ok=False)
                self.last_error = error
                LOG.warning("sync failed (%s); retrying in %.0f s", error, retry_delay)
                self._urgent.wait(retry_delay)
                if self._stop.is_set():
                    return
                retry_delay = min(retry_delay * 2, self.resync_interval)
                self.trigger("retry after failure")
                continue
            self.metrics.observe(time.monotonic() - last_sync, ok=True)
            self.last_error = None
            retry_delay = self.polling_interval
            self.syncs += 1
