"""Load balancing (issue 16): the pure parts of the server's side: operating
statuses from the agent's view of the members, the status tree, field checks."""

from __future__ import annotations

import pytest

from neutrino.resources import octavia as res
from neutrino.services.octavia_views import Family, Obj, operating, status_tree, view


def _obj(kind: str, oid: str, parent: str = "lb", **body: object) -> Obj:
    body.setdefault("admin_state_up", True)
    body.setdefault("name", oid)
    return Obj(oid, kind, "p", "lb", parent, "ACTIVE", "OFFLINE", None, 1, dict(body))


def _family(monitor: bool = True) -> Family:
    objs = [_obj("loadbalancer", "lb"),
            _obj("listener", "li", default_pool_id="pool", protocol="HTTP",
                 protocol_port=80, position=1),
            _obj("pool", "pool", protocol="HTTP"),
            _obj("member", "m1", "pool", address="10.0.0.1", protocol_port=80),
            _obj("member", "m2", "pool", address="10.0.0.2", protocol_port=80)]
    if monitor:
        objs.append(_obj("healthmonitor", "hm", "pool", type="HTTP"))
    return Family(objs)


def test_pool_degraded_then_error_and_the_load_balancer_follows() -> None:
    family = _family()
    lb = family.by_id["lb"]
    up = operating(family, lb, {"m1": "ONLINE", "m2": "ONLINE"})
    assert (up["pool"], up["lb"], up["hm"], up["li"]) == ("ONLINE",) * 4
    one = operating(family, lb, {"m1": "ONLINE", "m2": "ERROR"})
    assert (one["m2"], one["pool"], one["lb"]) == ("ERROR", "DEGRADED", "DEGRADED")
    none = operating(family, lb, {"m1": "ERROR", "m2": "ERROR"})
    assert none["pool"] == "ERROR"
    # Not reported yet: OFFLINE behind a monitor, NO_MONITOR without one.
    assert operating(family, lb, {})["m1"] == "OFFLINE"
    assert operating(_family(monitor=False), lb, {})["m1"] == "NO_MONITOR"


def test_disabled_objects_are_offline() -> None:
    family = _family()
    family.by_id["m1"].body["admin_state_up"] = False
    assert operating(family, family.by_id["lb"], {"m1": "ONLINE"})["m1"] == "OFFLINE"
    family.by_id["lb"].body["admin_state_up"] = False
    assert set(operating(family, family.by_id["lb"], {}).values()) == {"OFFLINE"}


def test_status_tree_and_views() -> None:
    family = _family()
    tree = status_tree(family.by_id["lb"], family)["statuses"]["loadbalancer"]
    [listener] = tree["listeners"]
    [pool] = listener["pools"]
    assert pool["health_monitor"]["type"] == "HTTP"
    assert [m["address"] for m in pool["members"]] == ["10.0.0.1", "10.0.0.2"]
    shown = view(family.by_id["pool"], family)
    assert shown["listeners"] == [{"id": "li"}] and shown["healthmonitor_id"] == "hm"
    assert shown["members"] == [{"id": "m1"}, {"id": "m2"}]
    assert view(family.by_id["lb"], family)["listeners"] == [{"id": "li"}]


@pytest.mark.parametrize(("kind", "body", "message"), [
    ("listener", {"loadbalancer_id": "x", "protocol": "HTTP", "protocol_port": 80},
     "Value should be UUID format"),
    ("member", {"address": "10.0.0.300", "protocol_port": 80}, "IPv4 or IPv6"),
    ("member", {"address": "10.0.0.3", "protocol_port": 0}, "between 1 and 65535"),
    ("member", {"address": "10.0.0.3", "protocol_port": 80, "weight": True},
     "integer"),
    ("pool", {"protocol": "HTTP", "lb_algorithm": "RANDOM"}, "ROUND_ROBIN"),
    ("pool", {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
              "session_persistence": {"type": "APP_COOKIE"}}, "cookie_name"),
    ("l7rule", {"type": "PATH", "compare_type": "EQUAL_TO"}, "Mandatory field missing"),
])
def test_field_checks(kind: str, body: dict, message: str) -> None:
    with pytest.raises(res.LbFault) as raised:
        res.check_body(kind, body, create=True)
    assert message in raised.value.message


def test_cross_field_checks() -> None:
    monitor = res.check_body("healthmonitor", {
        "pool_id": "11111111-1111-1111-1111-111111111111", "type": "HTTP", "delay": 5,
        "timeout": 3, "max_retries": 2}, create=True)
    assert res.check_monitor(monitor)["expected_codes"] == "200"
    with pytest.raises(res.LbFault, match="redirect_pool_id must be set"):
        res.check_l7policy({"action": "REDIRECT_TO_POOL", "redirect_pool_id": None})
    with pytest.raises(res.LbFault, match="key is required"):
        res.check_l7rule({"type": "HEADER", "compare_type": "EQUAL_TO", "key": None,
                          "value": "x"})
    with pytest.raises(res.LbFault, match="valid regex"):
        res.check_l7rule({"type": "PATH", "compare_type": "REGEX", "key": None,
                          "value": "("})
