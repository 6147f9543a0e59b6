"""neutrino-server: the API served by gunicorn with `api_workers` processes."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication
from oslo_config import cfg

from neutrino import conf as conf_mod
from neutrino import log
from neutrino.agent import embedded
from neutrino.api.app import wsgi_app
from neutrino.cmd import rpc_workers, service_plugins
from neutrino.contract import bus as rpc_transport
from neutrino.core import ServerRuntime, build_core, database
from neutrino.db import migrate

LOG = logging.getLogger("neutrino.server")


def prepare_database(conf: cfg.ConfigOpts) -> None:
    """Upgrade the schema at start when asked (default: on SQLite only)."""
    db = database(conf)
    auto = conf.database.auto_upgrade
    if auto is None:
        auto = db.is_sqlite
    if auto:
        migrate.upgrade(db)
    elif not migrate.is_current(db):
        LOG.warning("database schema is at %s, code expects %s: run "
                    "'neutrino-db-manage upgrade head'", migrate.current(db), migrate.head(db))
    db.engine.dispose()


class Server(BaseApplication):
    def __init__(self, conf: cfg.ConfigOpts, embedded_agents: bool = False,
                 rpc_workers: rpc_workers.RpcWorkers | None = None) -> None:
        self.conf = conf
        self.rpc_workers = rpc_workers  # replaced on SIGHUP too
        self.runtime: ServerRuntime | None = None
        self.embedded_agents = embedded_agents
        self.agents: embedded.EmbeddedAgents | None = None
        super().__init__()

    def load_config(self) -> None:
        conf = self.conf
        settings = {
            "bind": f"{_host(conf.bind_host)}:{conf.bind_port}",
            "workers": conf.api_workers,
            "threads": conf.api_threads,
            "worker_class": "gthread",
            "timeout": 120,
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": None,
            "loglevel": "debug" if conf.debug else "info",
            "proc_name": "neutrino-server",
            "control_socket_disable": True,
            "preload_app": False,
            "post_fork": self._post_fork,
            "worker_exit": self._worker_exit,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def reload(self) -> None:
        """SIGHUP (``systemctl reload``), in gunicorn's master: the configuration
        files are read again, then gunicorn replaces the API workers, which build
        everything anew from them. (The policy file is re-read whenever it changes.)"""
        if self.conf.reload_config_files():
            LOG.info("SIGHUP: configuration files read again; new API workers follow")
        else:
            LOG.error("SIGHUP: the configuration files could not be read; keeping "
                      "the configuration as it was")
        if self.rpc_workers is not None:
            self.rpc_workers.reload()
        super().reload()

    @staticmethod
    def _post_fork(server: Any, worker: Any) -> None:
        LOG.info("API worker %s started", worker.pid)

    def _worker_exit(self, server: Any, worker: Any) -> None:
        # Agents first: their last calls still find the RPC servers.
        if self.agents is not None:
            self.agents.stop()
        if self.runtime is not None:
            self.runtime.stop()

    def load(self) -> Callable[..., Iterable[bytes]]:
        # Each worker builds its own core (engine, pools) after the fork, sends its
        # own notifications and, unless rpc_workers serve the bus, runs its own RPC
        # server and agent check (neutrino.core.ServerRuntime): started in the background,
        # so a broker that is down delays nothing.
        log.setup(self.conf)
        core = build_core(self.conf)
        self.runtime = ServerRuntime(core, serve_rpc=self.conf.rpc_workers == 0).start()
        if self.embedded_agents:
            self._start_agents(self.runtime)
        app = wsgi_app(core, warm=True)
        # What startup built lives as long as the worker: out of the collector's
        # sight, a full collection no longer walks it (was ~40% of a large list's
        # time: bench/api.py).
        gc.collect()
        gc.freeze()
        return app

    def _start_agents(self, runtime: ServerRuntime) -> None:
        """This host's agents as threads of this worker (the all-in-one), on the RPC
        servers' transport: fake:// reaches only that transport object."""
        if runtime.rpc is not None and not runtime.rpc.wait_started(10):
            LOG.warning("the RPC servers are not all listening yet; the embedded "
                        "agents retry until they are")
        self.agents = embedded.EmbeddedAgents(self.conf, transport=runtime.transport)
        try:
            self.agents.start()
        except Exception:  # noqa: BLE001 - the API still serves
            LOG.exception("the embedded agents did not start; serving the API alone")


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    conf = conf_mod.new_conf(args)
    log.setup(conf)
    prepare_database(conf)
    LOG.info("neutrino-server on %s:%s, %d worker(s), auth_strategy=%s, database=%s",
             conf.bind_host, conf.bind_port, conf.api_workers, conf.auth_strategy,
             conf_mod.database_url(conf).split("@")[-1])
    if conf.api_workers > 1 and rpc_transport.is_in_process(conf):
        LOG.warning("api_workers = %d with the in-process transport_url %s: agents "
                    "reach one worker only; set transport_url = rabbit://...",
                    conf.api_workers, conf.transport_url)
    if conf.rpc_workers and rpc_transport.is_in_process(conf):
        LOG.warning("rpc_workers = %d with the in-process transport_url %s: the RPC "
                    "workers are other processes that nothing reaches; set "
                    "transport_url = rabbit://...", conf.rpc_workers, conf.transport_url)
    agents = embedded.decide(conf)
    if agents.run:
        LOG.info("starting this host's agents (Linux bridge, DHCP, metadata, L3, metering) "
                 "in the API worker as host %s (%s)", conf.host, agents.reason)
        # Before the workers build the core: the services this host can run.
        service_plugins.apply(conf)
    else:
        LOG.info("serving the API alone, no agents for this host: %s", agents.reason)
    workers = rpc_workers.RpcWorkers(args, conf.rpc_workers).start() \
        if conf.rpc_workers else None
    try:
        Server(conf, embedded_agents=agents.run, rpc_workers=workers).run()
    finally:
        if workers is not None:
            workers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
