"""The Linux bridge agent's pure planning: desired state + observed kernel ->
the actions that converge, and only those."""

from __future__ import annotations

from neutrino.agent.common.privileged import ZERO_MAC, FdbEntry, Link, Snapshot, Vxlan
from neutrino.agent.linuxbridge import plan as p
from neutrino.agent.linuxbridge.agent import UNSUPPORTED_NETWORK_TYPES, agent_state
from neutrino.agent.linuxbridge.config import parse_mappings

NET = "11111111-2222-3333-4444-555555555555"
NET2 = "99999999-2222-3333-4444-555555555555"
PORT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
PORT2 = "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee"
LOCAL = "192.0.2.1"
SETTINGS = p.Settings(local_ip=LOCAL, interface_mappings={"physnet1": "eth1"})
BR, TAP, TAP2, VX = "brq11111111-22", "tapaaaaaaaa-bb", "tapbbbbbbbb-bb", "vxlan-1001"


def network(net_id: str = NET, network_type: str = "vxlan", seg: int | None = 1001,
            physnet: str | None = None, peers: list | None = None) -> dict:
    return {"id": net_id, "mtu": 1450, "network_type": network_type,
            "physical_network": physnet, "segmentation_id": seg,
            "peers": peers if peers is not None else [
                {"host": "h2", "tunnel_ip": "192.0.2.2",
                 "macs": [{"mac_address": "FA:16:3E:00:00:02", "ip_address": "10.0.0.2"}]},
                {"host": "h3", "tunnel_ip": "192.0.2.3", "macs": []}]}


def port(port_id: str = PORT, net_id: str = NET, status: str = "DOWN", **extra) -> dict:
    return {"id": port_id, "device": "tap" + port_id[:11], "network_id": net_id,
            "mac_address": "fa:16:3e:00:00:01", "admin_state_up": True,
            "status": status, **extra}


def state(*ports: dict, networks: list | None = None) -> dict:
    return {"host": "h1", "ports": list(ports),
            "networks": networks if networks is not None else [network()]}


def link(name: str, kind: str | None = None, master: str | None = None, mtu: int = 1500,
         up: bool = True, vxlan: Vxlan | None = None) -> Link:
    return Link(name, 1, kind, master, mtu, up, "fa:16:3e:aa:aa:aa", vxlan)


def converged(*extra: Link, fdb: set | None = None) -> Snapshot:
    """The kernel as it is after a successful sync of state(port())."""
    links = [link(BR, "bridge", mtu=1450),
             link(VX, "vxlan", BR, 1450, vxlan=Vxlan(1001, LOCAL, 4789, False)),
             link(TAP, "veth", BR, 1450), *extra]
    wanted = {FdbEntry(ZERO_MAC, "192.0.2.2"), FdbEntry("fa:16:3e:00:00:02", "192.0.2.2"),
              FdbEntry(ZERO_MAC, "192.0.2.3")}
    return Snapshot({lk.name: lk for lk in links}, {VX: wanted if fdb is None else fdb})


def ops(actions: list[p.Action]) -> list[str]:
    return [str(a) for a in actions]


def test_names_are_those_operators_know() -> None:
    assert p.bridge_name(NET) == BR and p.tap_name(PORT) == TAP
    assert p.vxlan_name(1001) == VX


def test_empty_kernel_gets_bridge_vxlan_fdb_and_tap() -> None:
    snapshot = Snapshot({TAP: link(TAP, "veth", up=False)}, {})
    actions = ops(p.plan(p.layout(state(port()), SETTINGS), snapshot))
    assert actions == [
        f"add_bridge {BR}", f"set_link {BR} up=True",
        f"add_vxlan {VX} learning=False local={LOCAL} mtu=1450 port=4789 vni=1001",
        f"set_link {VX} master={BR} mtu=1450", f"set_link {VX} up=True",
        f"set_link {TAP} master={BR} mtu=1450", f"set_link {TAP} up=True",
        f"fdb_append {VX} dst=192.0.2.2 mac={ZERO_MAC}",
        f"fdb_append {VX} dst=192.0.2.2 mac=fa:16:3e:00:00:02",
        f"fdb_append {VX} dst=192.0.2.3 mac={ZERO_MAC}",
    ]


def test_converged_kernel_needs_nothing() -> None:
    assert p.plan(p.layout(state(port()), SETTINGS), converged()) == []


def test_removed_peer_and_mac_entries_are_deleted_only() -> None:
    net = network(peers=[{"host": "h2", "tunnel_ip": "192.0.2.2", "macs": []}])
    actions = ops(p.plan(p.layout(state(port(), networks=[net]), SETTINGS), converged()))
    assert actions == [f"fdb_delete {VX} dst=192.0.2.2 mac=fa:16:3e:00:00:02",
                       f"fdb_delete {VX} dst=192.0.2.3 mac={ZERO_MAC}"]


def test_peer_on_own_address_and_without_tunnel_ip_are_skipped() -> None:
    net = network(peers=[{"host": "me", "tunnel_ip": LOCAL, "macs": []},
                         {"host": "h9", "tunnel_ip": None, "macs": []}])
    assert p.layout(state(port(), networks=[net]), SETTINGS).vxlans[VX].fdb == frozenset()


def test_without_l2_population_only_flood_entries_and_learning() -> None:
    settings = p.Settings(local_ip=LOCAL, l2_population=False)
    spec = p.layout(state(port()), settings).vxlans[VX]
    assert spec.learning is True
    assert spec.fdb == {FdbEntry(ZERO_MAC, "192.0.2.2"), FdbEntry(ZERO_MAC, "192.0.2.3")}


def test_no_port_left_removes_bridge_and_vxlan() -> None:
    actions = ops(p.plan(p.layout(state(), SETTINGS), converged()))
    assert actions == [f"delete {BR}", f"delete {VX}"]


def test_vxlan_built_differently_is_recreated_with_its_fdb() -> None:
    snapshot = converged()
    snapshot.links[VX] = link(VX, "vxlan", BR, 1450, vxlan=Vxlan(1001, "192.0.2.9", 4789,
                                                                  False))
    actions = ops(p.plan(p.layout(state(port()), SETTINGS), snapshot))
    assert actions[0] == f"delete {VX}"
    assert f"add_vxlan {VX} learning=False local={LOCAL} mtu=1450 port=4789 vni=1001" \
        in actions
    assert sum(a.startswith("fdb_append") for a in actions) == 3


def test_foreign_devices_are_never_touched() -> None:
    snapshot = converged(link("eth0"), link("docker0", "bridge"),
                         link("vxlan0", "vxlan", vxlan=Vxlan(7, None, 8472, True)),
                         link("veth9", "veth", "docker0"))
    assert p.plan(p.layout(state(port()), SETTINGS), snapshot) == []
    actions = ops(p.plan(p.layout(state(), SETTINGS), snapshot))
    assert actions == [f"delete {BR}", f"delete {VX}"]


def test_unknown_tap_in_our_bridge_is_detached() -> None:
    snapshot = converged(link(TAP2, "veth", BR, 1450))
    assert ops(p.plan(p.layout(state(port()), SETTINGS), snapshot)) == [
        f"set_link {TAP2} nomaster=True"]


def test_tap_in_wrong_bridge_moves_and_mtu_follows_network() -> None:
    snapshot = converged(link("brq99999999-22", "bridge"))
    snapshot.links[TAP] = link(TAP, "veth", "brq99999999-22", 1500)
    actions = ops(p.plan(p.layout(state(port()), SETTINGS), snapshot))
    assert actions == ["delete brq99999999-22", f"set_link {TAP} master={BR} mtu=1450"]


def test_admin_down_port_leaves_bridge_and_goes_down() -> None:
    desired = state(port(admin_state_up=False, status="ACTIVE"))
    want = p.layout(desired, SETTINGS)
    assert ops(p.plan(want, converged())) == [f"set_link {TAP} nomaster=True",
                                              f"set_link {TAP} up=False"]
    assert p.device_reports(desired, want, converged().links).down == [TAP]


def test_flat_network_enslaves_mapped_interface() -> None:
    net = network(NET2, "flat", None, "physnet1", [])
    snapshot = Snapshot({"eth1": link("eth1", "veth", up=False)}, {})
    actions = ops(p.plan(p.layout(state(port(net_id=NET2), networks=[net]), SETTINGS),
                         snapshot))
    assert actions == ["add_bridge brq99999999-22", "set_link brq99999999-22 up=True",
                       "set_link eth1 master=brq99999999-22", "set_link eth1 up=True"]


def test_local_network_is_a_bridge_alone() -> None:
    net = network(NET2, "local", None, None, [])
    want = p.layout(state(port(net_id=NET2), networks=[net]), SETTINGS)
    assert list(want.bridges) == ["brq99999999-22"] and not want.vxlans
    assert want.bridges["brq99999999-22"].uplink is None


def test_unsupported_or_unmapped_networks_are_refused_with_a_reason() -> None:
    nets = [network(NET, "vlan", 100, "physnet1", []),
            network(NET2, "flat", None, "physnet9", [])]
    want = p.layout(state(port(), port(PORT2, NET2), networks=nets), SETTINGS)
    assert not want.bridges and not want.taps
    assert "vlan is not supported" in want.refused[NET]
    assert "physnet9 not in physical_interface_mappings" in want.refused[NET2]
    no_vxlan = p.layout(state(port()), p.Settings(local_ip=None))
    assert "local_ip" in no_vxlan.refused[NET]


def test_networks_without_ports_here_are_ignored() -> None:
    want = p.layout(state(port(), networks=[network(), network(NET2)]), SETTINGS)
    assert list(want.bridges) == [BR]


def test_device_reports_are_level_triggered() -> None:
    desired = state(port(status="DOWN"), port(PORT2, status="ACTIVE"))
    want = p.layout(desired, SETTINGS)
    reports = p.device_reports(desired, want, converged().links)
    assert reports.up == [TAP] and reports.down == [TAP2]  # TAP2 has no device
    desired = state(port(status="ACTIVE"))
    reports = p.device_reports(desired, p.layout(desired, SETTINGS), converged().links)
    assert reports.up == [] and reports.down == []


def test_state_report_has_upstream_shape() -> None:
    settings = p.Settings(local_ip=LOCAL, interface_mappings={"physnet1": "eth1"})
    state_ = agent_state("h1", settings, 3, True)
    assert state_ == {
        "agent_type": "Linux bridge agent", "binary": "neutrino-linuxbridge-agent",
        "topic": "N/A", "host": "h1", "start_flag": True,
        "configurations": {"interface_mappings": {"physnet1": "eth1"},
                           "bridge_mappings": {}, "tunnel_types": ["vxlan"],
                           "tunneling_ip": LOCAL, "l2_population": True, "devices": 3,
                           "unsupported_network_types": UNSUPPORTED_NETWORK_TYPES,
                           "supported_qos_rule_types": ["bandwidth_limit",
                                                        "dscp_marking"],
                           "trunk_supported": False,
                           "trunk_unsupported_reason": "VLAN support not checked"}}
    assert "start_flag" not in agent_state("h1", settings, 3, False)
    trunks = p.Settings(local_ip=LOCAL, trunk_supported=True)
    configurations = agent_state("h1", trunks, 0, False)["configurations"]
    assert configurations["trunk_supported"] is True
    assert "trunk_unsupported_reason" not in configurations
    assert agent_state("h1", p.Settings(enable_vxlan=False, local_ip=LOCAL), 0,
                       False)["configurations"]["tunnel_types"] == []


def test_interface_mappings_parse_and_reject_mistakes() -> None:
    assert parse_mappings(["physnet1:eth1", " ext : eth2 "]) == {"physnet1": "eth1",
                                                                 "ext": "eth2"}
    for bad in (["physnet1"], ["physnet1:"], [":eth1"], ["a:eth1", "a:eth2"],
                ["a:eth1", "b:eth1"]):
        try:
            parse_mappings(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} accepted")


def test_devices_not_bound_here_are_not_reported_up() -> None:
    from neutrino.agent.linuxbridge.reconciler import Reconciler
    sent: list[str] = []
    asked: list[list[str]] = []

    def details(devices: list[str]) -> list[dict]:
        asked.append(devices)
        return [{"device": TAP, "port_id": PORT}, {"device": TAP2}]

    # The kernel is not needed to report (a bare object stands in for it).
    rec = Reconciler(object(), SETTINGS, device_up=sent.append,  # type: ignore[arg-type]
                     device_details=details)
    rec._report(p.Reports(up=[TAP, TAP2]))
    assert asked == [[TAP, TAP2]] and sent == [TAP]


def test_a_sync_reports_its_devices_in_one_batch() -> None:
    from neutrino.agent.linuxbridge.reconciler import Reconciler
    batches: list[tuple[list[str], list[str]]] = []
    singles: list[str] = []

    def device_list(up: list[str], down: list[str]) -> dict:
        batches.append((up, down))
        return {"devices_up": up, "failed_devices_up": [], "devices_down": [],
                "failed_devices_down": []}

    rec = Reconciler(object(), SETTINGS, device_up=singles.append,  # type: ignore[arg-type]
                     device_down=singles.append, device_list=device_list)  # type: ignore[arg-type]
    rec._report(p.Reports(up=[TAP], down=[TAP2]))
    rec._report(p.Reports())  # nothing to say: no call
    assert batches == [([TAP], [TAP2])] and singles == []
