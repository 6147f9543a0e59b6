"""Which of the DHCP agent's taps on br-int go: common/interface.stale with the
DHCP agent's groups (networks): tap -> network owned, tap -> network served."""

from __future__ import annotations

from neutrino.agent.common import interface
from neutrino.agent.dhcp import reconciler


def test_a_tap_goes_when_its_network_is_not_served_or_has_another_tap() -> None:
    owned = {"tap1": "n1", "tap2": "n2", "tap3": "n3", "tap4": "n4"}
    served = {"tap1": "n1", "tap2new": "n2"}
    # n4 failed this pass: its tap stays (a transient error must not cut DHCP off).
    assert interface.stale(owned, served, failed={"n4"}) == ["tap2", "tap3"]


def test_nothing_owned_nothing_stale() -> None:
    assert interface.stale({}, {"tap1": "n1"}, set()) == []


def test_the_dhcp_agent_marks_its_taps_with_its_own_keys() -> None:
    assert (reconciler.OWNER_KEY, reconciler.NETWORK_KEY) == ("neutrino-dhcp-owner",
                                                              "neutrino-network")
