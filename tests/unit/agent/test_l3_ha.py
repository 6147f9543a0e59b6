"""A HA router on the L3 agent (agent/l3/ha.py, plan.py, ha_states.py; pure):
keepalived.conf, what keepalived owns and the plan leaves alone, the notify
script's states, and what is reported to the server."""

from __future__ import annotations

import subprocess
from pathlib import Path

from neutrino.agent.l3 import ha
from neutrino.agent.l3 import plan as p
from neutrino.agent.l3.ha_states import HaStateReporter, changes
from unit.agent.test_l3_nat import QG, ROUTER, fip, fixed, router
from unit.agent.test_l3_plan import QR, converged, ops, spec

HA_PORT = "bbbbbbbb-8888-7777-6666-555555555555"
HA_DEV = "ha-" + HA_PORT[:11]
SETTINGS = ha.HaSettings(advert_int=1, garp_repeat=3)


def ha_router(**kwargs: object) -> dict:
    r = router(**kwargs)  # type: ignore[arg-type]
    r.update(ha=True, ha_vr_id=7, ha_interface={
        "port_id": HA_PORT, "device": HA_DEV, "network_id": "ha-net",
        "mac_address": "fa:16:3e:00:00:77", "mtu": 1450, "revision_number": 1,
        "fixed_ips": [fixed("169.254.192.5", "169.254.192.0/18")]})
    r["routes"] = [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.5"}]
    return r


def test_keepalived_conf() -> None:
    r = ha_router(fips=[fip("172.24.4.76", "10.0.0.117")])
    text = ha.render(r, p.routes(r), "/ha/r/notify.sh", SETTINGS)
    assert text == "\n".join([
        "global_defs {",
        f"    router_id neutrino-{ROUTER[:8]}",
        "    enable_script_security",
        "    script_user root",
        "}",
        "",
        "vrrp_instance VR_7 {",
        "    state BACKUP",
        f"    interface {HA_DEV}",
        "    virtual_router_id 7",
        "    priority 50",
        "    nopreempt",
        "    advert_int 1",
        "    garp_master_repeat 3",
        "    garp_master_delay 1",
        "    track_interface {",
        f"        {HA_DEV}",
        "    }",
        "    virtual_ipaddress {",
        f"        169.254.0.7/24 dev {HA_DEV}",
        "    }",
        "    virtual_ipaddress_excluded {",
        f"        10.0.0.1/24 dev {QR}",
        f"        172.24.4.67/24 dev {QG}",
        f"        172.24.4.76/32 dev {QG}",
        "    }",
        "    virtual_routes {",
        f"        0.0.0.0/0 via 172.24.4.1 dev {QG}",
        f"        192.168.0.0/16 via 10.0.0.5 dev {QR}",
        "    }",
        '    notify "/ha/r/notify.sh"',
        "}",
        ""])


def test_authentication_only_with_a_password() -> None:
    r = ha_router()
    with_auth = ha.render(r, p.routes(r), "/n", ha.HaSettings(auth_password="s3cret"))
    assert with_auth is not None
    assert "authentication {\n        auth_type PASS\n        auth_pass s3cret\n" in with_auth
    plain = ha.render(r, p.routes(r), "/n", ha.HaSettings())
    assert plain is not None and "authentication" not in plain


def test_not_ready_without_vr_id_or_ha_port() -> None:
    r = ha_router()
    r["ha_interface"] = None
    assert ha.render(r, p.routes(r), "/n", SETTINGS) is None
    r = ha_router()
    r["ha_vr_id"] = None
    assert ha.render(r, p.routes(r), "/n", SETTINGS) is None


def test_plan_of_a_ha_router_leaves_keepalived_its_addresses_and_routes() -> None:
    r = ha_router(fips=[fip("172.24.4.76", "10.0.0.117")])
    s = spec(r)
    # The agent makes the links and the HA port's own address, nothing else.
    assert {name: d.addresses for name, d in s.devices.items()} == {
        QR: frozenset(), QG: frozenset(), HA_DEV: frozenset({"169.254.192.5/18"})}
    assert s.routes == frozenset()
    assert (QG, "172.24.4.76/32") in s.owned_addresses
    assert (HA_DEV, "169.254.0.7/24") in s.owned_addresses
    assert s.owned_routes == p.routes(r)
    fresh = ops(p.plan_router(s, p.RouterSnapshot()))
    assert f"add_veth {HA_DEV} tap={'tap' + HA_PORT[:11]}" in fresh
    assert [a for a in fresh if a.startswith(("add_address", "add_route"))] == [
        f"add_address {HA_DEV} address=169.254.192.5/18"]
    # Active: keepalived added them; the plan removes none of them.
    have = converged(s)
    for device, address in s.owned_addresses:
        have.addresses.setdefault(device, set()).add(address)
    have.routes |= set(s.owned_routes)
    assert p.plan_router(s, have) == []
    # An address keepalived does not own still goes.
    have.addresses[QR].add("10.9.9.9/24")
    assert ops(p.plan_router(s, have)) == [f"delete_address {QR} address=10.9.9.9/24"]


def test_legacy_router_unchanged_by_ha() -> None:
    s = spec(router())
    assert s.owned_addresses == frozenset() and s.owned_routes == frozenset()
    assert s.devices[QR].addresses == frozenset({"10.0.0.1/24"})


def test_notify_script_writes_the_state(tmp_path: Path) -> None:
    state = tmp_path / "state"
    script = tmp_path / "notify.sh"
    script.write_text(ha.notify_script(str(state)))
    script.chmod(0o700)
    for vrrp, ours in (("MASTER", "active"), ("BACKUP", "standby"), ("FAULT", "standby")):
        subprocess.run([str(script), "INSTANCE", "VR_7", vrrp, "50"], check=True)
        assert ha.parse_state(state.read_text()) == ours
    subprocess.run([str(script), "INSTANCE", "VR_7", "STOP", "50"], check=True)
    assert ha.parse_state(state.read_text()) == "standby"
    assert ha.parse_state("bogus\n") is None and ha.parse_state(None) is None


def test_state_reporter_reports_changes_and_retries() -> None:
    assert changes({"a": "active", "b": "standby"}, {"a": "active"}) == {"b": "standby"}
    current = {"r1": "standby"}
    sent: list[dict[str, str]] = []
    fail = [True]

    def report(states: dict[str, str]) -> None:
        if fail[0]:
            raise RuntimeError("server away")
        sent.append(states)
    reporter = HaStateReporter(lambda: dict(current), report)
    try:
        reporter.tick()
    except RuntimeError:
        pass
    fail[0] = False
    assert reporter.tick() == {"r1": "standby"}  # retried
    assert reporter.tick() == {}
    current["r1"] = "active"
    current["r2"] = "standby"
    assert reporter.tick() == {"r1": "active", "r2": "standby"}
    del current["r2"]
    assert reporter.tick() == {} and reporter.reported == {"r1": "active"}
    assert sent == [{"r1": "standby"}, {"r1": "active", "r2": "standby"}]


def test_keepalived_files(tmp_path: Path) -> None:
    from neutrino.agent.l3.keepalived import Keepalived
    manager = Keepalived(str(tmp_path), SETTINGS)
    paths = manager.paths(ROUTER)
    Path(paths.directory).mkdir()
    Path(paths.state).write_text("active\n")
    other = manager.paths("r2")
    Path(other.directory).mkdir()
    Path(other.state).write_text("garbage")
    assert manager.states() == {ROUTER: "active"}
    assert manager.running_pid(ROUTER) is None
    # Not a HA router: its files go (no process runs).
    manager.ensure(ROUTER, "qrouter-" + ROUTER, router())
    assert not Path(paths.directory).exists()
    assert manager.remove_stale([]) == ["qrouter-r2"]
    assert manager.states() == {}
