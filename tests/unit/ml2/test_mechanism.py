"""The binding decision (no database): which agent configurations carry which
segments, and which (driver, segment) the MechanismManager picks."""

from __future__ import annotations

import pytest

from neutrino import conf as conf_mod
from neutrino.ml2 import linuxbridge as lb
from neutrino.ml2.mechanism import BindRequest, MechanismManager, Segment, decide
from neutrino.resources import port_binding as pb
from neutrino.services.port_binding import device_port_prefix

LB = "Linux bridge agent"


def seg(network_type: str, physnet: str | None = None, seg_id: int | None = None,
        sid: str = "s1") -> Segment:
    return Segment(sid, network_type, physnet, seg_id)


def agent(alive: bool = True, up: bool = True, agent_type: str = LB, **conf: object
          ) -> dict:
    return {"id": "a1", "agent_type": agent_type, "alive": alive, "admin_state_up": up,
            "host": "h1", "configurations": conf}


def request(*agents: dict, vnic: str = "normal") -> BindRequest:
    return BindRequest("p1", "h1", vnic, {}, list(agents))


# -- which segments an agent's configurations carry ---------------------------

@pytest.mark.parametrize(("configurations", "segment", "ok"), [
    ({}, seg("local"), True),
    ({"tunnel_types": ["vxlan"]}, seg("vxlan", seg_id=5), True),
    ({"tunnel_types": ["vxlan"]}, seg("gre", seg_id=5), False),
    ({"tunnel_types": ["vxlan", "geneve"]}, seg("geneve", seg_id=5), True),
    ({"tunnel_types": []}, seg("vxlan", seg_id=5), False),
    ({}, seg("vxlan", seg_id=5), False),
    ({"tunnel_types": "vxlan"}, seg("vxlan", seg_id=5), False),  # malformed report
    ({"interface_mappings": {"physnet1": "eth1"}}, seg("flat", "physnet1"), True),
    ({"bridge_mappings": {"physnet1": "br-ex"}}, seg("flat", "physnet1"), True),
    ({"interface_mappings": {"physnet1": "eth1"}}, seg("flat", "physnet2"), False),
    ({"interface_mappings": {"physnet1": "eth1"}}, seg("vlan", "physnet1", 100), True),
    ({"bridge_mappings": {"physnet2": "br2"}}, seg("vlan", "physnet1", 100), False),
    ({"tunnel_types": ["vxlan"]}, seg("vlan", "physnet1", 100), False),
    ({"interface_mappings": ["physnet1"]}, seg("flat", "physnet1"), False),  # malformed
    ({"tunnel_types": ["vxlan"]}, seg("opflex"), False),
])
def test_segment_refusal(configurations: dict, segment: Segment, ok: bool) -> None:
    why = lb.segment_refusal(configurations, segment)
    assert (why is None) is ok, why
    if not ok:
        assert why


def test_refusals_say_why() -> None:
    assert lb.segment_refusal({"tunnel_types": ["vxlan"]}, seg("gre", seg_id=3)) == \
        "agent does not support gre (tunnel_types ['vxlan'])"
    assert lb.segment_refusal({"interface_mappings": {"a": "eth0"}},
                              seg("vlan", "b", 7)) == \
        "agent has no mapping for physical network b (mapped: ['a'])"
    assert "not alive" in lb.agent_refusal(agent(alive=False), seg("local"))
    assert "administratively down" in lb.agent_refusal(agent(up=False), seg("local"))
    assert lb.agent_refusal(agent(), seg("local")) is None


def test_network_types_the_agent_reports_unsupported_are_refused() -> None:
    """The Linux bridge agent on this kernel reports vlan as unsupported: a vlan
    segment is refused even with its physical network mapped."""
    from neutrino.agent.linuxbridge.agent import UNSUPPORTED_NETWORK_TYPES
    configurations = {"interface_mappings": {"physnet1": "eth1"},
                      "unsupported_network_types": UNSUPPORTED_NETWORK_TYPES}
    why = lb.segment_refusal(configurations, seg("vlan", "physnet1", 7))
    assert why is not None and why.startswith("agent cannot realise vlan: ")
    assert lb.segment_refusal(configurations, seg("flat", "physnet1")) is None


# -- the driver ---------------------------------------------------------------

def test_linuxbridge_binds_normal_ports_to_a_live_agent() -> None:
    driver = lb.LinuxBridgeMechanismDriver()
    binding, why = driver.bind(request(agent(tunnel_types=["vxlan"])), seg("vxlan", None, 9))
    assert why == ""
    assert binding is not None
    assert (binding.vif_type, binding.vif_details) == (
        "bridge", {"port_filter": True, "connectivity": "l2"})
    assert (binding.segment_id, binding.driver) == ("s1", "linuxbridge")


@pytest.mark.parametrize(("req", "expected"), [
    (request(), "no Linux bridge agent on host h1"),
    (request(agent(agent_type="DHCP agent", tunnel_types=["vxlan"])),
     "no Linux bridge agent on host h1"),
    (request(agent(alive=False, tunnel_types=["vxlan"])), "is not alive"),
    (request(agent(up=False, tunnel_types=["vxlan"])), "administratively down"),
    (request(agent(tunnel_types=["gre"])), "does not support vxlan"),
    (request(agent(tunnel_types=["vxlan"]), vnic="direct"), "vnic_type direct not supported"),
])
def test_linuxbridge_refuses(req: BindRequest, expected: str) -> None:
    binding, why = lb.LinuxBridgeMechanismDriver().bind(req, seg("vxlan", None, 9))
    assert binding is None
    assert expected in why


# -- the manager's choice -----------------------------------------------------

def test_decide_takes_the_first_segment_the_agent_carries() -> None:
    drivers = [lb.LinuxBridgeMechanismDriver()]
    segments = [seg("vlan", "physnet9", 10, sid="s-vlan"),
                seg("flat", "physnet1", sid="s-flat"), seg("local", sid="s-local")]
    req = request(agent(interface_mappings={"physnet1": "eth1"}))
    binding, reasons = decide(drivers, req, segments)
    assert (binding.vif_type, binding.segment_id, binding.driver) == (
        "bridge", "s-flat", "linuxbridge")
    assert binding.vif_details == {"port_filter": True, "connectivity": "l2",
                                   "bound_drivers": {"0": "linuxbridge"}}
    assert reasons == []


def test_decide_fails_with_every_reason() -> None:
    drivers = [lb.LinuxBridgeMechanismDriver()]
    segments = [seg("vlan", "physnet9", 10, sid="a"), seg("gre", None, 4, sid="b")]
    binding, reasons = decide(drivers, request(agent(tunnel_types=["vxlan"])), segments)
    assert (binding.vif_type, binding.vif_details, binding.segment_id) == (
        pb.VIF_TYPE_BINDING_FAILED, {}, None)
    assert len(reasons) == 2
    assert "physnet9" in reasons[0] and "gre" in reasons[1]
    binding, reasons = decide(drivers, request(agent()), [])
    assert binding.vif_type == pb.VIF_TYPE_BINDING_FAILED
    assert reasons == ["the network has no segments"]
    binding, _ = decide([], request(agent()), [seg("local")])
    assert binding.vif_type == pb.VIF_TYPE_BINDING_FAILED


def test_manager_reads_mechanism_drivers(tmp_path) -> None:
    conf = conf_mod.new_conf([])
    manager = MechanismManager(conf, lambda rows: [])
    assert [d.name for d in manager.drivers] == ["linuxbridge"]
    conf.set_override("mechanism_drivers", ["openvswitch"], group="ml2")
    assert [d.name for d in MechanismManager(conf, lambda rows: []).drivers] == [
        "openvswitch"]
    conf.set_override("mechanism_drivers", ["ovn"], group="ml2")
    with pytest.raises(ValueError, match="unknown driver 'ovn'"):
        MechanismManager(conf, lambda rows: [])
    conf.set_override("mechanism_drivers", [], group="ml2")
    assert MechanismManager(conf, lambda rows: []).drivers == []


# -- attribute values ---------------------------------------------------------

def test_attribute_converters() -> None:
    assert pb.convert_host(None) == ""
    assert pb.convert_host("compute-1") == "compute-1"
    assert pb.convert_profile(None) == {}
    assert pb.convert_profile({"a": 1}) == {"a": 1}
    for value in ("normal", "direct", "baremetal", "remote-managed"):
        assert pb.convert_vnic_type(value) == value
    with pytest.raises(Exception, match="'nic' is not in"):
        pb.convert_vnic_type("nic")
    with pytest.raises(Exception, match="is not a dictionary"):
        pb.convert_profile([1])
    with pytest.raises(Exception, match="exceeds maximum length"):
        pb.convert_host("h" * 256)


@pytest.mark.parametrize(("device", "prefix"), [
    ("tap0123abcd-45", "0123abcd-45"),
    ("0123abcd-4567-89ab-cdef-0123456789ab", "0123abcd-4567-89ab-cdef-0123456789ab"),
    ("ns-0123ABCD-45", "0123abcd-45"),
    ("tap%", None), ("tap", None), ("eth0", None), ("tap0123_bcd-45", None),
])
def test_device_names(device: str, prefix: str | None) -> None:
    assert device_port_prefix(device) == prefix
