"""The `rpc_workers` processes that serve only the bus (each runs a
neutrino.core.ServerRuntime with the RPC servers and the agent check).

With ``rpc_workers = 0`` (default) every API worker runs the RPC servers and the
agent check itself. With N > 0, neutrino-server starts N processes that run them
(and restarts one that dies) and the API workers only send notifications: calls from
agents then never queue behind HTTP requests.

With several processes each runs its own agent check, so a dead agent is logged once
per process; failovers are safe concurrently (scheduling locks the network's row).

The supervisor is forked from neutrino-server's master and forks the workers in
turn (as gunicorn's master forks the API workers): the code is imported once, each
worker only reads the configuration and builds its core. Fresh interpreters (the
supervisor and each worker) imported it all again while the API workers started: on
the 2-core machine under load the bus was served 15-20 s after the API answered
(docs/rpc.md, session 9).

SIGHUP to neutrino-server (``systemctl reload``) reaches the supervisor too
(`RpcWorkers.reload`): it replaces its workers one after the other — new processes
that read the configuration files again (new code needs a restart, as for the API
workers) — so with two or more the bus is served throughout.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

from neutrino import conf as conf_mod
from neutrino import log
from neutrino.api.metrics import ServerMetrics
from neutrino.core import ServerRuntime, build_core

LOG = logging.getLogger("neutrino.rpc.workers")  # also when run as __main__


def _child_main(argv: list[str], index: int) -> None:
    """An RPC worker process: the bus only, until SIGTERM or its parent is gone."""
    conf = conf_mod.new_conf(argv)
    log.setup(conf)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # the supervisor's, inherited
    parent = os.getppid()
    core = build_core(conf)
    runtime = ServerRuntime(core, serve_rpc=True).start()
    LOG.info("RPC worker %d (pid %d) started", index, os.getpid())
    served = serve_metrics(conf, core, index)
    while not stop.wait(1.0):
        if os.getppid() != parent:
            LOG.warning("RPC worker %d: neutrino-server is gone, exiting", index)
            break
    if served is not None:
        served.stop()
    runtime.stop()
    core.db.engine.dispose()


def serve_metrics(conf: Any, core: Any, index: int) -> ServerMetrics | None:
    """Prometheus on ``[metrics] listen_port + api_workers + index`` (after the API
    workers' ports): the RPC calls this worker served, its pool and notifiers."""
    if not conf.metrics.listen_port:
        return None
    metrics = ServerMetrics(core)
    port = conf.metrics.listen_port + conf.api_workers + index
    return metrics if metrics.serve(conf.metrics.listen_host, port) else None


class RpcWorkers:
    """Started by neutrino-server's master before gunicorn takes over: forks the RPC
    workers' supervisor from the master, whose code is imported already (a fresh
    interpreter took seconds of a busy core to import it again before any worker
    started). The workers are the supervisor's children, not the gunicorn master's:
    gunicorn reaps every child it sees exit, which would hide our workers' deaths
    from whoever watches them."""

    def __init__(self, argv: list[str], count: int) -> None:
        self.argv = list(argv)
        self.count = count
        self.pid: int | None = None
        self.owner = 0

    def start(self) -> RpcWorkers:
        # The master is fork-safe here as for gunicorn's own forks: no threads, its
        # database engine disposed (cmd/server.py prepare_database), no broker yet.
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = main([str(self.count), *self.argv])
            except BaseException:
                LOG.exception("the RPC workers' supervisor failed")
            finally:
                os._exit(code)  # not the master's atexit handlers
        self.pid, self.owner = pid, os.getpid()
        return self

    def _mine(self) -> int | None:
        """The supervisor's pid in the master only: the API workers, forked from the
        master, inherit this object (and unwind through neutrino-server's main when
        they exit) but must not signal the supervisor."""
        return self.pid if os.getpid() == self.owner else None

    def reload(self) -> None:
        """The workers replaced, reading the configuration files again."""
        if (pid := self._mine()) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGHUP)

    def stop(self, timeout: float = 15.0) -> None:
        if (pid := self._mine()) is None:
            return
        self.pid = None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:  # reaped already (gunicorn's master reaps all)
                return
            time.sleep(0.1)  # waiting for a process's exit: nothing to wait on
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


class Supervisor:
    """Runs `count` RPC worker processes (forked from this one) and restarts any
    that exits, until SIGTERM or until neutrino-server is gone."""

    def __init__(self, argv: list[str], count: int) -> None:
        self.argv = list(argv)
        self.count = count
        # fork: the children start from this process's imported modules. It has
        # no threads, database engine or broker connection to inherit (main below
        # only reads the configuration and sets up logging).
        self._context = multiprocessing.get_context("fork")
        self._procs: list[BaseProcess] = []
        self._stop = threading.Event()
        self._reload = threading.Event()

    def _spawn(self, index: int) -> None:
        proc = self._context.Process(target=_child_main, args=(self.argv, index),
                                     name=f"neutrino-rpc-{index}")
        proc.start()
        if index < len(self._procs):
            self._procs[index] = proc
        else:
            self._procs.append(proc)
        LOG.info("started RPC worker %d, pid %s", index, proc.pid)

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())
        parent = os.getppid()
        for index in range(self.count):
            self._spawn(index)
        while not self._stop.wait(1.0):
            if os.getppid() != parent:
                LOG.warning("neutrino-server is gone: stopping the RPC workers")
                break
            if self._reload.is_set():
                self._reload.clear()
                self._replace_all()
            for index, proc in enumerate(self._procs):
                if not proc.is_alive():
                    LOG.warning("RPC worker %d (pid %s) exited with %s: restarting",
                                index, proc.pid, proc.exitcode)
                    self._spawn(index)
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self._procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join()


    def _replace_all(self) -> None:
        """SIGHUP: each worker stopped and started anew, one at a time."""
        LOG.info("SIGHUP: replacing the %d RPC worker(s)", self.count)
        for index, proc in enumerate(list(self._procs)):
            if self._stop.is_set():
                return
            proc.terminate()
            proc.join(15)
            if proc.is_alive():
                proc.kill()
                proc.join()
            self._spawn(index)
        LOG.info("SIGHUP: RPC workers replaced")


def main(args: list[str]) -> int:
    """The supervisor: ``COUNT [neutrino-server arguments]`` (also runnable as
    ``python -m neutrino.cmd.rpc_workers``)."""
    count, argv = int(args[0]), list(args[1:])
    conf = conf_mod.new_conf(argv)
    log.setup(conf)
    Supervisor(argv, count).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
