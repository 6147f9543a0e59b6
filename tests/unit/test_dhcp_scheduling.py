"""Pure pieces of DHCP scheduling, the desired state and the notifier: agent choice,
availability zone hints, DHCP device ids, address families, segment choice, and
which notifications each event gives."""

from __future__ import annotations

import uuid

from neutrino import conf as conf_mod
from neutrino import events
from neutrino.contract import names, topics
from neutrino.rpc.notifier import Cast, Notifier
from neutrino.services.desired_state import common as desired_state
from neutrino.services.dhcp_scheduler import Candidate, choose, dhcp_device_id, parse_hints


def cand(name: str, load: int, zone: str | None = "nova") -> Candidate:
    return Candidate(id=name, host=name, availability_zone=zone, load=load)


def test_choose_least_loaded_first() -> None:
    agents = [cand("a", 3), cand("b", 0), cand("c", 1)]
    assert [c.id for c in choose(agents, 1, [])] == ["b"]
    assert [c.id for c in choose(agents, 2, [])] == ["b", "c"]
    assert [c.id for c in choose(agents, 5, [])] == ["b", "c", "a"]
    assert choose(agents, 0, []) == []
    assert choose([], 2, []) == []


def test_choose_ties_are_spread() -> None:
    agents = [cand(str(i), 0) for i in range(4)]
    picked = {choose(agents, 1, [])[0].id for _ in range(200)}
    assert len(picked) > 1


def test_choose_respects_hints_and_spreads_zones() -> None:
    agents = [cand("a1", 0, "az1"), cand("a2", 1, "az1"), cand("b1", 5, "az2"),
              cand("c1", 0, "az3")]
    assert [c.id for c in choose(agents, 1, ["az2"])] == ["b1"]
    assert choose(agents, 1, ["nowhere"]) == []
    # Two agents for a network hinted to az1 and az2: one in each zone, even though
    # az1 has a less loaded second agent.
    assert sorted(c.id for c in choose(agents, 2, ["az1", "az2"])) == ["a1", "b1"]
    # A zone the network already uses comes last.
    assert [c.id for c in choose(agents, 1, [], used_zones={"az1", "az3"})] == ["b1"]


def test_parse_hints() -> None:
    assert parse_hints(None) == [] and parse_hints("") == []
    assert parse_hints('["az1", "az2"]') == ["az1", "az2"]
    assert parse_hints("az1, az2") == ["az1", "az2"]


def test_dhcp_device_id_is_upstreams() -> None:
    network = str(uuid.uuid4())
    expected = f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, 'net-1')}-{network}"
    assert dhcp_device_id("net-1", network) == expected
    assert dhcp_device_id("net-1.example.org", network) == expected  # short name


def test_address_families_and_segments() -> None:
    assert desired_state.split_by_family(["10.0.0.2", "2001:db8::1", "10.0.0.1",
                                          "10.0.0.2", "10.1.0.0/24"]) == {
        "IPv4": ["10.0.0.1", "10.0.0.2", "10.1.0.0/24"], "IPv6": ["2001:db8::1"]}
    segments = [{"id": "s2", "segment_index": 1}, {"id": "s1", "segment_index": 0}]
    assert desired_state.pick_segment(segments, "s2")["id"] == "s2"
    assert desired_state.pick_segment(segments, None)["id"] == "s1"
    assert desired_state.pick_segment(segments, "gone")["id"] == "s1"
    assert desired_state.pick_segment([], None) is None
    assert names.tap_device("0123456789abcdef") == "tap0123456789a"


# -- notifier: events -> casts (nothing sent: the queue is read directly) -------------


def notifier() -> tuple[Notifier, events.Registry]:
    registry = events.Registry()
    return Notifier(conf_mod.new_conf([])).subscribe(registry), registry


def queued(n: Notifier) -> list[Cast]:
    out = []
    while not n._queue.empty():
        item = n._queue.get_nowait()
        out.extend(item() if callable(item) else [item])
    return out


def test_port_update_notifies_l2_dhcp_and_groups() -> None:
    n, registry = notifier()
    port = {"id": "p", "network_id": "n", "revision_number": 4,
            "binding:host_id": "h", "security_groups": ["g2", "g1"]}
    registry.publish("port", events.AFTER_UPDATE, events.Payload(None, "p",
                                                                 states=(None, port)))
    casts = {(c.topic, c.method): c for c in queued(n)}
    assert casts[(topics.PORT_UPDATE, "port_update")].kwargs == {"port": {
        "id": "p", "network_id": "n", "revision_number": 4, "binding:host_id": "h"}}
    assert casts[(topics.DHCP_AGENT, "port_update_end")].kwargs == {
        "payload": {"port": {"id": "p", "network_id": "n", "revision_number": 4}}}
    assert casts[(topics.SECURITY_GROUP_UPDATE, "security_groups_member_updated")
                 ].kwargs == {"security_groups": ["g1", "g2"]}
    assert all(c.fanout for c in casts.values())


def test_deletes_carry_what_precommit_read() -> None:
    n, registry = notifier()
    n._pending.put("p", {"network_id": "n", "security_groups": ["g"]})
    registry.publish("port", events.AFTER_DELETE, events.Payload(None, "p"))
    registry.publish("network", events.AFTER_DELETE, events.Payload(None, "n"))
    got = [(c.topic, c.method, c.kwargs) for c in queued(n)]
    assert (topics.PORT_DELETE, "port_delete", {"port_id": "p", "network_id": "n"}) in got
    assert (topics.NETWORK_DELETE, "network_delete", {"network_id": "n"}) in got
    assert (topics.DHCP_AGENT, "network_delete_end",
            {"payload": {"network_id": "n"}}) in got
    assert (topics.SECURITY_GROUP_UPDATE, "security_groups_member_updated",
            {"security_groups": ["g"]}) in got


def test_rules_and_scheduling() -> None:
    n, registry = notifier()
    registry.publish("security_group_rule", events.AFTER_CREATE, events.Payload(
        None, "r", metadata={"security_group_id": "g"}))
    registry.publish("dhcp_agent_network", events.AFTER_CREATE, events.Payload(
        None, "n", metadata={"network_id": "n", "agent_id": "a", "host": "h1"}))
    rule, binding = queued(n)
    assert (rule.method, rule.kwargs) == ("security_groups_rule_updated",
                                          {"security_groups": ["g"]})
    # Scheduling is cast to the agent's own queue, not fanned out.
    assert (binding.topic, binding.server, binding.fanout) == (topics.DHCP_AGENT, "h1",
                                                               False)
    assert binding.kwargs == {"payload": {"network": {"id": "n"}}}


def test_queue_full_drops_instead_of_blocking() -> None:
    n, _ = notifier()
    n._queue.maxsize = 2
    for _ in range(5):
        n.enqueue(Cast("t", "m", {}))
    assert n._queue.qsize() == 2 and n._dropped == 3
