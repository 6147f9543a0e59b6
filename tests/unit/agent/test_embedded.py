"""When neutrino-server runs this host's agents itself (the all-in-one), and why."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from neutrino import conf as conf_mod
from neutrino.agent import embedded
from neutrino.agent.common import privileged


def conf(*lines: str, tmp_path) -> object:
    path = tmp_path / "neutrino.conf"
    path.write_text("[DEFAULT]\n" + "\n".join(lines) + "\n")
    return conf_mod.new_conf(["--config-file", str(path)])


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch):
    # Whether the process is root is an input of the decision; the tests choose it
    # instead of depending on who runs them.
    def set_root(value: bool) -> None:
        monkeypatch.setattr(privileged, "is_root", lambda: value)
    return set_root


def test_default_is_on_for_root_with_the_in_process_bus(as_root, tmp_path) -> None:
    as_root(True)
    decision = embedded.decide(conf(tmp_path=tmp_path))
    assert decision.run and decision.reason == "auto: root and the in-process bus"


def test_default_is_off_without_root_and_says_why(as_root, tmp_path) -> None:
    as_root(False)
    decision = embedded.decide(conf(tmp_path=tmp_path))
    assert not decision.run and "not running as root" in decision.reason


def test_default_is_off_with_rabbitmq_but_true_turns_it_on(as_root, tmp_path) -> None:
    as_root(True)
    rabbit = "transport_url = rabbit://guest:guest@127.0.0.1:5672/"
    decision = embedded.decide(conf(rabbit, tmp_path=tmp_path))
    assert not decision.run and "transport_url is rabbit://" in decision.reason
    assert embedded.decide(conf(rabbit, "embedded_agents = true",
                                tmp_path=tmp_path)).run


def test_false_and_several_workers_and_rpc_workers_on_fake_turn_it_off(as_root,
                                                                       tmp_path) -> None:
    as_root(True)
    assert not embedded.decide(conf("embedded_agents = false", tmp_path=tmp_path)).run
    several = embedded.decide(conf("embedded_agents = true", "api_workers = 2",
                                   tmp_path=tmp_path))
    assert not several.run and "api_workers = 2" in several.reason
    assert not embedded.decide(conf("rpc_workers = 1", tmp_path=tmp_path)).run


def test_true_still_needs_root(as_root, tmp_path) -> None:
    as_root(False)
    assert not embedded.decide(conf("embedded_agents = true", tmp_path=tmp_path)).run


def test_primary_address_is_an_ipv4_address_of_this_host() -> None:
    address = embedded.primary_address()
    assert ipaddress.ip_address(address).version == 4
    # Bindable: it is one of this host's own addresses (or the loopback fallback).
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((address, 0))


def test_l2_agent_selection_and_the_ovs_agents_defaults(tmp_path, caplog) -> None:
    assert embedded.l2_agent(conf(tmp_path=tmp_path)) == "linuxbridge"
    # Without the openvswitch mechanism driver the choice stands but is logged.
    server = conf("embedded_l2_agent = openvswitch", tmp_path=tmp_path)
    assert embedded.l2_agent(server) == "openvswitch"
    assert "mechanism_drivers" in caplog.text
    caplog.clear()
    path = tmp_path / "neutrino.conf"
    path.write_text("[DEFAULT]\nembedded_l2_agent = openvswitch\n"
                    "[ml2]\nmechanism_drivers = openvswitch\n"
                    "[securitygroup]\nfirewall_driver = noop\n")
    server = conf_mod.new_conf(["--config-file", str(path)])
    assert embedded.l2_agent(server) == "openvswitch" and not caplog.text
    ovs = embedded.ovs_agent_conf(server, [str(path)], [])
    assert ovs.AGENT.tunnel_types == ["vxlan"]
    assert ipaddress.ip_address(ovs.ovs.local_ip).version == 4
    # The server's files are the agent's: its sections are read from them.
    assert ovs.securitygroup.firewall_driver == "noop"
    import os
    assert ovs.ovs.datapath_type == (
        "system" if os.path.exists(embedded.KERNEL_OVS_MODULE) else "netdev")


def test_dhcp_and_l3_agents_plug_where_the_l2_agent_expects() -> None:
    assert embedded.interface_driver(with_ovs=True) == "openvswitch"
    assert embedded.interface_driver(with_ovs=False) == "linuxbridge"


def test_a_running_switch_is_left_alone(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ovs-ctl runs only when ovsdb-server or ovs-vswitchd is not running (their
    pidfiles name live processes): here both "run" (this process's pid). ovs-ctl
    itself is recorded, not run: it would start the machine's own switch."""
    import os

    from neutrino.agent.ovs import privileged as ovs_privileged
    calls: list[list[str]] = []
    monkeypatch.setattr(ovs_privileged.subprocess, "run",
                        lambda argv, **kw: calls.append(argv))
    for name in ("ovsdb-server", "ovs-vswitchd"):
        (tmp_path / f"{name}.pid").write_text(f"{os.getpid()}\n")
    ovs_privileged.ensure_switch_running(str(tmp_path))
    assert calls == []
    (tmp_path / "ovs-vswitchd.pid").write_text("999999999\n")
    monkeypatch.setattr(ovs_privileged.subprocess, "run", lambda argv, **kw: (
        calls.append(argv), subprocess_result(0))[1])
    ovs_privileged.ensure_switch_running(str(tmp_path))
    assert calls == [[ovs_privileged.OVS_CTL, "start", "--system-id=random"]]


def subprocess_result(code: int) -> object:
    import subprocess
    return subprocess.CompletedProcess([], code, "", "")
