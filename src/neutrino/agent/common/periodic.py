"""A task an agent runs every few seconds on a thread of its own, beside its main
loop (what must reach the server without waiting for the next sync: HA states,
VPN statuses). A failed tick is logged and tried again at the next one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

LOG = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, interval: float, tick: Callable[[], object],
                 what: str) -> None:
        self.name = name
        self.interval = interval
        self.tick = tick
        self.what = what  # for the log: "HA router states", ...
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception as error:  # noqa: BLE001 - retried at the next tick
                LOG.warning("%s not reported: %s", self.what, error)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
