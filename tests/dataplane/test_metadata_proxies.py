"""MetadataProxies against real namespaces and processes (root): idempotent, adopted
by a new manager (an agent restart), replaced when its command line changes, removed
when stale, and never a process that is not its own."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from dataplane.topology import Topology, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.metadata.proxies import MetadataProxies

NET = "6a1f1c1e-8a1b-4a7e-9d6c-5b0f0f0f0f01"
ROUTER = "0c0b7c8e-1111-4222-8333-944455556666"


@pytest.fixture
def pid_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="neutrino-mdproxy-")
    yield path
    # Whatever a failed test left: our proxies, by their pid files only.
    manager = MetadataProxies(path, os.path.join(path, "md.sock"))
    manager.remove_stale(keep=())
    shutil.rmtree(path, ignore_errors=True)


def namespace_with_address(topo: Topology, role: str) -> str:
    namespace = topo.namespace(role)
    with Kernel(namespace) as kernel:
        kernel.add_address("lo", "169.254.169.254", 32)
    return namespace


def namespace_with_address_again(name: str) -> str:
    privileged.create_namespace(name)
    with Kernel(name) as kernel:
        kernel.add_address("lo", "169.254.169.254", 32)
    return name


def test_ensure_adopt_replace_remove(topo: Topology, pid_dir: str) -> None:
    socket_path = os.path.join(pid_dir, "md.sock")
    dhcp_ns = namespace_with_address(topo, "qdhcp")
    router_ns = topo.namespace("qrouter")
    manager = MetadataProxies(pid_dir, socket_path)

    assert manager.ensure(dhcp_ns, "network", NET) == "started"
    pid = manager.running(dhcp_ns)
    assert pid is not None
    argv = privileged.process_cmdline(pid)
    assert argv[argv.index("--network-id") + 1] == NET
    assert manager.ensure(dhcp_ns, "network", NET) is None  # idempotent
    assert manager.ensure(router_ns, "router", ROUTER, "0.0.0.0", 9697) == "started"

    # A new manager (the agent restarted) adopts both, same processes.
    again = MetadataProxies(pid_dir, socket_path)
    assert again.namespaces() == {dhcp_ns, router_ns}
    assert again.ensure(dhcp_ns, "network", NET) is None
    assert again.running(dhcp_ns) == pid
    # Another port: the old process is replaced.
    assert again.ensure(dhcp_ns, "network", NET, "169.254.169.254", 8080) == "restarted"
    new_pid = again.running(dhcp_ns)
    assert new_pid not in (None, pid)
    assert wait_for(lambda: privileged.process_cmdline(pid) is None, 10)

    # The namespace's name deleted and made again by someone else (`ip netns delete`
    # leaves the processes inside, unlike privileged.delete_namespace): the proxy
    # left in the old one serves nobody and is replaced.
    subprocess.run(["ip", "netns", "delete", dhcp_ns], check=True)
    namespace_with_address_again(dhcp_ns)
    assert again.ensure(dhcp_ns, "network", NET, "169.254.169.254", 8080) == "restarted"
    assert wait_for(lambda: privileged.process_cmdline(new_pid) is None, 10)
    new_pid = again.running(dhcp_ns)
    assert privileged.process_in_namespace(new_pid, dhcp_ns)

    # Stale ones go; kept ones stay.
    assert again.remove_stale(keep={router_ns}) == [dhcp_ns]
    assert wait_for(lambda: privileged.process_cmdline(new_pid) is None, 10)
    assert again.namespaces() == {router_ns}
    assert again.remove(router_ns) is True
    assert again.remove(router_ns) is False
    assert again.namespaces() == set()


def test_a_pid_file_naming_another_process_is_not_ours(topo: Topology, pid_dir: str) -> None:
    dhcp_ns = namespace_with_address(topo, "qdhcp")
    manager = MetadataProxies(pid_dir, os.path.join(pid_dir, "md.sock"))
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        with open(manager.pid_file(dhcp_ns), "w") as handle:
            handle.write(f"{stranger.pid}\n")
        assert manager.running(dhcp_ns) is None
        assert manager.ensure(dhcp_ns, "network", NET) == "started"
        assert manager.remove(dhcp_ns)
        assert stranger.poll() is None  # untouched
    finally:
        stranger.send_signal(signal.SIGKILL)
        stranger.wait()


def test_a_proxy_that_cannot_listen_is_reported(topo: Topology, pid_dir: str) -> None:
    bare = topo.namespace("qdhcp")  # 169.254.169.254 on no interface
    manager = MetadataProxies(pid_dir, os.path.join(pid_dir, "md.sock"))
    with pytest.raises(RuntimeError, match="did not start.*cannot listen"):
        manager.ensure(bare, "network", NET)
    assert manager.running(bare) is None
