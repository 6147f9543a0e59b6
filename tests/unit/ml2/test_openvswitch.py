"""The openvswitch mechanism driver: binds to a live "Open vSwitch agent" that
carries the segment, as vif_type ovs with upstream's vif_details."""

from __future__ import annotations

from neutrino.ml2.mechanism import BindRequest, Segment
from neutrino.ml2.openvswitch import OpenvswitchMechanismDriver

OVS = "Open vSwitch agent"


def agent(alive: bool = True, agent_type: str = OVS, **conf: object) -> dict:
    return {"id": "a1", "agent_type": agent_type, "alive": alive, "admin_state_up": True,
            "host": "h1", "configurations": conf}


def request(*agents: dict, vnic: str = "normal") -> BindRequest:
    return BindRequest("p1", "h1", vnic, {}, list(agents))


def test_binds_vif_type_ovs_with_upstreams_vif_details() -> None:
    driver = OpenvswitchMechanismDriver()
    binding, why = driver.bind(request(agent(
        tunnel_types=["vxlan"], datapath_type="netdev", integration_bridge="br-int",
        firewall_driver="openvswitch")), Segment("s1", "vxlan", None, 5))
    assert why == "" and binding is not None
    assert binding.vif_type == "ovs" and binding.driver == "openvswitch"
    assert binding.vif_details == {"port_filter": True, "ovs_hybrid_plug": False,
                                   "datapath_type": "netdev", "bridge_name": "br-int",
                                   "connectivity": "l2"}


def test_a_trunk_parent_is_plugged_into_its_trunk_bridge() -> None:
    trunk = "0123456789abcdef-trunk"
    parent = BindRequest("p1", "h1", "normal", {}, [agent(tunnel_types=["vxlan"])],
                         trunk_id=trunk)
    binding, _ = OpenvswitchMechanismDriver().bind(parent, Segment("s1", "vxlan", None, 5))
    assert binding is not None
    assert binding.vif_details["bridge_name"] == "tbr-0123456789"  # upstream's [:14]


def test_flat_and_vlan_through_bridge_mappings() -> None:
    driver = OpenvswitchMechanismDriver()
    ovs = agent(bridge_mappings={"physnet1": "br-physnet1"})
    assert driver.bind(request(ovs), Segment("s", "flat", "physnet1", None))[0] is not None
    assert driver.bind(request(ovs), Segment("s", "vlan", "physnet1", 7))[0] is not None
    binding, why = driver.bind(request(ovs), Segment("s", "vlan", "physnet2", 7))
    assert binding is None and "physnet2" in why


def test_refuses_other_agents_dead_ones_and_other_vnic_types() -> None:
    driver = OpenvswitchMechanismDriver()
    segment = Segment("s1", "vxlan", None, 5)
    assert driver.bind(request(agent(agent_type="Linux bridge agent",
                                     tunnel_types=["vxlan"])), segment)[0] is None
    binding, why = driver.bind(request(agent(alive=False, tunnel_types=["vxlan"])), segment)
    assert binding is None and "not alive" in why
    binding, why = driver.bind(request(agent(tunnel_types=["vxlan"]), vnic="direct"),
                               segment)
    assert binding is None and "vnic_type" in why
