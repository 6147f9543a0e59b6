"""The `neutrino` CLI's tests: run in this process (``neutrino.cli.main.main``)
against the session's real server, noauth."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update

from neutrino.cli import main as cli_main
from neutrino.contract import topics
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
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
