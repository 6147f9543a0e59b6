"""subnet-external-network: `router:external` on subnets, the network's, read-only
and a filter (not a sort key)."""

from __future__ import annotations

import pytest

from server import Api, assert_error


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def test_extension_listed(api: Api) -> None:
    body = api.get("extensions/subnet-external-network").json()["extension"]
    assert body["name"] == "Subnet belongs to an external network"
    assert body["updated"] == "2024-02-05T18:00:00-00:00"


def test_follows_the_network(api: Api) -> None:
    net = api.network()
    subnet = api.subnet(net["id"], "10.61.0.0/24")
    assert subnet["router:external"] is False
    assert api.put(f"networks/{net['id']}",
                   {"network": {"router:external": True}}).status_code == 200
    shown = api.get(f"subnets/{subnet['id']}").json()["subnet"]
    assert shown["router:external"] is True
    ext_subnet = api.subnet(net["id"], "10.62.0.0/24")
    assert ext_subnet["router:external"] is True
    updated = api.put(f"subnets/{subnet['id']}", {"subnet": {"name": "x"}}).json()
    assert updated["subnet"]["router:external"] is True


def test_read_only(api: Api) -> None:
    net = api.network()
    response = api.post("subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.63.0.0/24", "ip_version": 4,
        "router:external": True}})
    assert_error(response, 400, "HTTPBadRequest")
    subnet = api.subnet(net["id"], "10.63.0.0/24")
    response = api.put(f"subnets/{subnet['id']}", {"subnet": {"router:external": True}})
    assert_error(response, 400, "HTTPBadRequest")
    assert api.get(f"subnets/{subnet['id']}").json()["subnet"]["router:external"] is False


def test_filter(api: Api) -> None:
    internal = api.network()
    external = api.network(**{"router:external": True})
    s_int = api.subnet(internal["id"], "10.64.0.0/24")
    s_ext = api.subnet(external["id"], "10.65.0.0/24")
    ids = {s_int["id"], s_ext["id"]}

    def listed(value: str) -> set[str]:
        response = api.get("subnets", params={"router:external": value})
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()["subnets"]} & ids

    assert listed("True") == {s_ext["id"]}
    assert listed("false") == {s_int["id"]}
    assert_error(api.get("subnets", params={"router:external": "maybe"}), 400,
                 "InvalidInput")
    response = api.get("subnets", params={"sort_key": "router:external",
                                          "sort_dir": "asc"})
    assert response.status_code == 400


def test_member_sees_external_subnet_flag(api: Api) -> None:
    member = api.as_project("p-subnet-ext-member", ["member"])
    net = member.network()
    subnet = member.subnet(net["id"], "10.66.0.0/24")
    assert subnet["router:external"] is False
    listed = member.get("subnets", params={"id": subnet["id"],
                                           "fields": "router:external"}).json()
    assert listed["subnets"] == [{"router:external": False}]
