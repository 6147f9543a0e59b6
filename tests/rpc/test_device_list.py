"""update_device_list on a real database (SQLite, in process): the outcome per
device is the single calls', and the batch costs the same queries for 3 devices
as for 60 (services/device_status.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from neutrino import conf as conf_mod
from neutrino import events
from neutrino.context import Context
from neutrino.core import Core, build_core
from neutrino.db import migrate, models
from neutrino.db.engine import Database
from neutrino.resources.port import PORT
from neutrino.rpc.l2_endpoints import L2Endpoint
from neutrino.services import prepare as bodies


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Core]:
    conf = conf_mod.new_conf([])
    conf.set_override("state_path", str(tmp_path))
    db = Database(conf_mod.database_url(conf))
    migrate.upgrade(db)
    yield build_core(conf, db)
    db.engine.dispose()


def _ports(core: Core, host: str, count: int) -> list[dict]:
    ctx = Context.admin("p1")
    net = core.networks.create_bulk(ctx, [bodies.prepare_create(
        core.networks.resource, {"name": "n"}, ctx)])[0]
    ports = core.ports.create_bulk(ctx, [bodies.prepare_create(
        PORT, {"network_id": net["id"]}, ctx) for _ in range(count)])

    def bind(session: object) -> None:
        for port in ports:
            row = session.get(models.PortBinding, port["id"])  # type: ignore[attr-defined]
            if row is None:
                session.add(models.PortBinding(  # type: ignore[attr-defined]
                    port_id=port["id"], host=host))
            else:
                row.host = host
    core.db.run(bind)
    return ports


def tap(port: dict) -> str:
    return "tap" + port["id"][:11]


def _status(core: Core) -> dict[str, tuple[str, int]]:
    return core.db.run(lambda s: {p.id: (p.status, p.revision_number)
                                  for p in s.query(models.Port)}, write=False)


def _counted(core: Core, call: object) -> tuple[int, object]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))
    event.listen(core.db.engine, "before_cursor_execute", count)
    try:
        answer = call()  # type: ignore[operator]
    finally:
        event.remove(core.db.engine, "before_cursor_execute", count)
    return len(seen), answer


def test_outcomes_match_the_single_calls(core: Core) -> None:
    mine = _ports(core, "h1", 4)
    theirs = _ports(core, "h2", 1)[0]
    endpoint = L2Endpoint(core)
    published: list[str] = []
    core.events.subscribe(lambda r, e, p: published.append(p.resource_id), "port",
                          events.AFTER_UPDATE)
    before = _status(core)
    missing = "tap0123456789a"
    answer = endpoint.update_device_list(
        {}, devices_up=[tap(mine[0]), mine[1]["id"], tap(mine[2]), tap(theirs), missing,
                        "eth0"],
        devices_down=[tap(mine[2]), tap(theirs), missing, tap(mine[3])],
        agent_id="lb-h1", host="h1")
    assert answer == {
        "devices_up": [tap(mine[0]), mine[1]["id"], tap(mine[2]), tap(theirs), missing,
                       "eth0"],
        "failed_devices_up": [],
        "devices_down": [{"device": tap(mine[2]), "exists": True},
                         {"device": tap(theirs), "exists": True},
                         {"device": missing, "exists": False},
                         {"device": tap(mine[3]), "exists": True}],
        "failed_devices_down": []}
    after = _status(core)
    assert after[mine[0]["id"]] == ("ACTIVE", before[mine[0]["id"]][1] + 1)
    assert after[mine[1]["id"]] == ("ACTIVE", before[mine[1]["id"]][1] + 1)
    # Up then down in one batch: DOWN, as the ports were: nothing changed.
    assert after[mine[2]["id"]] == before[mine[2]["id"]]
    assert after[mine[3]["id"]] == before[mine[3]["id"]]
    assert after[theirs["id"]] == before[theirs["id"]]  # another host's port
    assert sorted(published) == sorted([mine[0]["id"], mine[1]["id"]])
    # Said again: nothing changes, no event.
    endpoint.update_device_list({}, devices_up=[tap(mine[0])], host="h1")
    assert _status(core)[mine[0]["id"]] == after[mine[0]["id"]]
    assert len(published) == 2


def test_queries_do_not_grow_with_the_batch(core: Core) -> None:
    small = _ports(core, "small", 3)
    large = _ports(core, "large", 60)
    endpoint = L2Endpoint(core)

    def up(host: str, ports: list[dict]) -> tuple[int, object]:
        return _counted(core, lambda: endpoint.update_device_list(
            {}, devices_up=[tap(p) for p in ports], devices_down=[], host=host))
    small_count, _ = up("small", small)
    large_count, answer = up("large", large)
    assert answer["failed_devices_up"] == []  # type: ignore[index]
    assert all(s == "ACTIVE" for s, _ in _status(core).values())
    assert large_count == small_count
    assert large_count <= 40


def test_details_list_is_the_single_calls_in_fixed_queries(core: Core) -> None:
    from neutrino.services.port_binding import PortBindings
    mine = _ports(core, "h1", 3)
    theirs = _ports(core, "h2", 1)[0]
    many = _ports(core, "h3", 40)
    endpoint = L2Endpoint(core)
    # Bound (a segment) as ML2 would have: the details need one.
    assert isinstance(endpoint.bindings, PortBindings)

    def segment(session: object) -> None:
        seg = session.query(models.NetworkSegment).first()  # type: ignore[attr-defined]
        for row in session.query(models.PortBinding):  # type: ignore[attr-defined]
            row.segment_id = seg.id
    core.db.run(segment)
    devices = [tap(mine[0]), mine[1]["id"], tap(theirs), "tap0123456789a", "eth0",
               tap(mine[2])]
    batch = endpoint.get_devices_details_list({}, devices=devices, host="h1")
    singles = [endpoint.get_device_details({}, device=d, host="h1") for d in devices]
    assert batch == singles
    assert [d.get("port_id") for d in batch] == [
        mine[0]["id"], mine[1]["id"], None, None, None, mine[2]["id"]]
    few, _ = _counted(core, lambda: endpoint.get_devices_details_list(
        {}, devices=[tap(p) for p in mine], host="h1"))
    lots, answer = _counted(core, lambda: endpoint.get_devices_details_list(
        {}, devices=[tap(p) for p in many], host="h3"))
    assert all(d.get("port_id") for d in answer)  # type: ignore[union-attr]
    assert lots == few


def test_event_states_are_the_ports_before_and_after(core: Core) -> None:
    """The AFTER_UPDATE's new state is built from the old one (status, revision and
    updated_at changed, not a second to_dicts): it is the port as read afterwards."""
    ports = _ports(core, "h3", 3)
    endpoint = L2Endpoint(core)
    seen: list[events.Payload] = []
    core.events.subscribe(lambda r, e, p: seen.append(p), "port", events.AFTER_UPDATE)
    endpoint.update_device_list({}, devices_up=[tap(p) for p in ports], host="h3")
    assert len(seen) == 3
    ctx = Context.admin("p1")
    for payload in seen:
        old, new = payload.states
        assert old == core.ports.get(ctx, payload.resource_id) | {
            "status": old["status"], "revision_number": old["revision_number"],
            "updated_at": old["updated_at"]}
        assert new == core.ports.get(ctx, payload.resource_id)
        assert (old["status"], new["status"]) == ("DOWN", "ACTIVE")
        assert new["revision_number"] == old["revision_number"] + 1


def test_details_carry_the_ports_attributes_in_few_queries(core: Core) -> None:
    """The details' addresses, groups, pairs, port security and profile are the
    port's as the API shows them, read without the other extensions' queries."""
    ports = _ports(core, "h4", 3)
    ctx = Context.admin("p1")
    net_id = ports[0]["network_id"]
    subnet = core.subnets.create_bulk(ctx, [bodies.prepare_create(
        core.subnets.resource, {"network_id": net_id, "cidr": "10.9.0.0/24",
                                "ip_version": 4}, ctx)])[0]
    group = core.security_groups.create_bulk(ctx, [bodies.prepare_create(
        core.security_groups.resource, {"name": "g"}, ctx)])[0]
    core.ports.update(ctx, ports[0]["id"], {
        "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "10.9.0.7"},
                      {"subnet_id": subnet["id"], "ip_address": "10.9.0.5"}],
        "allowed_address_pairs": [{"ip_address": "10.9.0.100"}],
        "security_groups": [group["id"]], "binding:profile": {"k": "v"}})
    core.ports.update(ctx, ports[1]["id"], {"security_groups": [],
                                            "port_security_enabled": False})

    def segment(session: object) -> None:
        seg = session.query(models.NetworkSegment).first()  # type: ignore[attr-defined]
        for row in session.query(models.PortBinding):  # type: ignore[attr-defined]
            row.segment_id = seg.id
    core.db.run(segment)
    endpoint = L2Endpoint(core)
    queries, details = _counted(core, lambda: endpoint.get_devices_details_list(
        {}, devices=[tap(p) for p in ports], host="h4"))
    keys = ("fixed_ips", "security_groups", "allowed_address_pairs",
            "port_security_enabled", "binding:profile")
    for detail, port in zip(details, ports, strict=True):  # type: ignore[call-overload]
        shown = core.ports.get(ctx, port["id"])
        assert {k: detail[k if k != "binding:profile" else "profile"] for k in keys} == \
            {k: shown[k] for k in keys}
    assert [i["ip_address"] for i in details[0]["fixed_ips"]] == [  # type: ignore[index]
        "10.9.0.7", "10.9.0.5"]
    assert details[1]["port_security_enabled"] is False  # type: ignore[index]
    assert details[0]["profile"] == {"k": "v"}  # type: ignore[index]
    # SQLite's BEGIN; the host's ports, the ports, bindings, fixed IPs, network
    # owners, port security, groups, pairs, binding profiles, segments, MTUs (with
    # every extension of the port: 21).
    assert queries <= 13, queries
