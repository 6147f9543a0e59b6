"""radvd per router namespace: the L3 agent's IPv6 router advertisements.

`Radvd.ensure(router_id, namespace, router)` is called for every router the agent
realises, after its namespace is converged; `remove(router_id, namespace)` before a
router namespace goes. Per router, under ``ra_confs`` (``$state_path/ra``):
``<router>.radvd.conf`` (ra.py renders it) and ``<router>.radvd.pid`` (radvd
writes it). Cheap when nothing changed (a file read and a /proc read):

* no advertised interface (no IPv6 subnet with ``ipv6_ra_mode``): radvd stopped,
  its files removed;
* the text differs from the file: the file rewritten, radvd told with SIGHUP (it
  re-reads its configuration), or started when it does not run;
* radvd not running (never started, crashed, an agent restart after a reboot):
  started;
* otherwise nothing.

Which process is the router's: the pid file's, if its command line is radvd with
that configuration file (a pid may be reused). Nothing is remembered in memory: a
restarted agent finds its radvds by their pid files. All process work goes
through agent/common/privileged.py.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from neutrino.agent.common import privileged
from neutrino.agent.l3 import ra
from neutrino.agent.l3.ra import RaSettings
from neutrino.contract import names

LOG = logging.getLogger(__name__)

BINARY = "radvd"
STOP_TIMEOUT = 5.0
START_TIMEOUT = 5.0


@dataclass(frozen=True)
class Paths:
    config: str
    pid: str
    log: str


class Radvd:
    """The radvd processes of the routers of one agent."""

    def __init__(self, directory: str, settings: RaSettings | None = None,
                 binary: str = BINARY) -> None:
        self.directory = directory
        self.settings = settings or RaSettings()
        self.binary = binary

    def paths(self, router_id: str) -> Paths:
        base = os.path.join(self.directory, f"{router_id}.radvd")
        return Paths(config=base + ".conf", pid=base + ".pid", log=base + ".log")

    def command(self, paths: Paths) -> list[str]:
        # Logs to a file beside the configuration: radvd's complaints (an
        # interface not ready yet) are where an operator looks for the router.
        return [self.binary, "-C", paths.config, "-p", paths.pid, "-m", "logfile",
                "-l", paths.log]

    # -- the MetadataProxies-shaped hooks the reconciler calls ------------------------

    def ensure(self, router_id: str, namespace: str, router: Mapping[str, Any]) -> None:
        text = ra.render(router, self.settings)
        if text is None:
            self.remove(router_id, namespace)
            return
        paths = self.paths(router_id)
        changed = _read(paths.config) != text
        if changed:
            os.makedirs(self.directory, exist_ok=True)
            _write(paths.config, text)
        pid = self.running_pid(router_id)
        if pid is not None and privileged.process_cmdline(pid) != self.command(paths):
            LOG.info("radvd %d of router %s has another command line; restarting",
                     pid, router_id)
            stop_process(pid)
            pid = None
        if pid is None:
            self._start(router_id, namespace, paths)
        elif changed:
            privileged.signal_process(pid, signal.SIGHUP)
            LOG.info("radvd %d of router %s reloaded", pid, router_id)

    def remove(self, router_id: str, namespace: str) -> None:
        paths = self.paths(router_id)
        pid = self.running_pid(router_id)
        if pid is not None:
            stop_process(pid)
            LOG.info("radvd %d of router %s stopped", pid, router_id)
        for path in (paths.config, paths.pid, paths.log):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def remove_stale(self, keep: Iterable[str]) -> list[str]:
        """Stop the radvd (and remove the files) of every router whose namespace is
        not in `keep` (a router gone while the agent was down, files left by a
        reboot); the namespaces of those removed."""
        try:
            entries = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        wanted = set(keep)
        suffixes = (".radvd.conf", ".radvd.pid", ".radvd.log")
        routers = sorted({entry[:-len(suffix)] for entry in entries
                          for suffix in suffixes if entry.endswith(suffix)})
        stale = [names.router_namespace(router_id) for router_id in routers
                 if names.router_namespace(router_id) not in wanted]
        for namespace in stale:
            self.remove(namespace[len(names.ROUTER_NAMESPACE_PREFIX):], namespace)
        return stale

    # -- processes ------------------------------------------------------------------

    def running_pid(self, router_id: str) -> int | None:
        """The router's radvd when it runs."""
        paths = self.paths(router_id)
        pid = _read_pid(paths.pid)
        if pid is None:
            return None
        argv = privileged.process_cmdline(pid)
        if argv and os.path.basename(argv[0]) == os.path.basename(self.binary) \
                and paths.config in argv:
            return pid
        return None

    def _start(self, router_id: str, namespace: str, paths: Paths) -> None:
        try:
            os.unlink(paths.pid)  # a stale one: radvd refuses a pid file in use
        except FileNotFoundError:
            pass
        # radvd checks its configuration, then daemonizes and writes the pid file:
        # its exit status says whether the configuration was good.
        privileged.execute(self.command(paths), namespace=namespace)
        deadline = time.monotonic() + START_TIMEOUT
        while self.running_pid(router_id) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"radvd of router {router_id} did not start (see "
                                   f"{paths.log})")
            time.sleep(0.02)
        LOG.info("radvd %s started for router %s", self.running_pid(router_id), router_id)


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write(path: str, text: str) -> None:
    """Replace the file at once (radvd may read it on a SIGHUP meanwhile)."""
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _read_pid(path: str) -> int | None:
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def stop_process(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL if it does not go within `timeout`."""
    if not privileged.signal_process(pid, signal.SIGTERM):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if privileged.process_cmdline(pid) is None:
            return
        time.sleep(0.05)
    LOG.warning("radvd %d ignored SIGTERM; killing it", pid)
    privileged.signal_process(pid, signal.SIGKILL)
