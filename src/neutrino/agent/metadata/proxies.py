"""MetadataProxies: one metadata proxy process (ns_proxy.py) per namespace.

Used by the DHCP agent (``qdhcp-<net>``, isolated networks) and the L3 agent
(``qrouter-<router>``). Idempotent and restart-safe without memory: each proxy has a
pid file ``<pid_dir>/<namespace>.pid`` (and its log beside it), and a process
counts as ours only if its command line is ns_proxy's with that very pid file (a
pid may be reused; nothing is ever killed by name). So a restarted agent adopts the
proxies its predecessor left when their command line is the one wanted (and they
run in the namespace of that name now: it may have been deleted and made again),
and replaces them otherwise.

Each agent gives its manager a directory of its own: `remove_stale` removes every
proxy of that directory whose namespace is not kept.

API (for the L3 agent)::

  proxies = MetadataProxies(pid_dir, socket_path)
  proxies.ensure("qrouter-<id>", "router", router_id, "0.0.0.0", 9697)
  proxies.remove("qrouter-<id>")
  proxies.remove_stale(keep={"qrouter-<id>", ...})
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from neutrino.agent.common import privileged

LOG = logging.getLogger(__name__)

MODULE = "neutrino.agent.metadata.ns_proxy"
METADATA_ADDRESS = "169.254.169.254"
METADATA_CIDR = "169.254.169.254/32"
METADATA_PORT = 80
KINDS = ("network", "router")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class ProxySpec:
    """What one proxy is: where it runs, whom it speaks for, where it listens."""

    namespace: str
    kind: str           # "network" | "router"
    resource_id: str
    bind_address: str = METADATA_ADDRESS
    bind_port: int = METADATA_PORT

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r}: one of {KINDS}")


def command(python: str, spec: ProxySpec, socket_path: str, pid_file: str) -> list[str]:
    """The proxy's argv (pure; compared with a running proxy's to adopt it)."""
    return [python, "-m", MODULE, f"--{spec.kind}-id", spec.resource_id,
            "--bind-address", spec.bind_address, "--bind-port", str(spec.bind_port),
            "--socket", socket_path, "--pid-file", pid_file]


def is_proxy_of(argv: list[str] | None, pid_file: str) -> bool:
    """Whether a process's argv is an ns_proxy using `pid_file` (pure)."""
    if not argv or MODULE not in argv or "--pid-file" not in argv:
        return False
    index = argv.index("--pid-file")
    return index + 1 < len(argv) and argv[index + 1] == pid_file


class MetadataProxies:
    """Starts, adopts, replaces and stops this agent's metadata proxies."""

    def __init__(self, pid_dir: str, socket_path: str, python: str = sys.executable,
                 start_timeout: float = START_TIMEOUT) -> None:
        self.pid_dir = os.path.abspath(pid_dir)
        self.socket_path = os.path.abspath(socket_path)
        self.python = python
        self.start_timeout = start_timeout
        # Started here: reaped here.
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def pid_file(self, namespace: str) -> str:
        return os.path.join(self.pid_dir, f"{namespace}.pid")

    def log_file(self, namespace: str) -> str:
        return os.path.join(self.pid_dir, f"{namespace}.log")

    def running(self, namespace: str) -> int | None:
        """The pid of the namespace's proxy when it runs."""
        pid_file = self.pid_file(namespace)
        try:
            with open(pid_file) as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        return pid if is_proxy_of(privileged.process_cmdline(pid), pid_file) else None

    def namespaces(self) -> set[str]:
        """Namespaces with a proxy of this manager (running or not)."""
        if not os.path.isdir(self.pid_dir):
            return set()
        return {name[:-len(".pid")] for name in os.listdir(self.pid_dir)
                if name.endswith(".pid")}

    # -- verbs ------------------------------------------------------------------------

    def ensure(self, namespace: str, kind: str, resource_id: str,
               bind_address: str = METADATA_ADDRESS, bind_port: int = METADATA_PORT
               ) -> str | None:
        """A proxy for (kind, resource_id) listening on bind_address:bind_port in
        `namespace`: "started" or "restarted" when it had to, None when it ran
        already. Raises RuntimeError (with the proxy's log) when it cannot start
        (e.g. the address is not on an interface of the namespace)."""
        spec = ProxySpec(namespace, kind, resource_id, bind_address, bind_port)
        with self._lock:
            self._reap()
            pid_file = self.pid_file(namespace)
            cmd = command(self.python, spec, self.socket_path, pid_file)
            pid = self.running(namespace)
            action = "started"
            if pid is not None:
                same = (privileged.process_cmdline(pid) or [])[1:] == cmd[1:]
                # A namespace deleted and made again: the proxy serves the old one.
                if same and privileged.process_in_namespace(pid, namespace):
                    return None
                LOG.info("metadata proxy %d in %s has another command line or "
                         "namespace; replacing it", pid, namespace)
                self._stop(namespace, pid)
                action = "restarted"
            self._start(namespace, cmd)
            return action

    def remove(self, namespace: str) -> bool:
        """Stop the namespace's proxy and forget it; whether one ran."""
        with self._lock:
            self._reap()
            pid = self.running(namespace)
            if pid is not None:
                self._stop(namespace, pid)
            for path in (self.pid_file(namespace), self.log_file(namespace)):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            return pid is not None

    def remove_stale(self, keep: Iterable[str]) -> list[str]:
        """Remove the proxies of every namespace not in `keep`; those removed."""
        stale = sorted(self.namespaces() - set(keep))
        for namespace in stale:
            self.remove(namespace)
        return stale

    # -- processes ------------------------------------------------------------------------

    def _start(self, namespace: str, cmd: list[str]) -> None:
        os.makedirs(self.pid_dir, mode=0o755, exist_ok=True)
        try:
            os.unlink(self.pid_file(namespace))
        except FileNotFoundError:
            pass
        log = self.log_file(namespace)
        proc = privileged.spawn(cmd, namespace=namespace, log_path=log)
        self._children[namespace] = proc
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            # Ready once it wrote its pid file (after binding).
            if self.running(namespace) is not None:
                LOG.info("metadata proxy %d started in %s", proc.pid, namespace)
                return
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self._children.pop(namespace, None)
        raise RuntimeError(f"metadata proxy in {namespace} did not start: "
                           f"{_tail(log)}")

    def _stop(self, namespace: str, pid: int) -> None:
        if privileged.signal_process(pid, signal.SIGTERM):
            deadline = time.monotonic() + STOP_TIMEOUT
            while privileged.process_cmdline(pid) is not None:
                if time.monotonic() > deadline:
                    LOG.warning("metadata proxy %d ignored SIGTERM; killing it", pid)
                    privileged.signal_process(pid, signal.SIGKILL)
                    break
                child = self._children.get(namespace)
                if child is not None and child.pid == pid:
                    child.poll()
                time.sleep(0.02)
        child = self._children.pop(namespace, None)
        if child is not None:
            try:
                child.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass

    def _reap(self) -> None:
        """Collect proxies started here that have exited (no zombies)."""
        for namespace, child in list(self._children.items()):
            if child.poll() is not None:
                del self._children[namespace]


def _tail(path: str, size: int = 2000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - size))
            return handle.read().decode(errors="replace").strip() or "(no output)"
    except OSError:
        return "(no log)"
