"""Shared fixtures: one running server per database backend for the HTTP tests."""

from __future__ import annotations

import configparser
import os
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest
from hypothesis import settings

# Hypothesis' per-example deadline measures the machine's load as much as our code;
# on a busy 2-core CI machine it fails tests that are correct.
settings.register_profile("neutrino", deadline=None)
settings.load_profile("neutrino")

sys.path.insert(0, os.path.dirname(__file__))

from backends import database, selected_backends  # noqa: E402
from server import Api, ServerProcess  # noqa: E402

# rabbit, bus, rpc_server(_options), admin, report, plugin: tests on a RabbitMQ server.
pytest_plugins = ["rpc_fixtures"]


@pytest.fixture(scope="session", params=selected_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A neutrino-server (one API worker) on a fresh database of the backend."""
    state = tmp_path_factory.mktemp(f"server-{backend}")
    with database(backend, state) as url, ServerProcess(state, url) as proc:
        yield proc


@pytest.fixture
def api(server: ServerProcess, backend: str) -> Api:
    """Admin client (noauth, no X-Project-Id: admin in fake_project_id)."""
    return Api(server.url, backend=backend)


@pytest.fixture(scope="module")
def server_db(server: ServerProcess) -> Iterator[Any]:
    """The session server's Database, for what a test cannot do over HTTP (agents
    reporting in this process: the server's in-process bus is out of reach)."""
    from sqlalchemy import delete, select

    from neutrino.db import models
    from neutrino.db.engine import Database

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(server.config)
    db = Database(parser["database"]["connection"])
    before = set(db.run(lambda s: s.scalars(select(models.Agent.id)).all(), write=False))
    yield db
    # Agents a test registered would otherwise host later tests' networks and routers
    # (their availability_zones, scheduling): remove them with what they host.
    db.run(lambda s: s.execute(delete(models.Agent).where(models.Agent.id.not_in(before))))
    db.engine.dispose()


@pytest.fixture
def tmp_state(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def own_project_admin(server: ServerProcess, backend: str) -> Api:
    """Admin acting in a project of its own: the session's shared server never runs
    into the per-project quotas however many tests create resources."""
    return Api(server.url, backend=backend).as_project(f"p-{uuid.uuid4().hex}", ["admin"])


@pytest.fixture
def conn(server: ServerProcess) -> Iterator[openstack.connection.Connection]:
    """openstacksdk, as a real client, against the backend's server (noauth: admin)."""
    connection = openstack.connect(auth_type="none", auth={"endpoint": server.url})
    try:
        yield connection
    finally:
        connection.close()


# -- parallel runs (pytest-xdist, `make test`: -n 2 --dist loadscope) ------------------

# Tests that use this host's kernel and agents (namespaces, links, packet filters,
# dnsmasq, OVS) run one after another on one worker, and first: that is the long,
# mostly waiting part of the suite, and the other worker takes the rest beside it.
# HTTP tests are grouped by database backend, not by module: pytest keeps one value
# of the session-scoped `backend` fixture at a time, so a worker that went module by
# module would stop and start a server (and migrate a new database) three times per
# module. The groups come from node ids alone (a scheduler of our own below): xdist's
# `loadgroup` marks do not reach pytest 9's node ids.
HOST_TESTS = ("dataplane/", "reliability/", "cli/test_probes.py", "cli/test_trace_live.py",
              "cli/test_live_compare.py")
BACKEND_ID = re.compile(r"\[(?:[^\]]*-)?(sqlite|postgresql|mysql)(?:-[^\]]*)?\]$")


def test_group(nodeid: str) -> str:
    """The unit of work one xdist worker takes whole: "host", "backend-<name>", or the
    test's module."""
    path = nodeid.split("::", 1)[0].removeprefix("tests/")
    if path.startswith(HOST_TESTS):
        return "host"
    backend = BACKEND_ID.search(nodeid)
    return f"backend-{backend.group(1)}" if backend else path


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A stable sort: the host group first (with --no-loadscope-reorder the scheduler
    # hands out groups in the order they first appear), the rest in pytest's own order.
    items.sort(key=lambda item: test_group(item.nodeid) != "host")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByTestGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return test_group(nodeid)

    return ByTestGroup(config, log)
