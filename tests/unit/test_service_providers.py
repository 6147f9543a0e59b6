"""[service_providers] service_provider entries, checked as upstream checks them."""

from __future__ import annotations

import pytest

from neutrino.services.service_providers import Provider, parse, with_l3_defaults


def test_entries_are_parsed() -> None:
    assert parse(["LOADBALANCERV2:haproxy:a.b.Driver:default", "L3_ROUTER_NAT:x:c.D"]) == [
        Provider("LOADBALANCERV2", "haproxy", "a.b.Driver", True),
        Provider("L3_ROUTER_NAT", "x", "c.D", False)]


@pytest.mark.parametrize("entries", [
    ["L3_ROUTER_NAT:x"], ["L3_ROUTER_NAT:x:d:yes"], ["::d"], ["A:x:d", "A:x:e"],
    ["A:x:d:default", "A:y:e:default"]])
def test_bad_entries_stop_the_start(entries: list[str]) -> None:
    with pytest.raises(ValueError):
        parse(entries)


def test_l3_defaults_unless_named_or_same_driver() -> None:
    names = [p.name for p in with_l3_defaults([])]
    assert names == ["dvrha", "dvr", "ha", "single_node"]
    mine = Provider("L3_ROUTER_NAT", "ha", "my.Ha", True)
    providers = with_l3_defaults([mine])
    assert providers[0] == mine
    assert [p.name for p in providers] == ["ha", "dvrha", "dvr", "single_node"]
    renamed = Provider("L3_ROUTER_NAT", "plain",
                       "neutron.services.l3_router.service_providers.single_node."
                       "SingleNodeDriver")
    assert [p.name for p in with_l3_defaults([renamed])] == ["plain", "dvrha", "dvr", "ha"]
