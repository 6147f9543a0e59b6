"""The DHCP agent's taps on br-int (interface_driver = openvswitch) across a restart.

The bug (issue 19): the reconciler remembered its taps in memory only, so a
restarted agent forgot them: a network removed afterwards (or while no agent ran)
left its tap's row on br-int with no device behind it, and a replaced DHCP port
left the old one. Now OVSDB is the record (common/interface.OvsPorts: external_ids
neutrino-dhcp-owner and neutrino-network): a new reconciler finds its taps, plugs
none twice, and removes exactly those of networks and ports it no longer serves,
never a port that is not its own.

Real: a private ovsdb-server and ovs-vswitchd (datapath netdev) in the test's host
namespace, the reconciler with hand-written desired states (test_dhcp_agent's Env).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from backends import unavailable
from dataplane.ovs_host import OvsHost, available
from dataplane.test_dhcp_agent import Env, Scenario, env, random_mac, uid  # noqa: F401
from neutrino.agent.common import privileged
from neutrino.agent.dhcp import render
from neutrino.agent.dhcp.reconciler import NETWORK_KEY, OWNER_ALIAS, OWNER_KEY, Reconciler

BRIDGE = "br-int"


def reconciler(dhcp_env: Env, ovs: OvsHost, made: list[Reconciler]) -> Reconciler:
    """A DHCP agent's reconciler with interface_driver = openvswitch (a new one: a
    restarted agent), its OVSDB connection closed at the end (`made`)."""
    made.append(Reconciler(render.Settings(), dhcp_env.state_dir,
                      get_dhcp_port=lambda net: copy.deepcopy(dhcp_env.ports.get(net)),
                      release_dhcp_port=dhcp_env.released.append,
                      host_namespace=dhcp_env.host,
                      own_all_namespaces=False, host="ovs-taps",
                      ovs=(ovs.db, BRIDGE)))
    return made[-1]


def run(dhcp_env: Env, rec: Reconciler, *scenarios: Scenario) -> list[str]:
    desired = {"host": "h1", "networks": [n for s in scenarios
                                          for n in s.desired()["networks"]]}
    for network in desired["networks"]:
        dhcp_env.networks.add(network["id"])
    result = rec.reconcile(desired)
    assert not result.failed, result.failed
    return result.actions


def test_dhcp_taps_on_br_int_are_found_again_after_a_restart(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    why = available()
    if why:
        unavailable(why)
    dhcp_env: Env = request.getfixturevalue("env")
    ovs = OvsHost(tmp_path / "ovs", dhcp_env.host).start()
    made: list[Reconciler] = []
    try:
        ovs.vsctl("add-br", BRIDGE, "--", "set", "bridge", BRIDGE, "datapath_type=netdev")
        # A VM's port on the same bridge: not the DHCP agent's, never touched.
        ovs.vsctl("add-port", BRIDGE, "vmport0", "--", "set", "Interface", "vmport0",
                  "type=internal", f"external_ids:iface-id={uid()}")

        def ports() -> list[str]:
            return sorted(ovs.vsctl("list-ports", BRIDGE).split())

        a, b = Scenario(dhcp_env), Scenario(dhcp_env)
        tap_a, tap_b = (render.tap_name(s.dhcp_port["id"]) for s in (a, b))
        actions = run(dhcp_env, reconciler(dhcp_env, ovs, made), a, b)
        assert f"plug {tap_a} into {BRIDGE}" in actions
        assert ports() == sorted([tap_a, tap_b, "vmport0"])
        ids = ovs.vsctl("get", "Interface", tap_a, "external_ids")
        assert f'{OWNER_KEY}="{OWNER_ALIAS.format("ovs-taps")}"' in ids
        assert f'{NETWORK_KEY}="{a.net}"' in ids

        # Restarted: the taps are found on the bridge, none plugged again.
        again = run(dhcp_env, reconciler(dhcp_env, ovs, made), a, b)
        assert not [x for x in again if "plug" in x], again
        assert ports() == sorted([tap_a, tap_b, "vmport0"])

        # Network b gone while no agent ran, and a's DHCP port replaced: a new agent
        # removes b's tap and a's old one, and plugs a's new one.
        dhcp_env.ports[a.net] = {**a.dhcp_port, "id": uid(), "mac_address": random_mac()}
        new_tap = render.tap_name(dhcp_env.ports[a.net]["id"])
        restarted = reconciler(dhcp_env, ovs, made)
        actions = run(dhcp_env, restarted, a)
        assert f"unplug {tap_b} from {BRIDGE}" in actions
        assert f"unplug {tap_a} from {BRIDGE}" in actions
        assert ports() == sorted([new_tap, "vmport0"])
        assert render.namespace_name(b.net) not in privileged.namespaces()
        # Converged.
        assert run(dhcp_env, restarted, a) == []
    finally:
        for rec in made:
            rec.close()
        ovs.stop()

