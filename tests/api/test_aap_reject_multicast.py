"""aap-reject-multicast: allowed address pairs with a multicast address (or MAC)
are refused with 400 and change nothing; unicast prefixes that merely contain the
multicast range (0.0.0.0/0) stay allowed."""

from __future__ import annotations

import pytest

from server import Api, assert_error, post_port, put_port


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def test_extension_listed(api: Api) -> None:
    body = api.get("extensions/aap-reject-multicast").json()["extension"]
    assert body["name"] == "Allowed address pairs reject multicast extension"


@pytest.mark.parametrize("address", ["224.0.0.5", "239.255.255.250", "224.0.0.0/4",
                                     "232.1.0.0/16", "ff02::1", "ff00::/8"])
def test_multicast_address_refused(api: Api, address: str) -> None:
    net = api.network()
    response = post_port(api, net["id"], allowed_address_pairs=[{"ip_address": address}])
    error = assert_error(response, 400, "HTTPBadRequest")
    assert address in error["message"] and "multicast" in error["message"]
    assert api.get("ports", params={"network_id": net["id"]}).json()["ports"] == []
    port = api.port(net["id"], allowed_address_pairs=[{"ip_address": "10.0.0.5"}])
    response = put_port(api, port["id"], allowed_address_pairs=[
        {"ip_address": "10.0.0.6"}, {"ip_address": address}])
    assert_error(response, 400, "HTTPBadRequest")
    shown = api.get(f"ports/{port['id']}").json()["port"]
    assert [p["ip_address"] for p in shown["allowed_address_pairs"]] == ["10.0.0.5"]


def test_multicast_mac_refused(api: Api) -> None:
    net = api.network()
    response = post_port(api, net["id"], allowed_address_pairs=[
        {"ip_address": "10.0.0.7", "mac_address": "01:00:5e:00:00:05"}])
    assert_error(response, 400, "HTTPBadRequest")


@pytest.mark.parametrize("address", ["0.0.0.0/0", "192.0.0.0/2", "::/0",
                                     "223.255.255.255"])
def test_unicast_and_wide_prefixes_allowed(api: Api, address: str) -> None:
    net = api.network()
    port = api.port(net["id"], allowed_address_pairs=[{"ip_address": address}])
    assert [p["ip_address"] for p in port["allowed_address_pairs"]] == [address]
