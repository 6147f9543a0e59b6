"""The Open vSwitch agent's pure planner: local VLANs, layout, OVSDB actions, flows,
device reports, and the ovs-ofctl diff turned into a bundle."""

from __future__ import annotations

import re

from neutrino.agent.ovs import plan
from neutrino.agent.ovs.plan import DEAD_VLAN, Observed, OvsPort, Settings
from neutrino.agent.ovs.privileged import flow_changes
from neutrino.contract.l2 import L2State

NET_A, NET_B, NET_F, NET_V = "a" * 36, "b" * 36, "f" * 36, "e" * 36
SETTINGS = Settings(local_ip="192.0.2.1", bridge_mappings={"physnet1": "br-phys"},
                    datapath_type="netdev", cookie=0xabc)


def port(pid: str, net: str, mac: str, status: str = "DOWN", up: bool = True) -> dict:
    return {"id": pid, "device": "tap" + pid[:11], "revision_number": 1,
            "network_id": net, "mac_address": mac, "admin_state_up": up,
            "status": status, "device_owner": "compute:nova", "fixed_ips": [],
            "allowed_address_pairs": [], "port_security_enabled": True,
            "security_groups": []}


def network(net: str, kind: str, seg: int | None, physnet: str | None = None,
            peers: list | None = None) -> dict:
    return {"id": net, "revision_number": 1, "mtu": 1450, "network_type": kind,
            "physical_network": physnet, "segmentation_id": seg, "peers": peers or []}


def state(ports: list[dict], networks: list[dict]) -> L2State:
    return {"host": "h", "ports": ports, "networks": networks,  # type: ignore[typeddict-item]
            "security_groups": {}, "remote_groups": {}, "address_groups": {}}


def observed(*ports: OvsPort) -> Observed:
    out = Observed(bridges={"br-int", "br-tun", "br-phys"})
    base = [OvsPort("patch-tun", "br-int", 1, "patch", (("peer", "patch-int"),)),
            OvsPort("patch-int", "br-tun", 1, "patch", (("peer", "patch-tun"),)),
            OvsPort("int-br-phys", "br-int", 2, "patch", (("peer", "phy-br-phys"),)),
            OvsPort("phy-br-phys", "br-phys", 1, "patch", (("peer", "int-br-phys"),))]
    for p in [*base, *ports]:
        out.ports[p.name] = p
    return out


def test_local_vlans_keep_existing_and_fill_lowest_free() -> None:
    assert plan.local_vlans(["x", "y", "z"], {"y": 1, "gone": 2}) == {"x": 2, "y": 1, "z": 3}
    assert plan.local_vlans([], {"y": 1}) == {}
    assert plan.local_vlans(["x"], {"x": DEAD_VLAN}) == {"x": 1}


def test_tunnel_port_name_is_hex_of_the_peer() -> None:
    assert plan.tunnel_port("192.0.2.1") == "vxlan-c0000201"
    assert plan.int_patch("br-physnet1") == "int-br-physnet1"
    assert plan.phy_patch("br-a-very-long-name") == "phy-br-a-very-l"


def test_layout_bridges_patches_and_refusals() -> None:
    desired = state([port("p1" * 18, NET_A, "fa:16:3e:00:00:01"),
                     port("p2" * 18, NET_B, "fa:16:3e:00:00:02"),
                     port("p3" * 18, NET_F, "fa:16:3e:00:00:03")],
                    [network(NET_A, "vxlan", 100), network(NET_B, "gre", 5),
                     network(NET_F, "flat", None, "physnet9")])
    want = plan.layout(desired, SETTINGS, Observed())
    assert want.bridges == {"br-int": "integration", "br-tun": "tunnel",
                            "br-phys": "physical"}
    assert want.patches["patch-tun"] == ("br-int", "patch-int")
    assert want.patches["phy-br-phys"] == ("br-phys", "int-br-phys")
    assert set(want.networks) == {NET_A}
    assert "not supported" in want.refused[NET_B]
    assert "bridge_mappings" in want.refused[NET_F]
    no_tunnels = plan.layout(desired, Settings(), Observed())
    assert "br-tun" not in no_tunnels.bridges and NET_A in no_tunnels.refused


def test_vm_ports_tagged_dead_ports_and_restart_keeps_tags() -> None:
    p1, p2, p3 = "1" * 36, "2" * 36, "3" * 36
    desired = state([port(p1, NET_A, "FA:16:3E:00:00:01"),
                     port(p2, NET_B, "fa:16:3e:00:00:02", up=False)],
                    [network(NET_A, "vxlan", 100), network(NET_B, "vxlan", 101)])
    have = observed(OvsPort("tap1", "br-int", 5, iface_id=p1, tag=7, net_uuid=NET_A),
                    OvsPort("tap2", "br-int", 6, iface_id=p2),
                    OvsPort("tap3", "br-int", 8, iface_id=p3, tag=3, net_uuid=NET_B))
    want = plan.layout(desired, SETTINGS, have)
    # NET_A keeps tag 7 (read back from its port); NET_B takes the lowest free.
    assert want.networks[NET_A].local_vlan == 7
    assert want.vm_ports["tap1"].tag == 7 and want.vm_ports["tap1"].mac == "fa:16:3e:00:00:01"
    assert want.vm_ports["tap2"].tag == DEAD_VLAN   # admin down
    assert want.vm_ports["tap3"].tag == DEAD_VLAN   # no port of this host
    actions = [str(a) for a in plan.ovsdb_actions(want, have, SETTINGS)]
    assert "set_port_vlan tap2 net_uuid=None tag=4095" in actions
    assert "set_port_vlan tap3 net_uuid=None tag=4095" in actions
    assert not any("tap1" in a for a in actions)
    flows = plan.flows(want, have, SETTINGS)["br-int"]
    assert "cookie=0xabc,table=0,priority=2,in_port=6 actions=drop" in flows
    reports = plan.device_reports(desired, want)
    assert reports.up == ["tap" + p1[:11]] and reports.down == []


def test_ovsdb_actions_make_what_is_missing_only() -> None:
    desired = state([port("1" * 36, NET_A, "fa:16:3e:00:00:01")],
                    [network(NET_A, "vxlan", 100, peers=[
                        {"host": "h2", "tunnel_ip": "192.0.2.2",
                         "macs": [{"mac_address": "fa:16:3e:00:00:09", "ip_address": None}]},
                        {"host": "me", "tunnel_ip": "192.0.2.1", "macs": []}])])
    empty = Observed()
    actions = [str(a) for a in plan.ovsdb_actions(plan.layout(desired, SETTINGS, empty),
                                                  empty, SETTINGS)]
    assert "add_bridge br-int datapath_type=netdev" in actions
    assert "add_patch patch-tun bridge=br-int peer=patch-int" in actions
    assert any(a.startswith("add_tunnel vxlan-c0000202 bridge=br-tun") for a in actions)
    assert not any("vxlan-c0000201" in a for a in actions)  # not to itself
    options = tuple(sorted(plan.tunnel_options("192.0.2.2", SETTINGS).items()))
    have = observed(OvsPort("vxlan-c0000202", "br-tun", 3, "vxlan", options),
                    OvsPort("vxlan-c0000203", "br-tun", 4, "vxlan", ()))
    actions = [str(a) for a in plan.ovsdb_actions(plan.layout(desired, SETTINGS, have),
                                                  have, SETTINGS)]
    assert actions == ["delete_port vxlan-c0000203 bridge=br-tun"]


def test_tunnel_flows_flood_and_l2population() -> None:
    desired = state([port("1" * 36, NET_A, "fa:16:3e:00:00:01")],
                    [network(NET_A, "vxlan", 100, peers=[
                        {"host": "h2", "tunnel_ip": "192.0.2.2",
                         "macs": [{"mac_address": "FA:16:3E:00:00:09", "ip_address": None}]}])])
    have = observed(OvsPort("vxlan-c0000202", "br-tun", 3, "vxlan"),
                    OvsPort("tap1", "br-int", 5, iface_id="1" * 36))
    want = plan.layout(desired, SETTINGS, have)
    vlan = want.networks[NET_A].local_vlan
    tun = plan.flows(want, have, SETTINGS)["br-tun"]
    assert "cookie=0xabc,table=0,priority=1,in_port=3 actions=resubmit(,4)" in tun
    assert (f"cookie=0xabc,table=4,priority=1,tun_id=0x64 actions=push_vlan:0x8100,"
            f"set_field:{vlan | 0x1000}->vlan_vid,output:1") in tun
    assert (f"cookie=0xabc,table=22,priority=1,dl_vlan={vlan} actions=pop_vlan,"
            "set_field:0x64->tun_id,output:3") in tun
    assert (f"cookie=0xabc,table=20,priority=2,dl_vlan={vlan},dl_dst=fa:16:3e:00:00:09 "
            "actions=pop_vlan,set_field:0x64->tun_id,output:3") in tun
    no_l2pop = Settings(**{**SETTINGS.__dict__, "l2_population": False})
    assert not any("table=20,priority=2" in f
                   for f in plan.flows(want, have, no_l2pop)["br-tun"])
    assert all(f.startswith("cookie=0xabc,") for f in tun)


def test_physical_flows_translate_vlans_at_the_patches() -> None:
    desired = state([port("1" * 36, NET_F, "fa:16:3e:00:00:01"),
                     port("2" * 36, NET_V, "fa:16:3e:00:00:02")],
                    [network(NET_F, "flat", None, "physnet1"),
                     network(NET_V, "vlan", 42, "physnet1")])
    have = observed()
    want = plan.layout(desired, SETTINGS, have)
    flat, vlan = want.networks[NET_F].local_vlan, want.networks[NET_V].local_vlan
    phys = plan.flows(want, have, SETTINGS)["br-phys"]
    assert (f"cookie=0xabc,table=0,priority=4,in_port=1,dl_vlan={flat} "
            "actions=pop_vlan,NORMAL") in phys
    assert (f"cookie=0xabc,table=0,priority=4,in_port=1,dl_vlan={vlan} "
            "actions=set_field:4138->vlan_vid,NORMAL") in phys
    integ = plan.flows(want, have, SETTINGS)["br-int"]
    assert (f"cookie=0xabc,table=0,priority=3,in_port=2,dl_vlan=42 "
            f"actions=set_field:{vlan | 0x1000}->vlan_vid,resubmit(,60)") in integ
    assert (f"cookie=0xabc,table=0,priority=3,in_port=2,vlan_tci=0x0000/0x1fff "
            f"actions=push_vlan:0x8100,set_field:{flat | 0x1000}->vlan_vid,"
            "resubmit(,60)") in integ
    # A second flat network on the same physical network is refused.
    second = state([*desired["ports"], port("3" * 36, NET_A, "fa:16:3e:00:00:03")],
                   [*desired["networks"], network(NET_A, "flat", None, "physnet1")])
    assert "already carries" in plan.layout(second, SETTINGS, have).refused[NET_F]


def test_firewall_seam_in_table_60() -> None:
    desired = state([port("1" * 36, NET_A, "fa:16:3e:00:00:01")],
                    [network(NET_A, "vxlan", 100)])
    have = observed(OvsPort("tap1", "br-int", 5, iface_id="1" * 36))
    fw = Settings(**{**SETTINGS.__dict__, "firewall": True})
    want = plan.layout(desired, fw, have)
    vlan = want.networks[NET_A].local_vlan
    integ = plan.flows(want, have, fw)["br-int"]
    assert (f"cookie=0xabc,table=60,priority=100,in_port=5 actions=set_field:5->reg5,"
            f"set_field:{vlan}->reg6,resubmit(,71)") in integ
    assert (f"cookie=0xabc,table=60,priority=90,dl_vlan={vlan},dl_dst=fa:16:3e:00:00:01 "
            f"actions=set_field:5->reg5,set_field:{vlan}->reg6,pop_vlan,resubmit(,81)"
            ) in integ
    assert "cookie=0xabc,table=94,priority=1 actions=NORMAL" in integ
    without = plan.flows(plan.layout(desired, SETTINGS, have), have, SETTINGS)["br-int"]
    assert not any("table=60,priority=100" in f for f in without)
    assert "cookie=0xabc,table=60,priority=3 actions=resubmit(,94)" in without


def test_flow_changes_touch_only_our_cookie() -> None:
    diff = ["-priority=2,in_port=5,dl_vlan=4 cookie=0xabc actions=drop",
            "-table=60 priority=3 cookie=0xabc actions=NORMAL",
            "+table=60 priority=3 cookie=0xabc actions=resubmit(,94)",
            "-table=71 priority=1 cookie=0x99 actions=drop",
            "+table=94 priority=1 cookie=0xabc actions=NORMAL"]
    assert flow_changes(diff, 0xabc) == [
        "delete_strict priority=2,in_port=5,dl_vlan=4,cookie=0xabc/-1",
        "add table=60 priority=3 cookie=0xabc actions=resubmit(,94)",
        "add table=94 priority=1 cookie=0xabc actions=NORMAL"]
    assert flow_changes([], 0xabc) == []


def test_table_60_and_the_firewall_meet() -> None:
    """The seam, both sides: every MAC the firewall filters ingress for (its table
    73 entries) has the agent's table-60 flow to 81 with the same registers, the
    agent's in_port flow sets the registers the firewall's 71/81 flows match, and
    the firewall adds no flow to table 60 nor its own register setting."""
    from neutrino.agent.ovs.firewall import flows as fw_flows
    from neutrino.agent.ovs.firewall.flows import Binding

    pid = "1" * 36
    p = {**port(pid, NET_A, "FA:16:3E:00:00:01"), "fixed_ips": [
        {"subnet_id": "s", "ip_address": "10.0.0.5"}],
        "allowed_address_pairs": [{"ip_address": "10.0.0.50", "mac_address": "fa:16:3e:00:00:99"},
                                  {"ip_address": "10.0.0.51", "mac_address": None}]}
    desired = state([p], [network(NET_A, "vxlan", 100)])
    have = observed(OvsPort("tap1", "br-int", 5, iface_id=pid))
    fw = Settings(**{**SETTINGS.__dict__, "firewall": True})
    want = plan.layout(desired, fw, have)
    vlan = want.networks[NET_A].local_vlan
    table60 = [f.split(",", 2)[2] for f in plan.flows(want, have, fw)["br-int"]
               if ",table=60," in f and "priority=3" not in f]
    regs = f"set_field:5->reg5,set_field:{vlan}->reg6"
    firewall = fw_flows.port_flows(p, Binding(5, vlan), desired)
    macs = [re.search(r"dl_dst=(\S+) ", f).group(1)  # type: ignore[union-attr]
            for f in firewall if f.startswith("table=73,priority=100,")]
    assert macs == ["fa:16:3e:00:00:01", "fa:16:3e:00:00:99"]
    assert sorted(table60) == sorted(
        [f"priority=100,in_port=5 actions={regs},resubmit(,71)"]
        + [f"priority=90,dl_vlan={vlan},dl_dst={mac} actions={regs},pop_vlan,resubmit(,81)"
           for mac in macs])
    assert all(f"reg6={vlan}" in f for f in firewall if f.startswith("table=73,"))
    assert all("reg5=5" in f for f in firewall
               if f.startswith(("table=71,", "table=81,", "table=72,", "table=82,")))
    assert not [f for f in firewall if f.startswith("table=60,") or "reg5=0" in f]
    # Unfiltered and network:* ports take the same path, accepted in 71/81.
    for extra in ({"port_security_enabled": False}, {"device_owner": "network:dhcp"}):
        open_port = {**p, **extra}
        lines = fw_flows.port_flows(open_port, Binding(5, vlan), state([open_port], []))
        assert "table=71,priority=10,reg5=5 actions=resubmit(,73)" in lines
        assert "table=81,priority=10,reg5=5 actions=resubmit(,92)" in lines
