"""The notifier's merging of a storm (rpc/coalesce.py) and the status-only test
that keeps an agent's device reports from waking every agent."""

from __future__ import annotations

from neutrino import events
from neutrino.context import Context
from neutrino.contract import topics
from neutrino.rpc.coalesce import coalesce
from neutrino.rpc.notifier import Cast
from neutrino.services.device_status import status_only


def port_update(port_id: str, revision: int) -> Cast:
    return Cast(topics.PORT_UPDATE, "port_update",
                {"port": {"id": port_id, "revision_number": revision}})


def members(*groups: str) -> Cast:
    return Cast(topics.SECURITY_GROUP_UPDATE, "security_groups_member_updated",
                {"security_groups": list(groups)})


def test_a_storm_becomes_one_cast_per_resource_and_one_per_group_method() -> None:
    dhcp = Cast(topics.DHCP_AGENT, "port_update_end",
                {"payload": {"port": {"id": "p1", "network_id": "n"}}})
    delete = Cast(topics.PORT_DELETE, "port_delete", {"port_id": "p3"})
    casts = [port_update("p1", 1), members("g1"), dhcp, port_update("p2", 1),
             port_update("p1", 2), members("g2", "g1"), dhcp, delete, delete,
             Cast(topics.SECURITY_GROUP_UPDATE, "security_groups_rule_updated",
                  {"security_groups": ["g1"]})]
    assert coalesce(casts) == [
        port_update("p1", 2), members("g1", "g2"), dhcp, port_update("p2", 1), delete,
        Cast(topics.SECURITY_GROUP_UPDATE, "security_groups_rule_updated",
             {"security_groups": ["g1"]})]


def test_casts_to_different_servers_or_topics_stay_apart() -> None:
    one = Cast(topics.DHCP_AGENT, "network_create_end",
               {"payload": {"network": {"id": "n"}}}, fanout=False, server="h1")
    two = Cast(topics.DHCP_AGENT, "network_create_end",
               {"payload": {"network": {"id": "n"}}}, fanout=False, server="h2")
    assert coalesce([one, two, one]) == [one, two]
    assert coalesce([]) == []


def _payload(old: dict | None, new: dict) -> events.Payload:
    return events.Payload(Context.admin(), new["id"], states=(old, new))


def test_status_only() -> None:
    old = {"id": "p", "status": "DOWN", "revision_number": 1, "updated_at": "a",
           "fixed_ips": []}
    up = {**old, "status": "ACTIVE", "revision_number": 2, "updated_at": "b"}
    assert status_only(_payload(old, up))
    assert not status_only(_payload(old, {**up, "fixed_ips": [{"ip_address": "x"}]}))
    assert not status_only(_payload(old, {**old, "revision_number": 2}))
    assert not status_only(_payload(None, up))  # an API update: only the new port
    assert not status_only(events.Payload(Context.admin(), "p", states=(up,)))


def test_status_reports_to_one_agent_become_one_cast() -> None:
    def own(port_id: str, host: str) -> Cast:
        return Cast(topics.PORT_UPDATE, "port_update", {"port": {"id": port_id}},
                    fanout=False, server=host)
    assert coalesce([own("p1", "h1"), own("p2", "h1"), own("p3", "h2")]) == [
        own("p2", "h1"), own("p3", "h2")]


def test_a_status_change_is_told_to_its_host_only() -> None:
    from neutrino import conf as conf_mod
    from neutrino.rpc.notifier import Notifier
    registry = events.Registry()
    notifier = Notifier(conf_mod.new_conf([])).subscribe(registry)
    old = {"id": "p", "network_id": "n", "status": "DOWN", "revision_number": 1,
           "binding:host_id": "h1", "security_groups": ["g"]}
    new = {**old, "status": "ACTIVE", "revision_number": 2}
    registry.publish("port", events.AFTER_UPDATE, _payload(old, new))
    registry.publish("port", events.AFTER_UPDATE, _payload(None, new))  # an API update
    queued = [notifier._queue.get_nowait() for _ in range(notifier.backlog)]
    assert queued[0] == Cast(topics.PORT_UPDATE, "port_update", {"port": {
        "id": "p", "network_id": "n", "revision_number": 2, "binding:host_id": "h1"}},
        fanout=False, server="h1")
    assert [c.method for c in queued[1:]] == [  # type: ignore[union-attr]
        "port_update_end", "port_update", "security_groups_member_updated"]
