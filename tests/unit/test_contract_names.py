"""Device and namespace names (neutrino.contract.names): the ones upstream's agents
use, so operators and tools recognise them, and within Linux's 15 characters."""

from __future__ import annotations

import uuid

from neutrino.contract import names

PORT = "0123456789abcdef-0000-4000-8000-000000000001"
NET = "fedcba98-7654-3210-0000-000000000002"


def test_names_are_upstreams() -> None:
    assert names.tap_device(PORT) == "tap0123456789a"
    assert names.bridge(NET) == "brqfedcba98-76"
    assert names.vxlan_device(1001) == "vxlan-1001"
    assert names.dhcp_namespace(NET) == "qdhcp-" + NET
    assert names.dhcp_interface(PORT) == "ns-0123456789a"
    assert names.router_namespace(NET) == "qrouter-" + NET
    assert names.router_interface(PORT) == "qr-0123456789a"
    assert names.router_gateway(PORT) == "qg-0123456789a"


def test_device_names_fit_an_interface_name() -> None:
    port = str(uuid.uuid4())
    for name in (names.tap_device(port), names.bridge(port), names.dhcp_interface(port),
                 names.router_interface(port), names.router_gateway(port),
                 names.vxlan_device(2 ** 24 - 1)):
        assert len(name) <= 15, name


def test_a_device_stands_for_its_port() -> None:
    for device in (names.tap_device(PORT), names.dhcp_interface(PORT),
                   names.router_interface(PORT), names.router_gateway(PORT)):
        assert names.port_id_prefix(device) == PORT[:11]
    assert names.port_id_prefix(PORT.upper()) == PORT
    assert names.port_id_prefix("eth0") is None
    assert names.port_id_prefix("tapxyz") is None
