"""Pure checks of the L3 request shapes: gateway info, extra routes, AZ hints,
interface bodies, and which fixed IP a floating IP maps to."""

from __future__ import annotations

import pytest

from neutrino import exceptions as exc
from neutrino.resources.router import az_hints, gateway_info, routes
from neutrino.services.floatingips import _choose_fixed_ip
from neutrino.services.router_interfaces import interface_request

NET = "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50"
SUB = "7f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f51"


def test_gateway_info() -> None:
    assert gateway_info(None) is None
    assert gateway_info({}) is None
    assert gateway_info({"network_id": NET}) == {"network_id": NET}
    assert gateway_info({"network_id": NET, "enable_snat": "false",
                         "external_fixed_ips": [{"subnet_id": SUB}]}) == {
        "network_id": NET, "enable_snat": False, "external_fixed_ips": [{"subnet_id": SUB}]}
    for bad in ({"enable_snat": True}, {"network_id": NET, "other": 1}, "x",
                {"network_id": "nope"}, {"network_id": NET, "external_fixed_ips": [{}]},
                {"network_id": NET, "external_fixed_ips": [{"ip_address": "1.2.3"}]}):
        with pytest.raises(exc.BadRequest):
            gateway_info(bad)


def test_routes() -> None:
    assert routes(None) == []
    assert routes([{"destination": "10.0.0.0/8", "nexthop": "192.168.1.1"}]) == [
        {"destination": "10.0.0.0/8", "nexthop": "192.168.1.1"}]
    # Host bits are dropped from the destination, as a CIDR.
    assert routes([{"destination": "10.1.2.3/8", "nexthop": "192.168.1.1"}])[0][
        "destination"] == "10.0.0.0/8"
    route = {"destination": "10.0.0.0/8", "nexthop": "192.168.1.1"}
    for bad in ([route, route], [{"destination": "10.0.0.1", "nexthop": "1.1.1.1"}],
                [{"destination": "x", "nexthop": "1.1.1.1"}],
                [{"destination": "10.0.0.0/8", "nexthop": "x"}],
                [{"destination": "10.0.0.0/8"}], "nope"):
        with pytest.raises(exc.HTTPBadRequest, match="Invalid input for routes"):
            routes(bad)


def test_az_hints() -> None:
    assert az_hints(None) == [] and az_hints(["a", "b"]) == ["a", "b"]
    for bad in (["a", "a"], [""], "a", [1]):
        with pytest.raises(exc.HTTPBadRequest):
            az_hints(bad)


def test_interface_request() -> None:
    assert interface_request({"subnet_id": SUB}) == (SUB, None)
    assert interface_request({"port_id": SUB}) == (None, SUB)
    with pytest.raises(exc.BadRequest, match="Either subnet_id or port_id"):
        interface_request({})
    with pytest.raises(exc.HTTPBadRequest, match="Unrecognized attribute"):
        interface_request({"subnet": SUB})
    with pytest.raises(exc.HTTPBadRequest, match="not a valid UUID"):
        interface_request({"subnet_id": "x"})


def test_choose_fixed_ip() -> None:
    v4, v6 = ("s4", "10.0.0.5"), ("s6", "2001:db8::5")
    assert _choose_fixed_ip("p", [v6, v4], None) == v4
    assert _choose_fixed_ip("p", [v4, ("s4", "10.0.0.6")], "10.0.0.6") == ("s4", "10.0.0.6")
    with pytest.raises(exc.BadRequest, match="multiple fixed IPv4 addresses"):
        _choose_fixed_ip("p", [v4, ("s4", "10.0.0.6")], None)
    with pytest.raises(exc.BadRequest, match="no fixed IPv4 addresses"):
        _choose_fixed_ip("p", [v6], None)
    with pytest.raises(exc.BadRequest, match="does not have fixed ip 10.9.9.9"):
        _choose_fixed_ip("p", [v4], "10.9.9.9")


# -- dvr: which agents may host which routers (services/l3_scheduler.py) -----------

@pytest.mark.parametrize("configurations,mode", [
    (None, "legacy"), ("{}", "legacy"), ('{"agent_mode": "dvr_snat"}', "dvr_snat"),
    ('{"agent_mode": ""}', "legacy"), ("not json", "legacy"), ("[1]", "legacy")])
def test_agent_mode(configurations: str | None, mode: str) -> None:
    from neutrino.services.l3_scheduler import agent_mode
    assert agent_mode(configurations) == mode


@pytest.mark.parametrize("mode,distributed,expected", [
    ("legacy", False, True), ("legacy", True, False), ("dvr_snat", True, True),
    ("dvr_snat", False, True), ("dvr", False, False), ("dvr_no_external", True, False)])
def test_may_host(mode: str, distributed: bool, expected: bool) -> None:
    from neutrino.services.l3_scheduler import may_host
    assert may_host(mode, distributed) is expected
