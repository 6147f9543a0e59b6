"""Subnets over HTTP: defaults, gateway and pools, validation, DNS / routes, updates,
deletes and IPv6 modes."""

from __future__ import annotations

import uuid

import httpx
import pytest
from rbac_helpers import pid, project, share

from server import TIME_RE, UNKNOWN, Api, assert_error, error_of


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def post_subnet(api: Api, network_id: str, cidr: str, ip_version: int = 4,
                **attrs: object) -> httpx.Response:
    return api.post("subnets", {"subnet": {"network_id": network_id, "cidr": cidr,
                                           "ip_version": ip_version, **attrs}})


def put_subnet(api: Api, subnet_id: str, **attrs: object) -> httpx.Response:
    return api.put(f"subnets/{subnet_id}", {"subnet": attrs})


def show(api: Api, subnet_id: str) -> dict:
    response = api.get(f"subnets/{subnet_id}")
    assert response.status_code == 200, response.text
    return response.json()["subnet"]


@pytest.fixture
def net(api: Api) -> dict:
    return api.network()


# -- create defaults ---------------------------------------------------------------


def test_create_defaults(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.0.0.0/24", name="subnet1")
    assert response.status_code == 201, response.text
    subnet = response.json()["subnet"]
    assert uuid.UUID(subnet["id"])
    assert subnet["name"] == "subnet1"
    assert subnet["description"] == ""
    assert subnet["network_id"] == net["id"]
    assert subnet["ip_version"] == 4
    assert subnet["cidr"] == "10.0.0.0/24"
    assert subnet["gateway_ip"] == "10.0.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert subnet["enable_dhcp"] is True
    assert subnet["dns_nameservers"] == []
    assert subnet["host_routes"] == []
    assert subnet["ipv6_ra_mode"] is None
    assert subnet["ipv6_address_mode"] is None
    assert subnet["subnetpool_id"] is None
    assert subnet["tags"] == []
    assert subnet["revision_number"] == 0
    assert subnet["project_id"] == subnet["tenant_id"] == api.client.headers["X-Project-Id"]
    assert TIME_RE.match(subnet["created_at"]) and TIME_RE.match(subnet["updated_at"])
    assert "shared" not in subnet and "prefixlen" not in subnet
    assert show(api, subnet["id"]) == subnet


def test_no_gateway(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.1.0.0/24", gateway_ip=None)
    assert subnet["gateway_ip"] is None
    assert subnet["allocation_pools"] == [{"start": "10.1.0.1", "end": "10.1.0.254"}]


def test_explicit_gateway_splits_pool(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.2.0.0/24", gateway_ip="10.2.0.100")
    assert subnet["gateway_ip"] == "10.2.0.100"
    assert subnet["allocation_pools"] == [{"start": "10.2.0.1", "end": "10.2.0.99"},
                                          {"start": "10.2.0.101", "end": "10.2.0.254"}]


def test_gateway_at_end(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.3.0.0/24", gateway_ip="10.3.0.254")
    assert subnet["allocation_pools"] == [{"start": "10.3.0.1", "end": "10.3.0.253"}]


def test_explicit_pools(api: Api, net: dict) -> None:
    pools = [{"start": "10.4.0.10", "end": "10.4.0.20"},
             {"start": "10.4.0.100", "end": "10.4.0.100"}]
    subnet = api.subnet(net["id"], "10.4.0.0/24", allocation_pools=list(reversed(pools)))
    assert subnet["gateway_ip"] == "10.4.0.1"
    assert sorted(subnet["allocation_pools"], key=lambda p: p["start"]) == pools


def test_create_with_description_and_tags(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.5.0.0/24", description="d", tags=["t1"])
    assert subnet["description"] == "d"
    assert subnet["tags"] == ["t1"]


def test_create_enable_dhcp_false(api: Api, net: dict) -> None:
    assert api.subnet(net["id"], "10.6.0.0/24", enable_dhcp=False)["enable_dhcp"] is False


def test_small_subnets(api: Api, net: dict) -> None:
    s30 = api.subnet(net["id"], "10.7.0.0/30")
    assert s30["gateway_ip"] == "10.7.0.1"
    assert s30["allocation_pools"] == [{"start": "10.7.0.2", "end": "10.7.0.2"}]
    s29 = api.subnet(net["id"], "10.7.1.0/29")
    assert s29["allocation_pools"] == [{"start": "10.7.1.2", "end": "10.7.1.6"}]


# -- invalid pools / gateways ----------------------------------------------------------


def test_pool_out_of_range(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24",
                           allocation_pools=[{"start": "10.8.0.10", "end": "10.8.1.5"}])
    assert_error(response, 400, "OutOfBoundsAllocationPool",
                 "The allocation pool 10.8.0.10-10.8.1.5 spans beyond the subnet cidr "
                 "10.8.0.0/24.")


def test_pool_includes_broadcast(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24",
                           allocation_pools=[{"start": "10.8.0.10", "end": "10.8.0.255"}])
    assert_error(response, 400, "OutOfBoundsAllocationPool")


def test_pool_start_after_end(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24",
                           allocation_pools=[{"start": "10.8.0.20", "end": "10.8.0.10"}])
    assert_error(response, 400, "InvalidAllocationPool",
                 "The allocation pool 10.8.0.20-10.8.0.10 is not valid.")


def test_overlapping_pools(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24", allocation_pools=[
        {"start": "10.8.0.10", "end": "10.8.0.20"},
        {"start": "10.8.0.15", "end": "10.8.0.30"}])
    assert_error(response, 409, "OverlappingAllocationPools",
                 "Found overlapping allocation pools: 10.8.0.10-10.8.0.20 "
                 "10.8.0.15-10.8.0.30 for subnet 10.8.0.0/24.")


def test_gateway_inside_pool(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24", gateway_ip="10.8.0.15",
                           allocation_pools=[{"start": "10.8.0.10", "end": "10.8.0.20"}])
    assert_error(response, 409, "GatewayConflictWithAllocationPools",
                 "Gateway ip 10.8.0.15 conflicts with allocation pool 10.8.0.10-10.8.0.20.")


def test_default_gateway_inside_explicit_pool(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24",
                           allocation_pools=[{"start": "10.8.0.1", "end": "10.8.0.20"}])
    assert_error(response, 409, "GatewayConflictWithAllocationPools")


@pytest.mark.parametrize("pool", [
    {"start": "10.8.0.10"}, {"start": "x", "end": "10.8.0.20"},
    {"start": "10.8.0.10", "end": "10.8.0.20", "extra": 1}])
def test_malformed_pool(api: Api, net: dict, pool: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24", allocation_pools=[pool])
    assert_error(response, 400, "HTTPBadRequest")


def test_pool_of_other_family(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24", allocation_pools=[
        {"start": "2001:db8::2", "end": "2001:db8::9"}])
    assert_error(response, 400, "InvalidAllocationPool")


def test_gateway_is_network_address(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24", gateway_ip="10.8.0.0")
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: Gateway is not valid on subnet.")


def test_gateway_is_broadcast(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24", gateway_ip="10.8.0.255")
    assert_error(response, 400, "InvalidInput")


def test_gateway_of_other_family(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24", gateway_ip="2001:db8::1")
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: gateway_ip '2001:db8::1' does not match "
                 "the ip_version '4'.")


def test_gateway_not_an_ip(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.8.0.0/24", gateway_ip="10.8.0.x")
    assert_error(response, 400, "HTTPBadRequest",
                 "Invalid input for gateway_ip. Reason: '10.8.0.x' is not a valid IP "
                 "address.")


def test_gateway_outside_cidr_is_allowed(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.9.0.0/24", gateway_ip="10.99.0.1")
    assert subnet["gateway_ip"] == "10.99.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.9.0.1", "end": "10.9.0.254"}]


# -- CIDR validation -------------------------------------------------------------------


def test_bad_cidr(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.0.0.300/24")
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "InvalidInput",
        "message": "Invalid input for operation: 10.0.0.300/24 is not in a CIDR format.",
        "detail": ""}


def test_bad_prefixlen(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.1.0.0/33")
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "InvalidInput",
        "message": "Invalid input for operation: 10.1.0.0/33 is not in a CIDR format.",
        "detail": ""}


def test_cidr_with_host_bits(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.10.0.5/24")
    assert_error(response, 400, "HTTPBadRequest",
                 "Invalid input for cidr. Reason: '10.10.0.5/24' isn't a recognized IP "
                 "subnet cidr, '10.10.0.0/24' is recommended.")


def test_missing_cidr(api: Api, net: dict) -> None:
    response = api.post("subnets", {"subnet": {"network_id": net["id"], "ip_version": 4}})
    assert_error(response, 400, "BadRequest",
                 "Bad subnets request: a subnetpool must be specified in the absence of a "
                 "cidr.")


def test_ip_version_as_string(api: Api, net: dict) -> None:
    assert api.subnet(net["id"], "10.11.1.0/24", ip_version="4")["ip_version"] == 4
    response = post_subnet(api, net["id"], "10.11.2.0/24", ip_version="four")
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: 'four' is not an integer.")


def test_null_lists_mean_empty(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.11.3.0/24", dns_nameservers=None, host_routes=None)
    assert subnet["dns_nameservers"] == [] and subnet["host_routes"] == []
    put_subnet(api, subnet["id"], dns_nameservers=["8.8.8.8"], host_routes=[
        {"destination": "10.99.0.0/16", "nexthop": "10.11.3.9"}])
    body = put_subnet(api, subnet["id"], dns_nameservers=None, host_routes=None).json()
    assert body["subnet"]["dns_nameservers"] == [] and body["subnet"]["host_routes"] == []


def test_missing_ip_version(api: Api, net: dict) -> None:
    response = api.post("subnets", {"subnet": {"network_id": net["id"],
                                               "cidr": "10.11.0.0/24"}})
    assert_error(response, 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'ip_version' not specified")


def test_bad_ip_version(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.11.0.0/24", ip_version=5)
    assert_error(response, 400, "HTTPBadRequest")


def test_ip_version_mismatch(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.11.0.0/24", ip_version=6)
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: cidr '10.11.0.0/24' does not match the "
                 "ip_version '6'.")
    response = post_subnet(api, net["id"], "2001:db8:11::/64", ip_version=4)
    assert_error(response, 400, "InvalidInput")


def test_overlapping_cidr_same_network(api: Api, net: dict) -> None:
    api.subnet(net["id"], "10.12.0.0/24")
    response = post_subnet(api, net["id"], "10.12.0.0/25")
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "InvalidInput",
        "message": "Invalid input for operation: Requested subnet with cidr: 10.12.0.0/25 "
                   f"for network: {net['id']} overlaps with another subnet.",
        "detail": ""}
    # A supernet overlaps too.
    assert_error(post_subnet(api, net["id"], "10.12.0.0/16"), 400, "InvalidInput")
    assert_error(post_subnet(api, net["id"], "10.12.0.0/24"), 400, "InvalidInput")


def test_same_cidr_on_two_networks(api: Api, net: dict) -> None:
    other = api.network()
    a = api.subnet(net["id"], "10.13.0.0/24")
    b = api.subnet(other["id"], "10.13.0.0/24")
    assert a["cidr"] == b["cidr"] and a["id"] != b["id"]


def test_unknown_network(api: Api) -> None:
    response = post_subnet(api, UNKNOWN, "10.14.0.0/24")
    assert response.status_code == 404
    assert error_of(response) == {"type": "NetworkNotFound",
                                  "message": f"Network {UNKNOWN} could not be found.",
                                  "detail": ""}


def test_malformed_network_id(api: Api) -> None:
    response = post_subnet(api, "not-a-uuid", "10.14.0.0/24")
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "HTTPBadRequest",
        "message": "Invalid input for network_id. Reason: 'not-a-uuid' is not a valid UUID.",
        "detail": ""}


def test_unknown_subnetpool(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.14.0.0/24", subnetpool_id=UNKNOWN)
    assert response.status_code == 404


# -- DNS nameservers and host routes ------------------------------------------------------


def test_dns_nameservers_set_and_update(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.15.0.0/24",
                        dns_nameservers=["8.8.8.8", "1.1.1.1", "9.9.9.9"])
    assert subnet["dns_nameservers"] == ["8.8.8.8", "1.1.1.1", "9.9.9.9"]
    updated = put_subnet(api, subnet["id"], dns_nameservers=["9.9.9.9", "8.8.4.4"])
    assert updated.status_code == 200, updated.text
    assert updated.json()["subnet"]["dns_nameservers"] == ["9.9.9.9", "8.8.4.4"]
    assert show(api, subnet["id"])["dns_nameservers"] == ["9.9.9.9", "8.8.4.4"]
    cleared = put_subnet(api, subnet["id"], dns_nameservers=[]).json()["subnet"]
    assert cleared["dns_nameservers"] == []


def test_dns_nameservers_duplicate(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.15.0.0/24",
                           dns_nameservers=["8.8.8.8", "8.8.8.8"])
    error = assert_error(response, 400, "HTTPBadRequest")
    assert error["message"].startswith("Invalid input for dns_nameservers. Reason: "
                                       "Duplicate nameserver '8.8.8.8'")


def test_dns_nameservers_bad_ip(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.15.0.0/24", dns_nameservers=["8.8.8.x"])
    error = assert_error(response, 400, "HTTPBadRequest")
    assert error["message"].startswith("Invalid input for dns_nameservers. Reason: "
                                       "'8.8.8.x' is not a valid nameserver")


def test_dns_nameservers_not_a_list(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.15.0.0/24", dns_nameservers="8.8.8.8")
    assert_error(response, 400, "HTTPBadRequest")


def test_dns_nameservers_too_many(api: Api, net: dict) -> None:
    servers = [f"10.255.0.{i}" for i in range(1, 7)]
    response = post_subnet(api, net["id"], "10.15.0.0/24", dns_nameservers=servers)
    assert_error(response, 400, "DNSNameServersExhausted",
                 "Unable to complete operation for new subnet. The number of DNS "
                 "nameservers exceeds the limit 5.")
    # Five is the limit, and an update past it names the subnet.
    subnet = api.subnet(net["id"], "10.15.0.0/24", dns_nameservers=servers[:5])
    response = put_subnet(api, subnet["id"], dns_nameservers=servers)
    assert_error(response, 400, "DNSNameServersExhausted",
                 f"Unable to complete operation for {subnet['id']}. The number of DNS "
                 "nameservers exceeds the limit 5.")
    assert show(api, subnet["id"])["dns_nameservers"] == servers[:5]


def test_host_routes_set_and_update(api: Api, net: dict) -> None:
    routes = [{"destination": "192.168.0.0/24", "nexthop": "10.16.0.5"},
              {"destination": "0.0.0.0/0", "nexthop": "10.16.0.254"}]
    subnet = api.subnet(net["id"], "10.16.0.0/24", host_routes=routes)
    key = lambda r: r["destination"]  # noqa: E731
    assert sorted(subnet["host_routes"], key=key) == sorted(routes, key=key)
    new = [{"destination": "172.16.0.0/12", "nexthop": "10.16.0.6"}]
    updated = put_subnet(api, subnet["id"], host_routes=new)
    assert updated.status_code == 200, updated.text
    assert updated.json()["subnet"]["host_routes"] == new
    assert show(api, subnet["id"])["host_routes"] == new


def test_host_routes_duplicate(api: Api, net: dict) -> None:
    route = {"destination": "192.168.0.0/24", "nexthop": "10.16.0.5"}
    response = post_subnet(api, net["id"], "10.16.0.0/24", host_routes=[route, route])
    error = assert_error(response, 400, "HTTPBadRequest")
    assert "Duplicate hostroute" in error["message"]


@pytest.mark.parametrize("route", [
    {"destination": "192.168.0.0/24"},
    {"destination": "192.168.0.300/24", "nexthop": "10.16.0.5"},
    {"destination": "192.168.0.0/24", "nexthop": "not-an-ip"},
    "192.168.0.0/24"])
def test_host_routes_malformed(api: Api, net: dict, route: object) -> None:
    response = post_subnet(api, net["id"], "10.16.0.0/24", host_routes=[route])
    assert_error(response, 400, "HTTPBadRequest")


def test_host_route_wrong_family(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.16.0.0/24", host_routes=[
        {"destination": "2001:db8::/64", "nexthop": "2001:db8::1"}])
    assert_error(response, 400, "InvalidInput")


def test_host_routes_too_many(api: Api, net: dict) -> None:
    routes = [{"destination": f"192.168.{i}.0/24", "nexthop": "10.16.0.5"}
              for i in range(21)]
    response = post_subnet(api, net["id"], "10.16.0.0/24", host_routes=routes)
    assert_error(response, 400, "HostRoutesExhausted",
                 "Unable to complete operation for new subnet. The number of host routes "
                 "exceeds the limit 20.")
    subnet = api.subnet(net["id"], "10.16.0.0/24", host_routes=routes[:20])
    assert len(subnet["host_routes"]) == 20
    response = put_subnet(api, subnet["id"], host_routes=routes)
    assert_error(response, 400, "HostRoutesExhausted")


# -- updates ------------------------------------------------------------------------


def test_update_name_bumps_revision_not_network(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.17.0.0/24")
    net_rev = api.get(f"networks/{net['id']}").json()["network"]["revision_number"]
    updated = put_subnet(api, subnet["id"], name="renamed", description="x")
    assert updated.status_code == 200, updated.text
    body = updated.json()["subnet"]
    assert body["name"] == "renamed" and body["description"] == "x"
    assert body["revision_number"] == subnet["revision_number"] + 1
    body = put_subnet(api, subnet["id"], name="again").json()["subnet"]
    assert body["revision_number"] == subnet["revision_number"] + 2
    assert api.get(f"networks/{net['id']}").json()["network"]["revision_number"] == net_rev


def test_update_gateway(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.18.0.0/24",
                        allocation_pools=[{"start": "10.18.0.10", "end": "10.18.0.20"}])
    body = put_subnet(api, subnet["id"], gateway_ip="10.18.0.254").json()["subnet"]
    assert body["gateway_ip"] == "10.18.0.254"
    assert body["allocation_pools"] == [{"start": "10.18.0.10", "end": "10.18.0.20"}]
    body = put_subnet(api, subnet["id"], gateway_ip=None).json()["subnet"]
    assert body["gateway_ip"] is None
    # Into the pool: conflict, nothing changes.
    response = put_subnet(api, subnet["id"], gateway_ip="10.18.0.15")
    assert_error(response, 409, "GatewayConflictWithAllocationPools")
    assert show(api, subnet["id"])["gateway_ip"] is None
    response = put_subnet(api, subnet["id"], gateway_ip="10.18.0.0")
    assert_error(response, 400, "InvalidInput")


def test_update_allocation_pools(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.19.0.0/24")
    pools = [{"start": "10.19.0.50", "end": "10.19.0.60"}]
    body = put_subnet(api, subnet["id"], allocation_pools=pools).json()["subnet"]
    assert body["allocation_pools"] == pools
    assert show(api, subnet["id"])["allocation_pools"] == pools
    response = put_subnet(api, subnet["id"], allocation_pools=[
        {"start": "10.19.0.1", "end": "10.19.0.10"}])
    assert_error(response, 409, "GatewayConflictWithAllocationPools")
    response = put_subnet(api, subnet["id"], allocation_pools=[
        {"start": "10.19.0.50", "end": "10.19.1.10"}])
    assert_error(response, 400, "OutOfBoundsAllocationPool")
    assert show(api, subnet["id"])["allocation_pools"] == pools


def test_update_gateway_and_pools_together(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.19.1.0/24")
    body = put_subnet(api, subnet["id"], gateway_ip="10.19.1.254", allocation_pools=[
        {"start": "10.19.1.1", "end": "10.19.1.200"}]).json()["subnet"]
    assert body["gateway_ip"] == "10.19.1.254"
    assert body["allocation_pools"] == [{"start": "10.19.1.1", "end": "10.19.1.200"}]


def test_update_enable_dhcp(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.20.0.0/24")
    assert put_subnet(api, subnet["id"], enable_dhcp=False).json()["subnet"][
        "enable_dhcp"] is False
    assert show(api, subnet["id"])["enable_dhcp"] is False
    assert put_subnet(api, subnet["id"], enable_dhcp=True).json()["subnet"][
        "enable_dhcp"] is True


@pytest.mark.parametrize("attr,value", [
    ("cidr", "10.21.0.0/25"), ("network_id", UNKNOWN), ("ip_version", 6),
    ("ipv6_ra_mode", "slaac"), ("subnetpool_id", UNKNOWN), ("id", UNKNOWN)])
def test_update_read_only(api: Api, net: dict, attr: str, value: object) -> None:
    subnet = api.subnet(net["id"], "10.21.0.0/24")
    response = put_subnet(api, subnet["id"], **{attr: value})
    assert_error(response, 400, "HTTPBadRequest",
                 f"Cannot update read-only attribute {attr}")
    assert show(api, subnet["id"]) == subnet


def test_update_unknown(api: Api) -> None:
    response = put_subnet(api, UNKNOWN, name="x")
    assert_error(response, 404, "SubnetNotFound", f"Subnet {UNKNOWN} could not be found.")


def test_if_match(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.22.0.0/24")
    rev = subnet["revision_number"]
    response = api.put(f"subnets/{subnet['id']}", {"subnet": {"name": "x"}},
                       headers={"If-Match": f"revision_number={rev + 1}"})
    assert_error(response, 412, "RevisionNumberConstraintFailed",
                 f"Constrained to {rev + 1}, but current revision is {rev}")
    response = api.put(f"subnets/{subnet['id']}", {"subnet": {"name": "x"}},
                       headers={"If-Match": f"revision_number={rev}"})
    assert response.status_code == 200
    assert response.json()["subnet"]["revision_number"] == rev + 1


# -- delete ------------------------------------------------------------------------


def test_delete(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.23.0.0/24")
    assert api.delete(f"subnets/{subnet['id']}").status_code == 204
    assert_error(api.get(f"subnets/{subnet['id']}"), 404, "SubnetNotFound")
    assert_error(api.delete(f"subnets/{subnet['id']}"), 404, "SubnetNotFound")


def test_delete_in_use_then_free(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.24.0.0/24")
    port = api.port(net["id"])
    response = api.delete(f"subnets/{subnet['id']}")
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "SubnetInUse",
        "message": f"Unable to complete operation on subnet {subnet['id']}: One or more "
                   "ports have an IP allocation from this subnet.",
        "detail": ""}
    assert show(api, subnet["id"])["id"] == subnet["id"]
    assert api.delete(f"ports/{port['id']}").status_code == 204
    assert api.delete(f"subnets/{subnet['id']}").status_code == 204


def test_delete_with_dhcp_port_only(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.25.0.0/24")
    dhcp = api.port(net["id"], device_owner="network:dhcp")
    assert api.delete(f"subnets/{subnet['id']}").status_code == 204
    assert api.get(f"ports/{dhcp['id']}").json()["port"]["fixed_ips"] == []


def test_delete_slaac_subnet_releases_auto_addresses(api: Api, net: dict) -> None:
    v4 = api.subnet(net["id"], "10.26.0.0/24")
    v6 = api.subnet(net["id"], "2001:db8:26::/64", ipv6_ra_mode="slaac",
                    ipv6_address_mode="slaac")
    port = api.port(net["id"])
    assert {ip["subnet_id"] for ip in port["fixed_ips"]} == {v4["id"], v6["id"]}
    assert api.delete(f"subnets/{v6['id']}").status_code == 204
    ips = api.get(f"ports/{port['id']}").json()["port"]["fixed_ips"]
    assert [ip["subnet_id"] for ip in ips] == [v4["id"]]


# -- IPv6 -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["slaac", "dhcpv6-stateless", "dhcpv6-stateful"])
def test_ipv6_modes(api: Api, net: dict, mode: str) -> None:
    subnet = api.subnet(net["id"], "2001:db8:30::/64", ipv6_ra_mode=mode,
                        ipv6_address_mode=mode)
    assert subnet["ip_version"] == 6
    assert subnet["ipv6_ra_mode"] == mode and subnet["ipv6_address_mode"] == mode
    assert subnet["gateway_ip"] == "2001:db8:30::1"
    assert subnet["allocation_pools"] == [
        {"start": "2001:db8:30::2", "end": "2001:db8:30:0:ffff:ffff:ffff:ffff"}]


def test_ipv6_address_mode_only(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "2001:db8:31::/64", ipv6_address_mode="slaac")
    assert subnet["ipv6_ra_mode"] is None
    assert subnet["ipv6_address_mode"] == "slaac"


def test_ipv6_no_modes(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "2001:db8:32::/64")
    assert subnet["ipv6_ra_mode"] is None and subnet["ipv6_address_mode"] is None


def test_ipv6_modes_mismatch(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "2001:db8:33::/64", 6,
                           ipv6_ra_mode="slaac", ipv6_address_mode="dhcpv6-stateful")
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: ipv6_ra_mode set to 'slaac' with "
                 "ipv6_address_mode set to 'dhcpv6-stateful' is invalid. If both "
                 "attributes are set, they must be the same value.")


def test_ipv6_bad_mode(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "2001:db8:33::/64", 6, ipv6_ra_mode="magic")
    assert_error(response, 400, "HTTPBadRequest")


def test_ipv6_modes_on_ipv4(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "10.33.0.0/24", ipv6_ra_mode="slaac")
    assert_error(response, 400, "InvalidInput")


def test_ipv6_modes_need_dhcp(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "2001:db8:34::/64", 6, enable_dhcp=False,
                           ipv6_address_mode="slaac")
    assert_error(response, 400, "InvalidInput")
    subnet = api.subnet(net["id"], "2001:db8:34::/64", ipv6_address_mode="slaac")
    assert_error(put_subnet(api, subnet["id"], enable_dhcp=False), 400, "InvalidInput")


def test_slaac_needs_a_64(api: Api, net: dict) -> None:
    response = post_subnet(api, net["id"], "2001:db8:35::/80", 6,
                           ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: Invalid CIDR 2001:db8:35::/80 for IPv6 "
                 "address mode. OpenStack uses the EUI-64 address format, which requires "
                 "the prefix to be /64.")
    # Stateful DHCPv6 has no such restriction.
    subnet = api.subnet(net["id"], "2001:db8:35::/80", ipv6_ra_mode="dhcpv6-stateful",
                        ipv6_address_mode="dhcpv6-stateful")
    assert subnet["cidr"] == "2001:db8:35::/80"


def test_ipv6_cidr_is_normalized(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "2001:DB8:36:0::/64")
    assert subnet["cidr"] == "2001:db8:36::/64"


def test_ipv6_overlap(api: Api, net: dict) -> None:
    api.subnet(net["id"], "2001:db8:37::/64")
    response = post_subnet(api, net["id"], "2001:db8:37::/48", 6)
    assert_error(response, 400, "InvalidInput")


def test_ipv4_and_ipv6_subnets_on_one_network(api: Api, net: dict) -> None:
    v4 = api.subnet(net["id"], "10.38.0.0/24")
    v6 = api.subnet(net["id"], "2001:db8:38::/64")
    body = api.get("subnets", params={"network_id": net["id"]}).json()
    assert sorted(s["id"] for s in body["subnets"]) == sorted([v4["id"], v6["id"]])
    body = api.get("subnets", params={"network_id": net["id"], "ip_version": 6}).json()
    assert [s["id"] for s in body["subnets"]] == [v6["id"]]


def test_bulk_create_atomic_on_overlap(api: Api, net: dict) -> None:
    response = api.post("subnets", {"subnets": [
        {"network_id": net["id"], "ip_version": 4, "cidr": "10.39.0.0/24"},
        {"network_id": net["id"], "ip_version": 4, "cidr": "10.39.0.128/25"}]})
    assert_error(response, 400, "InvalidInput")
    assert api.get("subnets", params={"network_id": net["id"]}).json()["subnets"] == []
    assert api.get(f"networks/{net['id']}").json()["network"]["subnets"] == []


def test_bulk_create(api: Api, net: dict) -> None:
    response = api.post("subnets", {"subnets": [
        {"network_id": net["id"], "ip_version": 4, "cidr": "10.39.1.0/24"},
        {"network_id": net["id"], "ip_version": 6, "cidr": "2001:db8:39::/64"}]})
    assert response.status_code == 201, response.text
    ids = [s["id"] for s in response.json()["subnets"]]
    assert sorted(api.get(f"networks/{net['id']}").json()["network"]["subnets"]) == sorted(
        ids)


# -- ?shared= (the network's sharedness, as the caller sees it) -------------------

def _walk(api: Api, first: str, reverse: bool = False) -> list[str]:
    """Ids of every page, following next (or previous) links from the first page."""
    seen: list[str] = []
    response = api.get(first)
    for _ in range(10):
        assert response.status_code == 200, response.text
        body = response.json()
        page = [s["id"] for s in body["subnets"]]
        seen = page + seen if reverse else seen + page
        links = {link["rel"]: link["href"] for link in body.get("subnets_links", [])}
        rel = "previous" if reverse else "next"
        if not page or rel not in links:
            return seen
        response = api.client.get(links[rel])
    raise AssertionError("too many pages")


def test_shared_filter(api: Api) -> None:
    """Upstream filters subnets on their network being shared with the caller's project
    or with everyone (tempest's subnet list tests all send shared=False)."""
    tag = f"sh{uuid.uuid4().hex[:8]}"
    a = api.as_project(project())
    own_net = a.network()
    own = [a.subnet(own_net["id"], f"10.91.{i}.0/24", name=f"{tag}-{i}", tags=[tag])["id"]
           for i in (2, 0, 1)]
    own_by_name = [own[1], own[2], own[0]]
    public_net = api.network(shared=True)
    public = api.subnet(public_net["id"], "10.92.0.0/24", tags=[tag])["id"]
    to_a_net = api.network()
    assert share(api, to_a_net["id"], pid(a)).status_code == 201
    to_a = api.subnet(to_a_net["id"], "10.93.0.0/24", tags=[tag])["id"]
    to_other_net = api.network()
    assert share(api, to_other_net["id"], project()).status_code == 201
    to_other = api.subnet(to_other_net["id"], "10.94.0.0/24", tags=[tag])["id"]

    def found(client: Api, query: str) -> set[str]:
        response = client.get(f"subnets?tags={tag}&{query}")
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()["subnets"]}

    assert found(a, "") == {*own, public, to_a}
    assert found(a, "shared=false") == found(a, "shared=False") == set(own)
    assert found(a, "shared=true") == found(a, "shared=True") == {public, to_a}
    # For the admin's project, only the network shared with everyone is shared.
    assert found(api, "shared=true") == {public}
    assert found(api, "shared=false") == {*own, to_a, to_other}
    assert found(a, "shared=false&name=" + f"{tag}-0") == {own[1]}

    # With sorting and paging, forward and backward (tempest's search tests).
    for direction, expected in (("asc", own_by_name), ("desc", own_by_name[::-1])):
        query = f"subnets?tags={tag}&shared=False&sort_key=name&sort_dir={direction}"
        listed = a.get(query).json()["subnets"]
        assert [s["id"] for s in listed] == expected
        assert _walk(a, query + "&limit=1") == expected
        assert _walk(a, query + "&limit=2&page_reverse=True", reverse=True) == expected
        page = a.get(f"{query}&limit=1&marker={expected[0]}").json()["subnets"]
        assert [s["id"] for s in page] == [expected[1]]

    # Never shown, even when asked for.
    listed = a.get(f"subnets?tags={tag}&shared=true&fields=id&fields=shared").json()
    assert sorted(listed["subnets"], key=lambda s: s["id"]) == [
        {"id": i} for i in sorted((public, to_a))]
    assert "shared" not in show(a, to_a)
    assert "shared" not in a.get(f"subnets/{to_a}?fields=shared").json()["subnet"]


def test_shared_filter_bad_value_and_not_writable(api: Api, net: dict) -> None:
    assert_error(api.get("subnets?shared=maybe"), 400, "InvalidInput",
                 "Invalid input for operation: 'maybe' cannot be converted to boolean.")
    assert_error(api.get("subnets?sort_key=shared&sort_dir=asc"), 400, "HTTPBadRequest",
                 "['shared'] is invalid attribute for sort_keys")
    # Upstream declares it read-only (set by the network).
    assert_error(post_subnet(api, net["id"], "10.95.0.0/24", shared=True), 400,
                 "HTTPBadRequest", "Attribute 'shared' not allowed in POST")
    subnet = api.subnet(net["id"], "10.95.0.0/24")
    assert_error(put_subnet(api, subnet["id"], shared=True), 400, "HTTPBadRequest",
                 "Cannot update read-only attribute shared")
    assert show(api, subnet["id"])["revision_number"] == subnet["revision_number"]
