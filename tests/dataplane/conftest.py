"""Dataplane tests: real namespaces, links and VXLAN. They need root (network
namespaces); outside CI they are skipped without it, in CI (CI=true) that is a
failure, as for the database backends."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from backends import unavailable
from dataplane.topology import Topology


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
