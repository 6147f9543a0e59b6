"""The `neutrino` CLI's tests: run in this process (``neutrino.cli.main.main``)
against the session's real server, noauth; the dataplane ones (probes, trace --live)
against a server of their own on RabbitMQ with agents in host namespaces."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from oslo_config import cfg
from sqlalchemy import update

from backends import unavailable
from dataplane.topology import Topology
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.cli import main as cli_main
from neutrino.contract import topics
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
from rpc_helpers import RABBIT, server_on_rabbit, unique
from server import ServerProcess

Cli = Callable[..., tuple[int, Any, str]]
Report = Callable[..., str]


@pytest.fixture
def cli(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> Cli:
    """neutrino ARGS... (noauth, --format json unless given); (status, parsed
    stdout, stderr)."""
    def run(*argv: str, project: str | None = None, fmt: str = "json") -> tuple[int, Any,
                                                                                str]:
        capsys.readouterr()
        common = ["--noauth", "--endpoint", server.url, "--format", fmt]
        if project:
            common += ["--project", project]
        status = cli_main.main([*common, *argv])
        out, err = capsys.readouterr()
        return status, (json.loads(out) if fmt == "json" and out.strip() else out), err
    return run


@pytest.fixture(scope="module")
def report(server_db: Database) -> Report:
    """An agent's state report, through the server's real report_state endpoint run
    here on its database (the session server's bus is in-process, out of reach)."""
    endpoint = AgentStateEndpoint(server_db, 75)

    def send(host: str, agent_type: str = topics.AGENT_TYPE_LINUXBRIDGE,
             binary: str = "neutrino-linuxbridge-agent", **configurations: object) -> str:
        state = {"agent_type": agent_type, "binary": binary, "topic": "N/A",
                 "host": host, "start_flag": True,
                 "configurations": dict({"tunnel_types": ["vxlan"],
                                         "tunneling_ip": "192.0.2.10"}, **configurations)}
        return endpoint.report_state({}, agent_state={"agent_state": state})
    return send


def make_dead(db: Database, host: str) -> None:
    old = models.utcnow() - dt.timedelta(hours=1)
    db.run(lambda s: s.execute(update(models.Agent).where(models.Agent.host == host)
                               .values(heartbeat_timestamp=old)))


def new_host() -> str:
    return f"cli-host-{uuid.uuid4().hex[:8]}"


# -- the dataplane tests' own server (root; RabbitMQ) ----------------------------------

@pytest.fixture(scope="module")
def rabbit_server(rabbit: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[ServerProcess]:
    """A server on RabbitMQ (agents run here reach it over the broker), sqlite, one per
    module; needs root for what the module does with namespaces."""
    if os.geteuid() != 0:
        unavailable("these tests need root (network namespaces, links)")
    with server_on_rabbit(rabbit, "sqlite", tmp_path_factory.mktemp("cli-dp"),
                          unique("cli-dp")) as proc:
        yield proc


@pytest.fixture
def topo(rabbit_server: ServerProcess) -> Iterator[Topology]:
    topology = Topology()
    try:
        yield topology
    finally:
        topology.cleanup()


def agent_conf(host: str, local_ip: str = "198.51.100.1") -> cfg.ConfigOpts:
    """A Linux bridge agent's options; no periodic resync within a test (what a test
    changes behind the agent's back stays changed)."""
    conf = cfg.ConfigOpts()
    lb_config.register_opts(conf)
    conf(args=[])
    conf.set_override("transport_url", RABBIT)
    conf.set_override("host", host)
    conf.set_override("rpc_response_timeout", 20)
    conf.set_override("local_ip", local_ip, group="vxlan")
    conf.set_override("polling_interval", 0.2, group="AGENT")
    conf.set_override("report_interval", 2, group="AGENT")
    conf.set_override("resync_interval", 3600, group="AGENT")
    return conf
