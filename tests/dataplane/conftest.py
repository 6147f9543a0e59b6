"""Dataplane tests: real namespaces, links and VXLAN. They need root (network
namespaces); outside CI they are skipped without it, in CI (CI=true) that is a
failure, as for the database backends."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from backends import unavailable
from dataplane.topology import Topology
from rpc_helpers import server_on_rabbit, unique
from server import ServerProcess


@pytest.fixture(scope="session")
def root() -> None:
    if os.geteuid() != 0:
        unavailable("dataplane tests need root (network namespaces, links)")


@pytest.fixture
def topo(root: None) -> Iterator[Topology]:
    topology = Topology()
    try:
        yield topology
    finally:
        topology.cleanup()


@pytest.fixture(scope="module")
def server(root: None, rabbit: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerProcess]:
    """The end-to-end tests' server, in place of the session's: on RabbitMQ (agents
    in namespaces reach it over the broker), sqlite, one per module."""
    state = tmp_path_factory.mktemp("e2e")
    with server_on_rabbit(rabbit, "sqlite", state, unique("e2e")) as proc:
        yield proc


@pytest.fixture(scope="module")
def ovs_server(root: None, rabbit: str, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[ServerProcess]:
    """The Open vSwitch agent's end-to-end tests' server (issue 19): as `server`,
    with the openvswitch mechanism driver (dataplane/ovs_agent_host.py)."""
    from dataplane.ovs_agent_host import SECTIONS, ovs_server_on_rabbit
    with ovs_server_on_rabbit(rabbit, tmp_path_factory, "ovs-e2e", SECTIONS) as proc:
        yield proc
