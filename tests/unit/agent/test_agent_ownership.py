"""Agents own only what they made: the host lock (one live agent of a kind per
host) and the Linux bridge plan's ownership marks (pure; the kernel side is in
tests/dataplane/test_agent_ownership.py)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from oslo_config import cfg

from neutrino.agent.common import loop, service
from neutrino.agent.common.hostlock import AgentAlreadyRunning, HostLock, lock_path
from neutrino.agent.common.privileged import Link, Snapshot, Vxlan
from neutrino.agent.linuxbridge import plan as p
from neutrino.agent.linuxbridge.config import register_opts as lb_register
from neutrino.agent.linuxbridge.config import settings as lb_settings

NET = "11111111-2222-3333-4444-555555555555"
PORT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
BR, TAP, VX = "brq11111111-22", "tapaaaaaaaa-bb", "vxlan-1001"
MINE = p.OWNER_ALIAS.format("host-a")
OTHERS = p.OWNER_ALIAS.format("host-b")


# -- the host lock --------------------------------------------------------------------


def test_second_agent_of_a_kind_for_a_host_is_refused_with_the_holders_pid(
        tmp_path: Path) -> None:
    first = HostLock(str(tmp_path), "neutrino-dhcp-agent", "h1").acquire()
    try:
        with pytest.raises(AgentAlreadyRunning) as refused:
            HostLock(str(tmp_path), "neutrino-dhcp-agent", "h1").acquire()
        assert f"pid {os.getpid()}" in str(refused.value)
        assert "already runs for host 'h1'" in str(refused.value)
        # Another host, another kind: their own locks.
        HostLock(str(tmp_path), "neutrino-dhcp-agent", "h2").acquire().release()
        HostLock(str(tmp_path), "neutrino-l3-agent", "h1").acquire().release()
    finally:
        first.release()
    again = HostLock(str(tmp_path), "neutrino-dhcp-agent", "h1").acquire()
    assert again.held
    again.release()
    assert not again.held


def test_lock_of_an_agent_that_died_is_free(tmp_path: Path) -> None:
    """flock goes with its holder: a killed agent leaves no stale lock."""
    code = textwrap.dedent(f"""
        import sys, time
        from neutrino.agent.common.hostlock import HostLock
        HostLock({str(tmp_path)!r}, "neutrino-l3-agent", "h1").acquire()
        print("locked", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(AgentAlreadyRunning, match=f"pid {proc.pid}"):
            HostLock(str(tmp_path), "neutrino-l3-agent", "h1").acquire()
    finally:
        proc.kill()
        proc.wait()
    HostLock(str(tmp_path), "neutrino-l3-agent", "h1").acquire().release()


def test_lock_path_stays_in_the_state_directory(tmp_path: Path) -> None:
    path = lock_path(str(tmp_path), "neutrino-linuxbridge-agent", "a/../b")
    assert os.path.dirname(path) == str(tmp_path / "locks")


class _Refused:
    def __init__(self) -> None:
        self.loop = loop.AgentLoop(lambda: None, None, 1, 1, 1)
        self.stopped = False

    def start(self) -> object:
        raise AgentAlreadyRunning("another neutrino-dhcp-agent (pid 1) already runs")

    def stop(self) -> None:
        self.stopped = True


def test_binary_main_loop_exits_non_zero_when_refused() -> None:
    agent = _Refused()
    # run_until_signalled installs the binary's handlers: pytest's come back after.
    saved = {sig: signal.getsignal(sig)
             for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        assert service.run_until_signalled(agent) == 1
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert not agent.stopped


# -- Linux bridge: only marked devices are deleted ------------------------------------


def link(name: str, kind: str, alias: str | None, master: str | None = None,
         vxlan: Vxlan | None = None) -> Link:
    return Link(name, 1, kind, master, 1450, True, "fa:16:3e:aa:aa:aa", vxlan,
                alias=alias)


def desired_one_port() -> dict:
    return {"host": "h1", "networks": [{
        "id": NET, "mtu": 1450, "network_type": "vxlan", "physical_network": None,
        "segmentation_id": 1001, "peers": []}],
        "ports": [{"id": PORT, "device": TAP, "network_id": NET,
                   "mac_address": "fa:16:3e:00:00:01", "admin_state_up": True,
                   "status": "DOWN"}]}


SETTINGS = p.Settings(local_ip="192.0.2.1", owner=MINE)
EMPTY = {"host": "h1", "networks": [], "ports": []}


def test_only_bridges_and_vxlans_marked_by_this_agent_are_deleted() -> None:
    others = [link("brq22222222-22", "bridge", OTHERS), link("vxlan-7", "vxlan", OTHERS),
              link("brq33333333-33", "bridge", None), link("vxlan-8", "vxlan", None)]
    mine = [link("brq44444444-44", "bridge", MINE), link("vxlan-9", "vxlan", MINE)]
    snapshot = Snapshot({lk.name: lk for lk in others + mine}, {})
    actions = [str(a) for a in p.plan(p.layout(EMPTY, SETTINGS), snapshot, MINE)]
    assert actions == ["delete brq44444444-44", "delete vxlan-9"]
    # Without an owner (one agent per namespace: the tests' reconcilers) all are.
    unowned = [str(a) for a in p.plan(p.layout(EMPTY, SETTINGS), snapshot)]
    assert len(unowned) == 6


def test_devices_made_are_marked_and_unmarked_wanted_ones_adopted() -> None:
    made = [str(a) for a in p.plan(p.layout(desired_one_port(), SETTINGS),
                                   Snapshot({TAP: link(TAP, "veth", None)}, {}), MINE)]
    assert made[:3] == ["add_bridge brq11111111-22",
                        f"set_link_alias brq11111111-22 alias={MINE}",
                        "set_link brq11111111-22 up=True"]
    assert f"set_link_alias {VX} alias={MINE}" in made
    assert made.index(f"set_link_alias {VX} alias={MINE}") == made.index(
        next(a for a in made if a.startswith(f"add_vxlan {VX}"))) + 1

    unmarked = Snapshot({BR: link(BR, "bridge", None),
                         VX: link(VX, "vxlan", None, BR,
                                  Vxlan(1001, "192.0.2.1", 4789, False)),
                         TAP: link(TAP, "veth", None, BR)}, {})
    adopted = [str(a) for a in p.plan(p.layout(desired_one_port(), SETTINGS), unmarked,
                                      MINE)]
    assert adopted == [f"set_link_alias {BR} alias={MINE}",
                       f"set_link_alias {VX} alias={MINE}"]
    marked = Snapshot({name: dataclasses.replace(lk, alias=MINE)
                       for name, lk in unmarked.links.items()}, {})
    assert p.plan(p.layout(desired_one_port(), SETTINGS), marked, MINE) == []


def test_agent_settings_mark_with_the_host() -> None:
    conf = cfg.ConfigOpts()
    lb_register(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("host", "compute-7")
    assert lb_settings(conf).owner == "neutrino-linuxbridge-agent host=compute-7"
