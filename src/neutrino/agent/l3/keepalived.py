"""keepalived per HA router namespace: the L3 agent's router HA (ha.py renders).

`Keepalived.ensure(router_id, namespace, router)` is called for every router the
agent realises, after its namespace is converged; `remove(router_id, namespace)`
before a router namespace goes; `remove_stale(keep)` once per sync. Per router,
under ``ha_confs_path`` (``$state_path/ha_confs``) a directory ``<router>/`` with
``keepalived.conf``, ``notify.sh`` (keepalived runs it on each transition; it
writes ``state``), ``state``, and keepalived's pid files. Cheap when nothing
changed:

* not a HA router, or not ready (no HA port on this host yet): keepalived stopped,
  the directory removed;
* the configuration differs from the file: rewritten, keepalived told with SIGHUP
  (it reloads), or started when it does not run;
* keepalived not running: started;
* otherwise nothing.

`states()` reads every router's ``state`` file: what the agent reports to the
server (``update_ha_routers_states``). keepalived is found by its pid file and
command line, as radvd.py does: nothing is remembered in memory. All process work
goes through agent/common/privileged.py.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from neutrino.agent.common import privileged
from neutrino.agent.l3 import daemons, ha
from neutrino.agent.l3 import plan as planning
from neutrino.agent.l3.daemons import stop_process
from neutrino.agent.l3.ha import HaSettings
from neutrino.contract import names

LOG = logging.getLogger(__name__)

BINARY = "keepalived"
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class Paths:
    directory: str
    config: str
    notify: str
    state: str
    pid: str
    vrrp_pid: str


class Keepalived:
    """The keepalived processes of the HA routers of one agent."""

    def __init__(self, directory: str, settings: HaSettings | None = None,
                 binary: str = BINARY) -> None:
        self.directory = directory
        self.settings = settings or HaSettings()
        self.binary = binary

    def paths(self, router_id: str) -> Paths:
        base = os.path.join(self.directory, router_id)
        return Paths(directory=base, config=os.path.join(base, "keepalived.conf"),
                     notify=os.path.join(base, "notify.sh"),
                     state=os.path.join(base, "state"),
                     pid=os.path.join(base, "keepalived.pid"),
                     vrrp_pid=os.path.join(base, "keepalived-vrrp.pid"))

    def command(self, paths: Paths) -> list[str]:
        # VRRP only (-P), our own pid files, logs to syslog as the Debian service's.
        return [self.binary, "-P", "-f", paths.config, "-p", paths.pid,
                "-r", paths.vrrp_pid]

    # -- the MetadataProxies-shaped hooks the reconciler calls ------------------------

    def ensure(self, router_id: str, namespace: str, router: Mapping[str, Any]) -> None:
        paths = self.paths(router_id)
        text = ha.render(router, planning.routes(router), paths.notify, self.settings) \
            if ha.is_ha(router) else None
        if text is None:
            self.remove(router_id, namespace)
            return
        os.makedirs(paths.directory, mode=0o700, exist_ok=True)
        script = ha.notify_script(paths.state)
        if daemons.read(paths.notify) != script:
            daemons.write(paths.notify, script, mode=0o700)
        changed = daemons.read(paths.config) != text
        if changed:
            daemons.write(paths.config, text, mode=0o600)
        pid = self.running_pid(router_id)
        if pid is None:
            self._start(router_id, namespace, paths)
        elif changed:
            privileged.signal_process(pid, signal.SIGHUP)
            LOG.info("keepalived %d of router %s reloaded", pid, router_id)

    def remove(self, router_id: str, namespace: str) -> None:
        paths = self.paths(router_id)
        pid = self.running_pid(router_id)
        if pid is not None:
            stop_process(pid)
            LOG.info("keepalived %d of router %s stopped", pid, router_id)
        shutil.rmtree(paths.directory, ignore_errors=True)

    def remove_stale(self, keep: Iterable[str]) -> list[str]:
        """Stop the keepalived (and remove the files) of every router whose
        namespace is not in `keep`; the namespaces of those removed."""
        wanted = set(keep)
        stale = [names.router_namespace(router_id) for router_id in self._routers()
                 if names.router_namespace(router_id) not in wanted]
        for namespace in stale:
            self.remove(namespace[len(names.ROUTER_NAMESPACE_PREFIX):], namespace)
        return stale

    def states(self) -> dict[str, str]:
        """router id -> active/standby, as the notify scripts last wrote."""
        out = {}
        for router_id in self._routers():
            state = ha.parse_state(daemons.read(self.paths(router_id).state))
            if state is not None:
                out[router_id] = state
        return out

    def _routers(self) -> list[str]:
        try:
            return sorted(entry for entry in os.listdir(self.directory)
                          if os.path.isdir(os.path.join(self.directory, entry)))
        except FileNotFoundError:
            return []

    # -- processes ------------------------------------------------------------------

    def running_pid(self, router_id: str) -> int | None:
        paths = self.paths(router_id)
        return daemons.running_pid(paths.pid, self.binary, paths.config)

    def _start(self, router_id: str, namespace: str, paths: Paths) -> None:
        daemons.unlink(paths.pid, paths.vrrp_pid)
        # keepalived checks its configuration, daemonizes and writes its pid file.
        privileged.execute(self.command(paths), namespace=namespace)
        pid = daemons.wait_started(paths.pid, self.binary, paths.config,
                                   f"keepalived of router {router_id}", START_TIMEOUT)
        LOG.info("keepalived %s started for router %s", pid, router_id)

