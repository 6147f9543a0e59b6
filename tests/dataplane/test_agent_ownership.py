"""Agents touch only what they made (several agents, tests and conformance runs
share this machine): the DHCP agent marks its ``qdhcp-`` namespaces and reaps only
its own host's; removing one ends the processes inside and takes its links; the
Linux bridge agent deletes only the bridges and VXLAN devices it marked; a second
agent of a kind for a host refuses to start."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplane.test_dhcp_agent import Env, Scenario
from dataplane.topology import Topology, running, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.dhcp import render
from neutrino.agent.dhcp.reconciler import OWNER_ALIAS as DHCP_OWNER
from neutrino.agent.dhcp.reconciler import Reconciler as DhcpReconciler
from neutrino.agent.linuxbridge import plan as lb_plan
from neutrino.agent.linuxbridge.reconciler import Reconciler as LbReconciler
from server import BIN

EMPTY_DHCP = {"host": "h1", "networks": []}


@pytest.fixture
def env(topo: Topology) -> Iterator[Env]:
    if shutil.which("dnsmasq") is None:
        pytest.skip("needs dnsmasq (dnsmasq-base)")
    environment = Env(topo)
    try:
        yield environment
    finally:
        environment.cleanup()


def dhcp_reconciler(env: Env, host: str, state_dir: str | None = None,
                    own_all_namespaces: bool = False) -> DhcpReconciler:
    return DhcpReconciler(render.Settings(), state_dir or env.state_dir,
                          get_dhcp_port=lambda net: copy.deepcopy(env.ports.get(net)),
                          release_dhcp_port=env.released.append,
                          host_namespace=env.host, host=host,
                          own_all_namespaces=own_all_namespaces)


def test_dhcp_agent_reaps_only_the_namespaces_its_host_marked(env: Env) -> None:
    s = Scenario(env)
    mine = dhcp_reconciler(env, env.topo.prefix + "a")
    env.reconcile(s.desired(), mine)
    namespace = render.namespace_name(s.net)
    assert privileged.namespace_alias(namespace) == DHCP_OWNER.format(env.topo.prefix + "a")
    pid = env.pid(s.net)
    assert pid is not None

    # Another host's agent on this machine (its own state directory), and one
    # taking unmarked namespaces for its own: neither touches ours.
    other_state = tempfile.mkdtemp(prefix="neutrino-dhcp-other-")
    unmarked = render.namespace_name(str(uuid.uuid4()))  # another test's, just made
    try:
        privileged.create_namespace(unmarked)
        for other in (dhcp_reconciler(env, env.topo.prefix + "b", other_state),
                      dhcp_reconciler(env, env.topo.prefix + "c", other_state,
                                      own_all_namespaces=True)):
            result = other.reconcile(copy.deepcopy(EMPTY_DHCP))
            assert namespace not in " ".join(result.actions), result.actions
            assert privileged.namespace_exists(namespace)
            assert env.pid(s.net) == pid
        # Unmarked: only the one owning all unmarked namespaces took it.
        assert not privileged.namespace_exists(unmarked)
        privileged.create_namespace(unmarked)
        assert mine.reconcile(copy.deepcopy(EMPTY_DHCP)).failed == []
        assert privileged.namespace_exists(unmarked)
    finally:
        privileged.delete_namespace(unmarked)
        shutil.rmtree(other_state, ignore_errors=True)
    # ...and ours went with ours.
    assert not privileged.namespace_exists(namespace)
    assert privileged.process_cmdline(pid) is None


def test_removed_namespace_takes_its_processes_and_links(env: Env) -> None:
    s = Scenario(env)
    mine = dhcp_reconciler(env, env.topo.prefix + "a")
    env.reconcile(s.desired(), mine)
    namespace = render.namespace_name(s.net)
    # Something else running in the namespace (not dnsmasq: the agent knows
    # nothing of it) and a link of the namespace whose peer is on the host.
    sleeper = subprocess.Popen(["ip", "netns", "exec", namespace, "sleep", "300"])
    extra = "tx" + env.topo.prefix[2:8]
    try:
        assert wait_for(lambda: sleeper.pid in privileged.namespace_pids(namespace)
                        or any(privileged.process_cmdline(p) == ["sleep", "300"]
                               for p in privileged.namespace_pids(namespace)), 10)
        with Kernel(namespace) as inner:
            inner.add_veth(extra, extra + "p", peer_namespace=env.host)
        with Kernel(env.host) as host:
            assert host.exists(extra + "p")
        dnsmasq = env.pid(s.net)

        result = mine.reconcile(copy.deepcopy(EMPTY_DHCP))
        assert f"delete namespace {namespace}" in result.actions
        assert sleeper.wait(timeout=10) is not None  # ended with its namespace
        assert privileged.process_cmdline(dnsmasq) is None
        with Kernel(env.host) as host:
            assert not host.exists(extra + "p")
            assert not host.exists(render.tap_name(s.dhcp_port["id"]))
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


def test_linuxbridge_agent_deletes_only_the_devices_it_marked(topo: Topology) -> None:
    host = topo.namespace("host")
    mine = lb_plan.OWNER_ALIAS.format(topo.prefix + "a")
    others = lb_plan.OWNER_ALIAS.format(topo.prefix + "b")
    with Kernel(host) as kernel:
        for name, alias in (("brq00000000-0b", others), ("brq00000000-0u", None),
                            ("brq00000000-0a", mine)):
            kernel.add_bridge(name)
            if alias:
                kernel.set_link_alias(name, alias)
        for vni, alias in ((7, others), (8, None), (9, mine)):
            kernel.add_vxlan(f"vxlan-{vni}", vni, None, 4789, False)
            if alias:
                kernel.set_link_alias(f"vxlan-{vni}", alias)
        reconciler = LbReconciler(kernel, lb_plan.Settings(local_ip="198.51.100.1",
                                                           owner=mine))
        empty = {"host": "h1", "networks": [], "ports": []}
        result = reconciler.reconcile(empty)
        assert sorted(str(a) for a in result.actions) == [
            "delete brq00000000-0a", "delete vxlan-9"]
        left = kernel.links()
        assert {"brq00000000-0b", "brq00000000-0u", "vxlan-7", "vxlan-8"} <= set(left)

        # A network realised: its bridge and VXLAN device carry the mark.
        net, port = str(uuid.uuid4()), str(uuid.uuid4())
        tap = lb_plan.tap_name(port)
        kernel.add_veth(tap, "p" + tap[3:])
        state = {"host": "h1", "networks": [{
            "id": net, "mtu": 1450, "network_type": "vxlan", "physical_network": None,
            "segmentation_id": 77, "peers": []}],
            "ports": [{"id": port, "device": tap, "network_id": net,
                       "mac_address": "fa:16:3e:00:00:01", "admin_state_up": True,
                       "status": "DOWN"}]}
        assert reconciler.reconcile(state).failed == []
        links = kernel.links()
        assert links[lb_plan.bridge_name(net)].alias == mine
        assert links["vxlan-77"].alias == mine
        assert links[tap].master == lb_plan.bridge_name(net)
        assert reconciler.reconcile(state).actions == []
        result = reconciler.reconcile(empty)
        assert not kernel.exists(lb_plan.bridge_name(net))
        assert not kernel.exists("vxlan-77")


def test_second_agent_for_the_same_host_refuses_to_start(topo: Topology,
                                                         tmp_path: Path) -> None:
    (host,) = topo.hosts("198.51.100.1")
    agent = str(BIN / "neutrino-linuxbridge-agent")
    config = tmp_path / "lb.ini"
    config.write_text(f"[DEFAULT]\nhost = {topo.prefix}lonely\nstate_path = {tmp_path}\n"
                      "rpc_response_timeout = 1\n[vxlan]\nlocal_ip = 198.51.100.1\n"
                      "[AGENT]\npolling_interval = 0.2\nreport_interval = 1\n")
    argv = ["ip", "netns", "exec", host, agent, "--config-file", str(config)]
    first_log = tmp_path / "first.log"
    with running(argv, first_log) as first:
        assert wait_for(lambda: "sync failed" in first_log.read_text(), 30), \
            first_log.read_text()
        second = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                                check=False)
        assert second.returncode == 1, second.stderr
        assert (f"another neutrino-linuxbridge-agent (pid {first.pid}) already runs "
                f"for host '{topo.prefix}lonely'") in second.stderr
        assert first.poll() is None
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
    # Its lock went with it: the next one starts.
    third_log = tmp_path / "third.log"
    with running(argv, third_log) as third:
        deadline = time.monotonic() + 30
        while "sync failed" not in third_log.read_text() and time.monotonic() < deadline:
            assert third.poll() is None, third_log.read_text()
            time.sleep(0.2)
        third.send_signal(signal.SIGTERM)
        assert third.wait(timeout=30) == 0
    assert os.path.exists(tmp_path / "locks")


def test_a_namespace_name_left_bare_by_a_cut_creation_is_made_again(root: None) -> None:
    """An agent killed between making /run/netns/NAME and mounting the namespace on
    it leaves a bare file: nothing can enter it, so creating makes it anew (before:
    the network's sync failed forever, "failed to open netns") and deleting
    removes it."""
    name = f"qdhcp-{uuid.uuid4()}"
    path = os.path.join(privileged.NETNS_RUN_DIR, name)
    try:
        open(path, "x").close()
        assert name in privileged.namespaces() and not privileged.is_namespace(name)
        privileged.create_namespace(name)
        assert privileged.is_namespace(name)
        with Kernel(name) as kernel:
            assert kernel.links()["lo"].up
        privileged.delete_namespace(name)
        open(path, "x").close()
        privileged.delete_namespace(name)
        assert name not in privileged.namespaces()
    finally:
        privileged.delete_namespace(name)


def test_reading_a_namespace_never_makes_it(root: None) -> None:
    """Agents read namespaces they may not own (their loopback's alias) while another
    agent deletes them: a read of one that is gone fails, and leaves it gone (pyroute2
    creates a missing namespace unless told not to, which brought deleted routers'
    namespaces back, empty and unmarked)."""
    name = f"qrouter-{uuid.uuid4()}"
    try:
        with pytest.raises(FileNotFoundError):
            Kernel(name)
        assert privileged.namespace_alias(name) is None
        assert name not in privileged.namespaces()
    finally:
        privileged.delete_namespace(name)
