"""Smoke: the server answers version discovery and a network round trip."""

from server import Api, error_of


def test_versions_document(api: Api) -> None:
    body = api.get("/").json()
    assert body["versions"][0]["id"] == "v2.0"
    assert body["versions"][0]["status"] == "CURRENT"


def test_network_round_trip(api: Api) -> None:
    net = api.network(name="smoke")
    assert api.get(f"networks/{net['id']}").json()["network"]["name"] == "smoke"
    assert api.delete(f"networks/{net['id']}").status_code == 204
    response = api.get(f"networks/{net['id']}")
    assert response.status_code == 404
    assert error_of(response)["type"] == "NetworkNotFound"
