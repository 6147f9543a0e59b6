"""port-mac-override: a direct-physical port takes binding:profile's
device_mac_address as its MAC (what Nova sends for a physical device), also while
bound; unplugging it (device_id and device_owner "") gives it a new random MAC."""

from __future__ import annotations

import re

import pytest

from server import Api, assert_error, post_port, put_port

MAC_RE = re.compile(r"^fa:16:3e(:[0-9a-f]{2}){3}$")
DEVICE_MAC = "52:54:00:12:34:56"


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


@pytest.fixture
def net(api: Api) -> dict:
    net = api.network()
    api.subnet(net["id"], "10.110.0.0/24")
    return net


def show(api: Api, port_id: str) -> dict:
    return api.get(f"ports/{port_id}").json()["port"]


def test_extension_listed(api: Api) -> None:
    body = api.get("extensions/port-mac-override").json()["extension"]
    assert body["name"] == "Neutron Port MAC address override"


def test_update_with_device_mac(api: Api, net: dict) -> None:
    port = api.port(net["id"], **{"binding:vnic_type": "direct-physical"})
    assert MAC_RE.match(port["mac_address"])
    response = put_port(api, port["id"], device_id="vm-1", device_owner="compute:nova",
                        **{"binding:host_id": "host-1",
                           "binding:profile": {"device_mac_address": "52:54:00:12:34:56",
                                               "pci_slot": "0000:3b:00.0"}})
    assert response.status_code == 200, response.text
    assert response.json()["port"]["mac_address"] == DEVICE_MAC
    assert show(api, port["id"])["mac_address"] == DEVICE_MAC
    # While bound, another device's MAC (the profile changes with the binding).
    response = put_port(api, port["id"], **{"binding:profile": {
        "device_mac_address": "52:54:00:AB:CD:EF"}})
    assert response.status_code == 200, response.text
    assert response.json()["port"]["mac_address"] == "52:54:00:ab:cd:ef"
    # Unplugged: a new random MAC frees the device's.
    response = put_port(api, port["id"], device_id="", device_owner="",
                        **{"binding:host_id": "", "binding:profile": {}})
    assert response.status_code == 200, response.text
    new_mac = response.json()["port"]["mac_address"]
    assert MAC_RE.match(new_mac)


def test_create_with_device_mac(api: Api, net: dict) -> None:
    port = api.port(net["id"], **{"binding:vnic_type": "direct-physical",
                                  "binding:profile": {"device_mac_address": DEVICE_MAC}})
    assert port["mac_address"] == DEVICE_MAC


def test_other_vnic_types_keep_their_mac(api: Api, net: dict) -> None:
    port = api.port(net["id"], **{"binding:vnic_type": "direct"})
    response = put_port(api, port["id"], **{"binding:profile": {
        "device_mac_address": DEVICE_MAC}})
    assert response.json()["port"]["mac_address"] == port["mac_address"]
    normal = api.port(net["id"], device_id="vm", device_owner="compute:nova")
    response = put_port(api, normal["id"], device_id="", device_owner="")
    assert response.json()["port"]["mac_address"] == normal["mac_address"]


@pytest.mark.parametrize("mac", ["not-a-mac", "01:00:5e:00:00:01", 5])
def test_invalid_device_mac(api: Api, net: dict, mac: object) -> None:
    response = post_port(api, net["id"], **{"binding:vnic_type": "direct-physical",
                                            "binding:profile": {"device_mac_address": mac}})
    assert_error(response, 400, "HTTPBadRequest")
    assert api.get("ports", params={"network_id": net["id"]}).json()["ports"] == []


def test_device_mac_in_use_on_the_network(api: Api, net: dict) -> None:
    api.port(net["id"], mac_address=DEVICE_MAC)
    port = api.port(net["id"], **{"binding:vnic_type": "direct-physical"})
    response = put_port(api, port["id"], **{"binding:profile": {
        "device_mac_address": DEVICE_MAC}})
    assert_error(response, 409, "MacAddressInUse")
    assert show(api, port["id"])["mac_address"] == port["mac_address"]
