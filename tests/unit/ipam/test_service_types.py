"""Unit tests for subnet service types in neutrino.ipam.plan: which subnets serve a
port (`serves`, `serving`)."""

from __future__ import annotations

import dataclasses

import pytest

from neutrino.ipam import plan as p

PLAIN = p.SubnetInfo("plain", "net", 4, "10.0.0.0/24", None, False, [])
COMPUTE = dataclasses.replace(PLAIN, id="compute", service_types=("compute:nova",))
FIP = dataclasses.replace(PLAIN, id="fip", service_types=("network:floatingip",
                                                          "network:router_gateway"))
NO_DHCP = dataclasses.replace(COMPUTE, id="no-dhcp", enable_dhcp=False)


def port(owner: str) -> p.PortRef:
    return p.PortRef("port", "net", "fa:16:3e:00:00:01", owner)


@pytest.mark.parametrize("subnet,owner,expected", [
    (PLAIN, "", True), (PLAIN, "compute:nova", True),
    (COMPUTE, "compute:nova", True), (COMPUTE, "compute:other", False),
    (COMPUTE, "", False), (COMPUTE, "compute", False),
    (FIP, "network:router_gateway", True), (FIP, "network:floatingip", True),
    (FIP, "network:router_interface", False),
    # DHCP ports on any subnet with DHCP enabled.
    (COMPUTE, "network:dhcp", True), (NO_DHCP, "network:dhcp", False),
])
def test_serves(subnet: p.SubnetInfo, owner: str, expected: bool) -> None:
    assert p.serves(subnet, owner) is expected


def test_serving_puts_typed_subnets_first() -> None:
    assert [s.id for s in p.serving([PLAIN, COMPUTE, FIP], port("compute:nova"))] == [
        "compute", "plain"]
    assert [s.id for s in p.serving([PLAIN, COMPUTE], port("compute:x"))] == ["plain"]


def test_serving_none_of_the_subnets_is_409() -> None:
    with pytest.raises(p.IpAddressGenerationFailureNoMatchingSubnet) as info:
        p.serving([COMPUTE, FIP], port("compute:other"))
    assert info.value.status == 409
    assert info.value.msg == ("No valid service subnet for the given device owner, "
                              "network net, service type compute:other.")


def test_serving_a_network_without_subnets() -> None:
    assert p.serving([], port("compute:nova")) == []
