"""An agent binary's life, the same for the five agents: configuration read and
checked, the agent built and started, then signals until it stops.

* SIGTERM / SIGINT: stop cleanly (the dataplane stays as built), exit status 0.
* SIGHUP (``systemctl reload``): the configuration files are read again
  (`reload_config`). The options marked ``mutable`` take their new values — the
  log level (``debug``), ``[AGENT] polling_interval`` and ``resync_interval``, and
  what an agent reads at each use (docs/monitoring.md lists them); a change to any
  other option is logged by oslo.config as ignored until a restart. The log file is
  opened again (logrotate), and a full resync follows. A file that cannot be read
  leaves the configuration as it was; the agent runs on either way.

Also the two start-up lines every agent's class repeats: its `AgentLoop` from the
``[AGENT]`` intervals (`agent_loop`) and its notification listener started with
the periodic resync as fallback (`start_listener`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from oslo_config import cfg

from neutrino import log
from neutrino.agent.common.config import load_binary_config
from neutrino.agent.common.hostlock import AgentAlreadyRunning
from neutrino.agent.common.loop import AgentLoop

LOG = logging.getLogger(__name__)


class Runnable(Protocol):
    loop: AgentLoop

    def start(self) -> object: ...

    def stop(self) -> None: ...


class Agent(Runnable, Protocol):
    conf: cfg.ConfigOpts
    host: str


A = TypeVar("A", bound=Agent)


class Listener(Protocol):
    def start(self) -> object: ...


def agent_loop(conf: cfg.ConfigOpts, sync: Callable[[], None],
               report: Callable[[bool], None] | None) -> AgentLoop:
    """The agent's main loop, timed by its ``[AGENT]`` options."""
    return AgentLoop(sync, report, report_interval=conf.AGENT.report_interval,
                     resync_interval=conf.AGENT.resync_interval,
                     polling_interval=conf.AGENT.polling_interval)


def start_listener(listener: Listener) -> None:
    """Start listening for the server's notifications; without them (the bus down at
    start) the agent still converges, by its periodic resync."""
    try:
        listener.start()
    except Exception as error:  # noqa: BLE001 - the periodic resync still works
        LOG.error("cannot listen for notifications (%s); relying on the periodic "
                  "resync", error)


def main(argv: list[str] | None, binary: str,
         register: Callable[[cfg.ConfigOpts], None],
         check: Callable[[cfg.ConfigOpts], list[str]],
         build: Callable[[cfg.ConfigOpts], A],
         describe: Callable[[A], str],
         needs_root_for: str | None) -> int:
    """An agent binary's ``main()``: configuration (``needs_root_for``: why it must
    run as root; None: it need not), the agent built, what it is logged, then run
    until stopped. The exit status."""
    conf = load_binary_config(argv, binary, register, check, needs_root_for)
    if conf is None:
        return 1
    agent = build(conf)
    LOG.info("%s on host %s: %s", binary, agent.host, describe(agent))
    return run_until_signalled(agent)


def run_until_signalled(agent: Runnable) -> int:
    """Start, run until SIGTERM or SIGINT, reloading on SIGHUP, stop; exit status
    (1: another agent of its kind owns this host)."""
    reload_requested = threading.Event()
    owner = os.getpid()

    def stop(signum: int, frame: Any) -> None:
        if os.getpid() != owner:
            # A child forked from the agent (pyroute2 forks one per namespace it
            # opens, and ends it with SIGTERM) inherits this handler: it is not the
            # agent stopping, the child is to end as by default.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        LOG.info("signal %d: stopping", signum)
        agent.loop.request_stop()

    def hangup(signum: int, frame: Any) -> None:
        # Only noted here: the main thread reloads, outside the signal handler.
        reload_requested.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, hangup)
    serve_metrics(agent)
    try:
        agent.start()
    except AgentAlreadyRunning as error:
        LOG.error("not starting: %s", error)
        agent.loop.metrics.stop()
        return 1
    while not agent.loop.stopped(0):
        if reload_requested.wait(0.5):
            reload_requested.clear()
            reload_config(getattr(agent, "conf", None), agent.loop)
    agent.stop()
    agent.loop.metrics.stop()
    return 0


def reload_config(conf: cfg.ConfigOpts | None, loop: AgentLoop
                  ) -> dict[tuple[str | None, str], tuple[Any, Any]]:
    """SIGHUP: the files read again, the mutable options applied (logging, the
    loop's intervals), a resync asked for. The mutable options that changed."""
    changed: dict[tuple[str | None, str], tuple[Any, Any]] = {}
    if conf is not None:
        # oslo.config keeps the mutable options' values in _mutable_ns and swaps in
        # the new ones before checking them: a bad value (not a number, under its
        # minimum) would raise at every later read, in the agent's threads. So each
        # changed value is read here, and on any error the previous values come
        # back, with oslo.config's cache of values read emptied (no public way to
        # do either in the oslo.config we use).
        previous = conf._mutable_ns
        try:
            changed = conf.mutate_config_files()
            for group, name in changed:
                _value(conf, group, name)
        except (cfg.Error, ValueError, SystemExit) as error:
            conf._mutable_ns = previous
            conf._ConfigOpts__cache.clear()
            changed = {}
            LOG.error("SIGHUP: the configuration files could not be read (%s); "
                      "keeping the configuration as it was", error)
        else:
            # Also with nothing changed: the log file is opened anew (logrotate).
            log.setup(conf)
            loop.retime(resync_interval=conf.AGENT.resync_interval,
                        polling_interval=conf.AGENT.polling_interval)
            LOG.info("SIGHUP: configuration files read again; changed: %s",
                     ", ".join(_describe(conf, group, name) for group, name in changed)
                     or "nothing mutable")
    loop.trigger("SIGHUP")
    return changed


def _describe(conf: cfg.ConfigOpts, group: str | None, name: str) -> str:
    """``[group] name = value``, the value as parsed (oslo.config reports the raw
    strings of the files); secrets are not mutable, so none is shown."""
    return f"[{group or 'DEFAULT'}] {name} = {_value(conf, group, name)!r}"


def _value(conf: cfg.ConfigOpts, group: str | None, name: str) -> Any:
    return conf[group][name] if group else conf[name]


def serve_metrics(agent: Runnable) -> None:
    """The agent's metrics on [AGENT] metrics_host:metrics_port, when a port is set;
    its device count when it keeps one (an int attribute `devices`)."""
    conf = getattr(agent, "conf", None)
    if conf is None or not conf.AGENT.metrics_port:
        return
    port: int = conf.AGENT.metrics_port
    if isinstance(getattr(agent, "devices", None), int):
        agent.loop.metrics.count_devices(lambda: float(getattr(agent, "devices", 0)))
    try:
        agent.loop.metrics.serve(conf.AGENT.metrics_host, port)
    except OSError as error:  # the agent's work matters more than its metrics
        LOG.error("metrics not served on port %d: %s", port, error)
