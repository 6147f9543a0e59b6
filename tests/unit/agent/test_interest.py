"""Which notifications wake an L2 agent (agent/common/interest.py)."""

from __future__ import annotations

from neutrino.agent.common.interest import Interest
from neutrino.agent.common.rpc import NotificationEndpoint
from neutrino.contract.l2 import empty_state


def _interest() -> Interest:
    state = empty_state("h1")
    state["ports"] = [{"id": "p1", "network_id": "n1"}]  # type: ignore[typeddict-item]
    state["networks"] = [{"id": "n1"}]  # type: ignore[typeddict-item]
    state["security_groups"] = {"g1": {"stateful": True, "revision_number": 1,
                                       "rules": []}}
    state["remote_groups"] = {"g2": {"IPv4": [], "IPv6": []}}
    interest = Interest("h1")
    interest.update(state)
    return interest


def test_everything_before_the_first_state() -> None:
    assert Interest("h1").wants("security_groups_member_updated",
                                {"security_groups": ["other"]})


def test_only_what_touches_the_host() -> None:
    wants = _interest().wants
    port = {"id": "p9", "network_id": "n9", "binding:host_id": "h2"}
    assert not wants("port_update", {"port": port})
    assert wants("port_update", {"port": {**port, "binding:host_id": "h1"}})
    assert wants("port_update", {"port": {**port, "network_id": "n1"}})  # a peer
    assert wants("port_update", {"port": {**port, "id": "p1"}})  # moved away
    assert wants("port_update", {"port": {"id": "p9"}})  # cannot tell
    assert not wants("port_delete", {"port_id": "p9", "network_id": "n9"})
    assert wants("port_delete", {"port_id": "p9", "network_id": "n1"})
    assert wants("port_delete", {"port_id": "p1", "network_id": "n9"})
    assert not wants("network_update", {"network": {"id": "n9"}})
    assert wants("network_update", {"network": {"id": "n1"}})
    assert not wants("network_delete", {"network_id": "n9"})
    assert wants("network_delete", {"network_id": "n1"})
    assert not wants("security_groups_member_updated", {"security_groups": ["g9"]})
    assert wants("security_groups_member_updated", {"security_groups": ["g9", "g2"]})
    assert wants("security_groups_rule_updated", {"security_groups": ["g1"]})
    assert wants("some_new_method", {})


def test_the_endpoint_drops_what_is_not_wanted() -> None:
    heard: list[str] = []
    endpoint = NotificationEndpoint(heard.append, _interest().wants)
    endpoint.security_groups_member_updated({}, security_groups=["g9"])
    endpoint.security_groups_member_updated({}, security_groups=["g1"])
    assert heard == ["notification security_groups_member_updated"]
