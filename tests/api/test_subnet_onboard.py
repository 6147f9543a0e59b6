"""subnet_onboard: PUT /v2.0/subnetpools/{id}/onboard_network_subnets with a
network_id adopts the network's subnets (of the pool's IP version) into the pool."""

from __future__ import annotations

import ipaddress
import uuid

import pytest

from server import UNKNOWN, Api, assert_error


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def pool(api: Api, prefixes: list[str], **attrs: object) -> dict:
    return api.create("subnetpool", name=f"pool-{uuid.uuid4().hex[:6]}",
                      prefixes=prefixes, **attrs)


def onboard(api: Api, pool_id: str, body: object) -> object:
    return api.put(f"subnetpools/{pool_id}/onboard_network_subnets", body)


def test_extension_listed(api: Api) -> None:
    body = api.get("extensions/subnet_onboard").json()["extension"]
    assert body == {"name": "Subnet Onboard", "alias": "subnet_onboard",
                    "description": "Provides support for onboarding subnets into "
                                   "subnet pools",
                    "updated": "2018-12-18T09:00:00-00:00", "links": []}


@pytest.mark.parametrize("version,prefixes,cidrs,other", [
    (4, ["192.168.1.0/24", "192.168.2.0/24"], ["10.90.0.0/24", "10.90.1.0/24"],
     "2001:db8:90::/64"),
    (6, ["2001:db8:1234::/48"], ["2001:db8:4321::/64"], "10.90.2.0/24")])
def test_onboard(api: Api, version: int, prefixes: list[str], cidrs: list[str],
                 other: str) -> None:
    target = pool(api, prefixes)
    net = api.network()
    subnets = [api.subnet(net["id"], cidr) for cidr in cidrs]
    other_version = api.subnet(net["id"], other)
    response = onboard(api, target["id"], {"network_id": net["id"]})
    assert response.status_code == 200, response.text
    assert sorted(response.json(), key=lambda s: s["id"]) == sorted(
        ({"id": s["id"], "cidr": s["cidr"]} for s in subnets), key=lambda s: s["id"])
    for s in subnets:
        shown = api.get(f"subnets/{s['id']}").json()["subnet"]
        assert shown["subnetpool_id"] == target["id"]
        assert shown["revision_number"] > s["revision_number"]
    assert api.get(f"subnets/{other_version['id']}").json()["subnet"][
        "subnetpool_id"] is None
    grown = [ipaddress.ip_network(p) for p in api.get(
        f"subnetpools/{target['id']}").json()["subnetpool"]["prefixes"]]
    for cidr in cidrs + prefixes:
        assert any(ipaddress.ip_network(cidr).subnet_of(p) for p in grown), cidr
    # The pool now knows those addresses as allocated.
    response = api.post("subnets", {"subnet": {
        "network_id": api.network()["id"], "ip_version": version,
        "subnetpool_id": target["id"], "cidr": cidrs[0]}})
    assert response.status_code == 409, response.text


def test_network_without_subnets(api: Api) -> None:
    target = pool(api, ["10.91.0.0/16"])
    response = onboard(api, target["id"], {"network_id": api.network()["id"]})
    assert response.status_code == 200 and response.json() == []


def test_conflict_with_allocated_prefixes(api: Api) -> None:
    target = pool(api, ["192.168.1.0/24"], default_prefixlen=26)
    taken = api.post("subnets", {"subnet": {
        "network_id": api.network()["id"], "ip_version": 4,
        "subnetpool_id": target["id"], "cidr": "192.168.1.128/26"}})
    assert taken.status_code == 201, taken.text
    net = api.network()
    overlapping = api.subnet(net["id"], "192.168.1.128/25")
    response = onboard(api, target["id"], {"network_id": net["id"]})
    error = assert_error(response, 400, "IllegalSubnetPoolUpdate")
    assert error["message"] == (
        f"Illegal subnetpool update : Onboarding subnet {overlapping['id']}: "
        f"192.168.1.128/25 conflicts with allocated prefixes in subnet pool "
        f"{target['id']}.")
    assert api.get(f"subnets/{overlapping['id']}").json()["subnet"][
        "subnetpool_id"] is None


def test_move_between_pools(api: Api) -> None:
    source = pool(api, ["10.92.0.0/24"])
    target = pool(api, ["10.93.0.0/24"])
    net = api.network()
    subnet = api.subnet(net["id"], "10.92.0.0/24")
    assert onboard(api, source["id"], {"network_id": net["id"]}).status_code == 200
    assert onboard(api, target["id"], {"network_id": net["id"]}).status_code == 200
    assert api.get(f"subnets/{subnet['id']}").json()["subnet"][
        "subnetpool_id"] == target["id"]
    # The source keeps the prefix, now free again.
    assert "10.92.0.0/24" in api.get(
        f"subnetpools/{source['id']}").json()["subnetpool"]["prefixes"]


def test_same_address_scope_conflict(api: Api) -> None:
    scope = api.create("address_scope", name="s", ip_version=4)
    source = pool(api, ["10.94.0.0/24"], address_scope_id=scope["id"])
    target = pool(api, ["10.95.0.0/24"], address_scope_id=scope["id"])
    net = api.network()
    subnet = api.subnet(net["id"], "10.94.0.0/24")
    assert onboard(api, source["id"], {"network_id": net["id"]}).status_code == 200
    assert_error(onboard(api, target["id"], {"network_id": net["id"]}), 409,
                 "AddressScopePrefixConflict")
    assert api.get(f"subnets/{subnet['id']}").json()["subnet"][
        "subnetpool_id"] == source["id"]


@pytest.mark.parametrize("body,status,type_,message", [
    ({}, 400, "InvalidInput", "Invalid input for operation: network_id must be "
                              "specified."),
    ({"network_id": None}, 400, "InvalidInput", None),
    ({"network_id": UNKNOWN}, 404, "NetworkNotFound",
     f"Network {UNKNOWN} could not be found."),
    ({"network_id": "not-a-uuid"}, 404, "NetworkNotFound", None),
])
def test_bad_requests(api: Api, body: object, status: int, type_: str,
                      message: str | None) -> None:
    target = pool(api, ["10.96.0.0/24"])
    assert_error(onboard(api, target["id"], body), status, type_, message)


def test_unknown_pool(api: Api) -> None:
    response = onboard(api, UNKNOWN, {"network_id": api.network()["id"]})
    assert_error(response, 404, "SubnetPoolNotFound")


def test_policy_and_visibility(api: Api) -> None:
    owner = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    other = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    own_pool = owner.create("subnetpool", name="p", prefixes=["10.97.0.0/16"])
    own_net = owner.network()
    owner.subnet(own_net["id"], "10.98.0.0/24")
    # Another project's network is not found; another project's pool neither.
    other_net = other.network()
    assert_error(onboard(owner, own_pool["id"], {"network_id": other_net["id"]}), 404,
                 "NetworkNotFound")
    assert_error(onboard(other, own_pool["id"], {"network_id": other_net["id"]}), 404,
                 "SubnetPoolNotFound")
    response = onboard(owner, own_pool["id"], {"network_id": own_net["id"]})
    assert response.status_code == 200, response.text
    # A shared pool: visible to others, but only its owner (or admin) onboards.
    shared = api.create("subnetpool", name="s", prefixes=["10.99.0.0/16"], shared=True)
    assert_error(onboard(other, shared["id"], {"network_id": other_net["id"]}), 403,
                 "PolicyNotAuthorized")
