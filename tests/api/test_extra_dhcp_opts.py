"""Extra DHCP options over HTTP: create, merge on update, validation."""

from __future__ import annotations

import pytest

from server import Api, error_of, post_port, put_port


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def opt(name: str, value: str | None, version: int = 4) -> dict:
    return {"opt_name": name, "opt_value": value, "ip_version": version}


def test_create_with_defaults(api: Api) -> None:
    net = api.network()
    port = api.port(net["id"], extra_dhcp_opts=[
        {"opt_name": "tftp-server", "opt_value": "10.0.0.1"},
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 6},
        {"opt_name": "domain-search", "opt_value": None},   # null: ignored
        {"opt_name": "router", "opt_value": ""}])           # may be blank
    expected = [opt("bootfile-name", "pxelinux.0", 6), opt("router", ""),
                opt("tftp-server", "10.0.0.1")]
    assert port["extra_dhcp_opts"] == expected
    assert api.get(f"ports/{port['id']}").json()["port"]["extra_dhcp_opts"] == expected


def test_update_merges(api: Api) -> None:
    net = api.network()
    port = api.port(net["id"], extra_dhcp_opts=[opt("tftp-server", "10.0.0.1"),
                                                opt("bootfile-name", "a")])
    response = put_port(api, port["id"], extra_dhcp_opts=[
        opt("tftp-server", "10.0.0.2"),          # replaced
        opt("bootfile-name", None),               # removed
        opt("tftp-server", "fd00::1", 6),        # added (other IP version)
        {"opt_name": "server-ip-address", "opt_value": "10.0.0.3"}])  # added
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    expected = [opt("server-ip-address", "10.0.0.3"), opt("tftp-server", "10.0.0.2"),
                opt("tftp-server", "fd00::1", 6)]
    assert body["extra_dhcp_opts"] == expected
    assert body["revision_number"] > port["revision_number"]
    assert api.get(f"ports/{port['id']}").json()["port"]["extra_dhcp_opts"] == expected
    # An empty list (or another attribute) changes nothing.
    for attrs in ({"extra_dhcp_opts": []}, {"name": "n"}):
        response = put_port(api, port["id"], **attrs)
        assert response.status_code == 200, response.text
        assert response.json()["port"]["extra_dhcp_opts"] == expected
    # Removing what is not there is no error.
    response = put_port(api, port["id"], extra_dhcp_opts=[opt("nothing", None)])
    assert response.json()["port"]["extra_dhcp_opts"] == expected


@pytest.mark.parametrize("opts", [
    "tftp-server",
    [{"opt_name": "tftp-server"}],
    [{"opt_value": "x"}],
    [{"opt_name": "", "opt_value": "x"}],
    [{"opt_name": "tftp-server", "opt_value": 5}],
    [{"opt_name": "tftp-server", "opt_value": "x", "ip_version": 5}],
    [{"opt_name": "tftp-server", "opt_value": "x", "color": "red"}],
    [{"opt_name": "x" * 65, "opt_value": "x"}],
    [opt("tftp-server", "a"), opt("tftp-server", "b")],
])
def test_validation(api: Api, opts: object) -> None:
    net = api.network()
    response = post_port(api, net["id"], extra_dhcp_opts=opts)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["type"] == "HTTPBadRequest"
    assert error["message"].startswith("Invalid input for extra_dhcp_opts. Reason: ")
    port = api.port(net["id"])
    response = put_port(api, port["id"], extra_dhcp_opts=opts)
    assert response.status_code == 400, response.text


def test_message_names_the_item(api: Api) -> None:
    net = api.network()
    response = post_port(api, net["id"], extra_dhcp_opts=[{"opt_name": "tftp-server"}])
    assert error_of(response)["message"] == (
        "Invalid input for extra_dhcp_opts. Reason: No valid key specs matched for: "
        "{'opt_name': 'tftp-server'}.")
