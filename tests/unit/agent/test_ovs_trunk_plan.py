"""The Open vSwitch trunk driver's plan (agent/ovs/trunk.py): the patch pairs of a
trunk bridge, made only when the bridge exists, removed exactly, unchanged on a
resync; their br-int ends are VM ports of the ordinary plan."""

from __future__ import annotations

from neutrino.agent.ovs import plan, trunk
from neutrino.agent.ovs.plan import DEAD_VLAN, OvsPort
from unit.agent.test_ovs_plan import NET_A, NET_B, SETTINGS, network, observed, port, state

PARENT, SUB, SUB2, TRUNK = "1" * 36, "2" * 36, "3" * 36, "7" * 36
TBR = "tbr-" + "7" * 10


def desired(*subs: tuple[str, int], sub_bound: bool = True) -> dict:
    parent = port(PARENT, NET_A, "fa:16:3e:00:00:01")
    parent["trunk"] = {"trunk_id": TRUNK, "admin_state_up": True, "sub_ports": [
        {"port_id": pid, "device": "tap" + pid[:11], "segmentation_type": "vlan",
         "segmentation_id": vid, "mac_address": "FA:16:3E:00:00:02"} for pid, vid in subs]}
    ports = [parent] + ([port(pid, NET_B, "fa:16:3e:00:00:02") for pid, _ in subs]
                        if sub_bound else [])
    return state(ports, [network(NET_A, "vxlan", 100), network(NET_B, "vxlan", 101)])


def wanted(state_: dict, have: plan.Observed) -> dict[str, trunk.TrunkPatch]:
    want = plan.layout(state_, SETTINGS, have)  # type: ignore[arg-type]
    return trunk.wanted(state_, want, have, SETTINGS)  # type: ignore[arg-type]


def test_names_are_upstreams() -> None:
    assert trunk.trunk_bridge(TRUNK) == TBR and len(TBR) == 14
    assert trunk.int_port("tp", TRUNK) == "tpi-" + "7" * 11
    assert trunk.trunk_port("sp", SUB) == "spt-" + "2" * 11


def test_nothing_until_the_trunk_bridge_exists() -> None:
    assert wanted(desired((SUB, 42)), observed()) == {}


def test_pairs_of_parent_and_sub_ports() -> None:
    have = observed()
    have.bridges.add(TBR)
    want = wanted(desired((SUB, 42)), have)
    tpt, tpi = trunk.trunk_port("tp", TRUNK), trunk.int_port("tp", TRUNK)
    spt, spi = trunk.trunk_port("sp", SUB), trunk.int_port("sp", SUB)
    assert want[tpt] == trunk.TrunkPatch(tpt, TBR, tpi, trunks=(0,))
    assert want[spt] == trunk.TrunkPatch(spt, TBR, spi, tag=42)
    assert want[tpi].bridge == "br-int" and want[tpi].iface_id == PARENT
    assert want[spi].iface_id == SUB and want[spi].mac == "fa:16:3e:00:00:02"
    # the br-int ends start on their networks' local VLANs
    assert {want[tpi].tag, want[spi].tag} == {1, 2}
    actions = trunk.ovsdb_actions(want, have, SETTINGS)
    assert [a.name for a in actions] == sorted(want)
    assert all(a.op == "add_trunk_patch" for a in actions)
    # a sub-port not (yet) bound here: its br-int end on the dead VLAN
    unbound = wanted(desired((SUB, 42), sub_bound=False), have)
    assert unbound[spi].tag == DEAD_VLAN


def _as_observed(want: dict[str, trunk.TrunkPatch], have: plan.Observed) -> None:
    for i, spec in enumerate(sorted(want.values(), key=lambda s: s.name)):
        have.ports[spec.name] = OvsPort(spec.name, spec.bridge, 10 + i, "patch",
                                        (("peer", spec.peer),), spec.iface_id, spec.tag,
                                        trunks=spec.trunks)


def test_resync_changes_nothing_and_removal_is_exact() -> None:
    have = observed(OvsPort("spi-other", "br-phys", 5, "patch"))  # not on our bridges
    have.bridges.add(TBR)
    both = desired((SUB, 42), (SUB2, 43))
    want = wanted(both, have)
    _as_observed(want, have)
    assert trunk.ovsdb_actions(wanted(both, have), have, SETTINGS) == []
    # The br-int ends are VM ports of the plan (tags, flows, firewall, reports).
    layout = plan.layout(both, SETTINGS, have)  # type: ignore[arg-type]
    assert {v.port_id for v in layout.vm_ports.values()} == {PARENT, SUB, SUB2}
    # SUB2 removed: exactly its pair deleted.
    one = desired((SUB, 42))
    actions = trunk.ovsdb_actions(wanted(one, have), have, SETTINGS)
    assert sorted((a.op, a.name) for a in actions) == [
        ("delete_port", trunk.int_port("sp", SUB2)),
        ("delete_port", trunk.trunk_port("sp", SUB2))]
    # The trunk gone (or its bridge): every pair, nothing else.
    gone = state([port(PARENT, NET_A, "fa:16:3e:00:00:01")], both["networks"])
    actions = trunk.ovsdb_actions(wanted(gone, have), have, SETTINGS)
    assert sorted(a.name for a in actions) == sorted(want)
    assert {a.op for a in actions} == {"delete_port"}


def test_changed_segmentation_remakes_the_trunk_side_and_merge_drops_plan_tags() -> None:
    have = observed()
    have.bridges.add(TBR)
    want = wanted(desired((SUB, 42)), have)
    _as_observed(want, have)
    actions = trunk.ovsdb_actions(wanted(desired((SUB, 50)), have), have, SETTINGS)
    assert [(a.op, a.name, a.kwargs()["tag"]) for a in actions] == [
        ("add_trunk_patch", trunk.trunk_port("sp", SUB), 50)]
    spi = trunk.int_port("sp", SUB)
    plan_actions = [plan.Action("set_port_vlan", spi), plan.Action("set_port_vlan", "x")]
    deleting = [plan.Action("delete_port", spi)]
    assert trunk.merge(plan_actions, deleting) == [*deleting, plan_actions[1]]
