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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from neutrino.agent.common import privileged
from neutrino.agent.l3 import daemons, ra
from neutrino.agent.l3.daemons import stop_process
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
        changed = daemons.read(paths.config) != text
        if changed:
            os.makedirs(self.directory, exist_ok=True)
            daemons.write(paths.config, text)
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
        daemons.unlink(paths.config, paths.pid, paths.log)

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
        return daemons.running_pid(paths.pid, self.binary, paths.config)

    def _start(self, router_id: str, namespace: str, paths: Paths) -> None:
        daemons.unlink(paths.pid)  # a stale one: radvd refuses a pid file in use
        # radvd checks its configuration, then daemonizes and writes the pid file:
        # its exit status says whether the configuration was good.
        privileged.execute(self.command(paths), namespace=namespace)
        pid = daemons.wait_started(paths.pid, self.binary, paths.config,
                                   f"radvd of router {router_id} (see {paths.log})",
                                   START_TIMEOUT)
        LOG.info("radvd %s started for router %s", pid, router_id)

