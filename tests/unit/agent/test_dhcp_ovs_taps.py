"""agent/dhcp/ovs_taps.stale: which of the DHCP agent's taps on br-int go."""

from __future__ import annotations

from neutrino.agent.dhcp import ovs_taps


def test_a_tap_goes_when_its_network_is_not_served_or_has_another_tap() -> None:
    owned = {"tap1": "n1", "tap2": "n2", "tap3": "n3", "tap4": "n4"}
    wanted = {"n1": "tap1", "n2": "tap2new"}
    # n4 failed this pass: its tap stays (a transient error must not cut DHCP off).
    assert ovs_taps.stale(owned, wanted, failed={"n4"}) == ["tap2", "tap3"]


def test_nothing_owned_nothing_stale() -> None:
    assert ovs_taps.stale({}, {"n1": "tap1"}, set()) == []
