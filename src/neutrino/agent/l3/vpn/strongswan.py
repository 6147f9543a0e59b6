"""VPNaaS (issue 16): one strongSwan charon per router namespace that has an
enabled VPN service.

`Strongswan.ensure(router_id, namespace, router)` is called for every router the
agent realises (after its links), `remove(router_id, namespace)` before a router
namespace goes, `remove_stale(keep)` for routers gone while the agent was down
(the same hook shape as radvd and keepalived). Per router, under ``ipsec_confs``
(``$state_path/ipsec``) a directory ``<router>/`` (render.Paths):
``strongswan.conf`` (charon's: plugins, vici socket, log), ``swanctl.conf`` (the
connections and their pre-shared keys, mode 0600), ``charon.log`` and ``run/``,
which charon sees as its ``/run`` (``charon.pid``, ``charon.vici``).

charon has no option for its pid file or control sockets (``/var/run/charon.pid``
is compiled in, and a second charon refuses to start while the first holds it):
it is started in a mount namespace of its own (``ip netns exec`` makes one) where
the router's ``run/`` is bound onto ``/run``, with ``STRONGSWAN_CONF`` naming the
router's ``strongswan.conf`` and the router's directory as a (ignored) argument,
so that its command line says whose it is. swanctl reaches its vici socket from
the host's namespace, by a path relative to the router's directory (a unix
socket's path has at most 107 bytes).

* no enabled service (render.render is None): charon stopped, directory removed;
* charon's ``strongswan.conf`` or the connections differ from the files: files
  rewritten and charon restarted (stopped: it deletes its SAs with the peers;
  started; connections loaded with ``swanctl --load-all``): a changed connection
  renegotiates at once, a removed one stops carrying traffic;
* charon not running (crashed, a reboot): started and loaded;
* otherwise nothing (a file read and a /proc read).

A load that fails removes ``swanctl.conf`` (the next sync loads again). Nothing is
remembered in memory but whether the last start failed (reported ERROR): a
restarted agent finds its charons by their pid files.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from typing import Any

from neutrino.agent.common import privileged
from neutrino.agent.l3 import daemons
from neutrino.agent.l3.daemons import stop_process
from neutrino.agent.l3.vpn import render, status
from neutrino.agent.l3.vpn.render import Paths, Settings
from neutrino.agent.l3.vpn.status import Charon
from neutrino.contract import names

LOG = logging.getLogger(__name__)

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
SWANCTL_TIMEOUT = 15.0
# Run inside the router namespace: charon's /run made the router's own, then charon.
# $1: the router's directory.
LAUNCH = ('exec >>"$1/charon.out" 2>&1; mount --bind "$1/run" /run && '
          'STRONGSWAN_CONF="$1/strongswan.conf" exec "$2" "$1"')


class Strongswan:
    """The charons of the routers of one agent."""

    def __init__(self, directory: str, settings: Settings | None = None,
                 binary: str = render.BINARY, swanctl: str = render.SWANCTL) -> None:
        self.directory = directory
        self.settings = settings or Settings()
        self.binary = binary
        self.swanctl = swanctl
        self.failed: dict[str, str] = {}   # router -> why its charon did not start

    def paths(self, router_id: str) -> Paths:
        return Paths(os.path.join(self.directory, router_id))

    # -- the MetadataProxies-shaped hooks the reconciler calls ------------------------

    def ensure(self, router_id: str, namespace: str, router: Mapping[str, Any]) -> None:
        rendered = render.render(router, self.settings)
        if rendered is None:
            self.remove(router_id, namespace)
            return
        for connection, why in sorted(rendered.errors.items()):
            LOG.warning("router %s: IPsec site connection %s not run: %s", router_id,
                        connection, why)
        paths = self.paths(router_id)
        os.makedirs(paths.run, mode=0o700, exist_ok=True)
        charon_conf = render.strongswan_conf(paths, self.settings)
        changed = (daemons.read(paths.strongswan_conf) != charon_conf
                   or daemons.read(paths.swanctl_conf) != rendered.swanctl)
        pid = self.running_pid(router_id)
        if pid is not None and not changed:
            return
        if pid is not None:
            stop_process(pid, STOP_TIMEOUT)
            LOG.info("charon %d of router %s stopped: its configuration changed", pid,
                     router_id)
        daemons.write(paths.strongswan_conf, charon_conf)
        daemons.write(paths.swanctl_conf, rendered.swanctl, mode=0o600)
        try:
            self._start(router_id, namespace, paths)
            self._load(paths)
        except Exception as error:
            self.failed[router_id] = str(error)
            daemons.unlink(paths.swanctl_conf)  # loaded again at the next sync
            raise
        self.failed.pop(router_id, None)

    def remove(self, router_id: str, namespace: str) -> None:
        paths = self.paths(router_id)
        pid = self.running_pid(router_id)
        if pid is not None:
            stop_process(pid, STOP_TIMEOUT)
            LOG.info("charon %d of router %s stopped", pid, router_id)
        self.failed.pop(router_id, None)
        shutil.rmtree(paths.directory, ignore_errors=True)

    def remove_stale(self, keep: Iterable[str]) -> list[str]:
        """Stop the charon (and remove the files) of every router whose namespace is
        not in `keep`; the namespaces of those removed."""
        wanted = set(keep)
        stale = [names.router_namespace(router_id) for router_id in self.routers()
                 if names.router_namespace(router_id) not in wanted]
        for namespace in stale:
            self.remove(namespace[len(names.ROUTER_NAMESPACE_PREFIX):], namespace)
        return stale

    def routers(self) -> list[str]:
        try:
            return sorted(entry for entry in os.listdir(self.directory)
                          if os.path.isdir(os.path.join(self.directory, entry)))
        except FileNotFoundError:
            return []

    # -- what charon says -----------------------------------------------------------------

    def observe(self, router_id: str, router: Mapping[str, Any]) -> Charon:
        """The router's charon as the status reports need it."""
        rendered = render.render(router, self.settings)
        errors = dict(rendered.errors) if rendered else {}
        paths = self.paths(router_id)
        running = (rendered is not None and self.running_pid(router_id) is not None
                   and daemons.read(paths.swanctl_conf) == rendered.swanctl)
        if not running or rendered is None:
            return Charon(running=False, failed=router_id in self.failed, errors=errors)
        try:
            raw = privileged.execute(self._swanctl(paths, "--list-sas", "--raw"),
                                     timeout=SWANCTL_TIMEOUT)
        except (privileged.CommandError, OSError) as error:
            LOG.warning("router %s: charon's SAs not read: %s", router_id, error)
            raw = ""
        return Charon(running=True, sas=status.parse_sas(raw),
                      loaded=frozenset(rendered.connections), errors=errors)

    # -- processes ------------------------------------------------------------------------

    def running_pid(self, router_id: str) -> int | None:
        paths = self.paths(router_id)
        return daemons.running_pid(paths.pid, self.binary, paths.directory)

    def _swanctl(self, paths: Paths, *args: str) -> list[str]:
        """swanctl run from the router's directory, to the socket by its relative
        path (render.VICI_FROM_DIRECTORY)."""
        return ["sh", "-c", 'cd "$0" && exec "$@"', paths.directory, self.swanctl, *args,
                "--uri", render.VICI_FROM_DIRECTORY]

    def _start(self, router_id: str, namespace: str, paths: Paths) -> None:
        daemons.unlink(paths.pid, paths.vici)  # charon refuses a stale pid file
        # setsid -f: charon stays in the foreground of a session of its own, not a
        # child of the agent.
        privileged.execute(["setsid", "-f", "sh", "-c", LAUNCH, "charon-netns",
                            paths.directory, self.binary], namespace=namespace)
        pid = daemons.wait_started(paths.pid, self.binary, paths.directory,
                                   f"charon of router {router_id} (see {paths.log})",
                                   START_TIMEOUT)
        # The vici socket comes after the pid file: swanctl needs it.
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(paths.vici):
            if time.monotonic() > deadline or privileged.process_cmdline(pid) is None:
                raise RuntimeError(f"charon of router {router_id} has no vici socket "
                                   f"(see {paths.log})")
            time.sleep(0.02)
        LOG.info("charon %d started for router %s", pid, router_id)

    def _load(self, paths: Paths) -> None:
        # --file: the router's swanctl.conf (credential directories beside it are
        # looked for and absent: harmless).
        privileged.execute(self._swanctl(paths, "--load-all", "--noprompt", "--file",
                                         paths.swanctl_conf), timeout=SWANCTL_TIMEOUT)
