"""Fixtures for tests against a server on a real RabbitMQ (a pytest plugin that
tests/conftest.py registers): the broker, a module's server on it, an agent-side
transport, and an admin, a state reporter and a q-plugin client aimed at that server.

A module changes its server's options by overriding `rpc_server_options`; a fixture of
the same name in a module wins over these (pytest's fixture overriding)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rpc_helpers import PluginClient, Reporter, new_transport, require_rabbit, server_on_rabbit
from server import Api, ServerProcess


@pytest.fixture(scope="session")
def rabbit() -> str:
    """The broker's URL; without RabbitMQ the test is unavailable (backends.unavailable)."""
    return require_rabbit()


@pytest.fixture(scope="module")
def bus(rabbit: str) -> Iterator[Any]:
    """The agents' side of the broker: what test agents report and call through."""
    rpc_transport = new_transport(rabbit)
    yield rpc_transport
    rpc_transport.cleanup()


@pytest.fixture(scope="module")
def rpc_server_options() -> dict[str, object]:
    """Extra [DEFAULT] options of the module's `rpc_server` (override in a module)."""
    return {}


@pytest.fixture(scope="module")
def rpc_server(rabbit: str, backend: str, tmp_path_factory: pytest.TempPathFactory,
               rpc_server_options: dict[str, object], request: pytest.FixtureRequest
               ) -> Iterator[ServerProcess]:
    """One server per module and backend on the broker, with its own `rpc_name`."""
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    state = tmp_path_factory.mktemp(f"rpc-{module}-{backend}")
    with server_on_rabbit(rabbit, backend, state, **rpc_server_options) as proc:
        yield proc


@pytest.fixture
def admin(rpc_server: ServerProcess) -> Api:
    """Admin client of the module's `rpc_server` (noauth, no project)."""
    return Api(rpc_server.url)


@pytest.fixture
def report(bus: Any, rpc_server: ServerProcess) -> Reporter:
    """Reports agent states to the module's `rpc_server`."""
    return Reporter(bus, rpc_server.rpc_name)


@pytest.fixture
def plugin(bus: Any, rpc_server: ServerProcess) -> PluginClient:
    """An agent's q-plugin calls to the module's `rpc_server`."""
    return PluginClient(bus, rpc_server.rpc_name)
