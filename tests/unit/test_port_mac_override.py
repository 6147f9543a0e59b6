"""Unit tests for neutrino.services.port_mac_override (pure decisions)."""

from __future__ import annotations

import pytest

from neutrino.exceptions import HTTPBadRequest
from neutrino.services import port_mac_override as pmo

OLD = {"mac_address": "fa:16:3e:00:00:01", "device_id": "vm", "device_owner": "compute:x",
       "binding:vnic_type": "direct-physical", "binding:profile": {}}


def test_device_mac_from_the_request_or_the_current_profile() -> None:
    data, skip = pmo.on_update(OLD, {"binding:profile": {
        "device_mac_address": "52:54:00:AA:BB:CC"}})
    assert (data["mac_address"], skip) == ("52:54:00:aa:bb:cc", True)
    old = dict(OLD, **{"binding:profile": {"device_mac_address": "52:54:00:aa:bb:cc"},
                       "mac_address": "52:54:00:aa:bb:cc"})
    data, skip = pmo.on_update(old, {"name": "x"})
    assert (data["mac_address"], skip) == ("52:54:00:aa:bb:cc", False)


def test_only_direct_physical() -> None:
    old = dict(OLD, **{"binding:vnic_type": "direct"})
    data = {"binding:profile": {"device_mac_address": "52:54:00:aa:bb:cc"}}
    assert pmo.on_update(old, data) == (data, False)
    assert pmo.on_create({"binding:vnic_type": "normal", **data}) == {
        "binding:vnic_type": "normal", **data}
    # Becoming direct-physical in the same request counts.
    changed, _ = pmo.on_update(old, dict(data, **{"binding:vnic_type": "direct-physical"}))
    assert changed["mac_address"] == "52:54:00:aa:bb:cc"


@pytest.mark.parametrize("request_,regenerate", [
    ({"device_id": "", "device_owner": ""}, True),
    ({"device_id": ""}, False),
    ({"device_id": "", "device_owner": "", "mac_address": "fa:16:3e:00:00:09"}, False),
])
def test_unplug_regenerates(request_: dict, regenerate: bool) -> None:
    data, skip = pmo.on_update(OLD, request_)
    assert ("mac_address" in data and data["mac_address"] is None) is regenerate
    assert skip is regenerate
    assert pmo.on_update(dict(OLD, device_id=""), request_)[1] is False


def test_invalid_device_mac() -> None:
    with pytest.raises(HTTPBadRequest):
        pmo.on_create({"binding:vnic_type": "direct-physical",
                       "binding:profile": {"device_mac_address": "ff:ff:ff:ff:ff:ff"}})
