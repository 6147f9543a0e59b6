"""Trunk rules without a server: the sub_ports shape check (upstream's
"type:subports"), segmentation ranges, the derived status, and the Linux bridge
driver refusing sub-ports on hosts without VLAN support."""

from __future__ import annotations

import pytest

from neutrino import exceptions as exc
from neutrino.ml2 import linuxbridge as lb
from neutrino.ml2.mechanism import BindRequest, Segment
from neutrino.resources import trunk as t
from neutrino.services.port_binding import UNBOUND, BindingRow
from neutrino.services.trunks import derive_status

P1, P2 = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cccccccc-bbbb-cccc-dddd-eeeeeeeeeeee"


@pytest.mark.parametrize("value,problem", [
    ("x", "Invalid data format for subports: 'x' is not a list"),
    (["x"], "Invalid data format for subport: 'x' is not a dict"),
    ([{}], "A valid port UUID must be specified"),
    ([{"port_id": "nope"}], "Invalid UUID for subport: 'nope'"),
    ([{"port_id": P1}, {"port_id": P1}], f"Non unique UUID for subport: '{P1}'"),
    ([{"port_id": P1, "segmentation_id": 3}],
     f"Invalid subport details '{{'port_id': '{P1}', 'segmentation_id': 3}}': missing "
     "segmentation information. Must specify both segmentation_id and "
     "segmentation_type"),
    ([{"port_id": P1, "segmentation_type": "vlan", "segmentation_id": 3},
      {"port_id": P2, "segmentation_type": "vlan", "segmentation_id": 3}],
     f"Segmentation ID '3' for '{P2}' is not unique"),
    # inherit does not end the check (upstream's early return would)
    ([{"port_id": P1, "segmentation_type": "inherit"}, {"port_id": "bad"}],
     "Invalid UUID for subport: 'bad'"),
])
def test_subports_problem(value: object, problem: str) -> None:
    assert t.subports_problem(value) == problem


def test_well_formed_subports() -> None:
    assert t.subports_problem([]) is None
    assert t.subports_problem([{"port_id": P1}]) is None  # removal: the id alone
    assert t.subports_problem([
        {"port_id": P1, "segmentation_type": "vlan", "segmentation_id": 3},
        {"port_id": P2, "segmentation_type": "inherit"}]) is None


def test_segmentation_range() -> None:
    assert t.segmentation({"segmentation_type": "vlan", "segmentation_id": "4094"}) == (
        "vlan", 4094)
    for bad in (0, 4095, -1):
        with pytest.raises(exc.InvalidInput, match="not in range"):
            t.segmentation({"segmentation_type": "vlan", "segmentation_id": bad})
    with pytest.raises(exc.InvalidInput, match="Unknown segmentation_type 'vxlan'"):
        t.segmentation({"segmentation_type": "vxlan", "segmentation_id": 5})
    with pytest.raises(exc.InvalidInput, match="missing segmentation"):
        t.segmentation({"segmentation_type": None})


BOUND = BindingRow(host="h1", vif_type="bridge")
FAILED = BindingRow(host="h1", vif_type="binding_failed")


@pytest.mark.parametrize("parent,parent_status,subports,status", [
    (UNBOUND, "DOWN", [], "DOWN"),
    (UNBOUND, "DOWN", [(FAILED, "DOWN")], "DOWN"),
    (BOUND, "DOWN", [], "BUILD"),
    (BOUND, "ACTIVE", [], "ACTIVE"),
    (BOUND, "ACTIVE", [(BOUND, "ACTIVE"), (BOUND, "DOWN")], "BUILD"),
    (BOUND, "ACTIVE", [(BOUND, "ACTIVE"), (BOUND, "ACTIVE")], "ACTIVE"),
    (BOUND, "ACTIVE", [(BOUND, "ACTIVE"), (FAILED, "DOWN")], "ERROR"),
    (FAILED, "DOWN", [], "ERROR"),
])
def test_derive_status(parent: BindingRow, parent_status: str, subports: list,
                       status: str) -> None:
    assert derive_status(parent, parent_status, subports) == status


def test_sub_ports_need_an_agent_with_vlan_support() -> None:
    segment = Segment("s1", "vxlan", None, 1001)
    base = {"tunnel_types": ["vxlan"]}

    def agent(**conf: object) -> dict:
        return {"agent_type": lb.LinuxBridgeMechanismDriver.agent_type, "alive": True,
                "admin_state_up": True, "configurations": dict(base, **conf), "id": "a"}
    driver = lb.LinuxBridgeMechanismDriver()
    for subport in (False, True):
        request = BindRequest("p", "h1", "normal", {}, [agent(trunk_supported=True)],
                              subport)
        assert driver.bind(request, segment)[0] is not None
    request = BindRequest("p", "h1", "normal", {}, [agent(
        trunk_supported=False, trunk_unsupported_reason="no 8021q")], True)
    binding, why = driver.bind(request, segment)
    assert binding is None and "trunk sub-ports not supported: no 8021q" in why
    # an agent from before trunks says nothing: no sub-ports there, ordinary ports fine
    assert driver.bind(BindRequest("p", "h1", "normal", {}, [agent()], True),
                       segment)[0] is None
    assert driver.bind(BindRequest("p", "h1", "normal", {}, [agent()], False),
                       segment)[0] is not None
