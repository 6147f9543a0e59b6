"""subnet-service-types: service_types on subnets (validation, policy) and IP
allocation that only uses the subnets serving the port's device_owner."""

from __future__ import annotations

import uuid

import httpx
import pytest

from server import Api, assert_error, error_of, post_port, put_port


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def subnet(api: Api, net: dict, cidr: str, types: list[str] | None = None,
           **attrs: object) -> dict:
    if types is not None:
        attrs["service_types"] = types
    return api.subnet(net["id"], cidr, **attrs)


def post_subnet(api: Api, net: dict, cidr: str, **attrs: object) -> httpx.Response:
    return api.post("subnets", {"subnet": {"network_id": net["id"], "cidr": cidr,
                                           "ip_version": 6 if ":" in cidr else 4,
                                           **attrs}})


def test_extension_listed(api: Api) -> None:
    body = api.get("extensions/subnet-service-types").json()["extension"]
    assert body["description"] == "Provides ability to set the subnet service_types field"


def test_default_create_update(api: Api) -> None:
    net = api.network()
    plain = subnet(api, net, "10.70.0.0/24")
    assert plain["service_types"] == []
    typed = subnet(api, net, "10.70.1.0/24", ["network:foo", "compute:bar"])
    assert sorted(typed["service_types"]) == ["compute:bar", "network:foo"]
    shown = api.get(f"subnets/{typed['id']}").json()["subnet"]
    assert sorted(shown["service_types"]) == ["compute:bar", "network:foo"]
    for types in (["network:foo"], ["network:foo", "neutron:x"], []):
        response = api.put(f"subnets/{plain['id']}", {"subnet": {"service_types": types}})
        assert response.status_code == 200, response.text
        assert sorted(response.json()["subnet"]["service_types"]) == sorted(types)
        listed = api.get("subnets", params={"id": plain["id"]}).json()["subnets"]
        assert sorted(listed[0]["service_types"]) == sorted(types)
    assert subnet(api, net, "10.70.2.0/24", None, service_types=None)["service_types"] == []


@pytest.mark.parametrize("types,status,type_,message", [
    (["foo"], 400, "InvalidSubnetServiceType",
     "Subnet service type foo does not correspond to a valid device owner."),
    ([1], 400, "InvalidInputSubnetServiceType", "Subnet service type 1 is not a string."),
    ("network:foo", 400, "HTTPBadRequest", "Subnet service types must be a list."),
    (["network:" + "x" * 250], 400, "InvalidSubnetServiceType", None),
])
def test_invalid(api: Api, types: object, status: int, type_: str,
                 message: str | None) -> None:
    net = api.network()
    assert_error(post_subnet(api, net, "10.71.0.0/24", service_types=types), status,
                 type_, message)
    assert api.get("subnets", params={"network_id": net["id"]}).json()["subnets"] == []
    plain = subnet(api, net, "10.71.0.0/24", ["network:ok"])
    response = api.put(f"subnets/{plain['id']}", {"subnet": {"service_types": types}})
    assert_error(response, status, type_, message)
    assert api.get(f"subnets/{plain['id']}").json()["subnet"]["service_types"] == [
        "network:ok"]


@pytest.mark.parametrize("value,accepted", [
    ("network:dhcp", True), ("neutron:LOADBALANCERV2", True), ("compute:nova", True),
    # Upstream accepts any value starting with one character of "compute:" (its list
    # of prefixes is extended with that string, character by character).
    ("test:type_1", True), ("trunk:subport", True), ("custom", True), (":x", True),
    ("foo", False), ("network", False), ("neutron", False), ("baremetal:none", False),
    ("Compute:nova", False), ("", False),
])
def test_upstreams_prefixes(api: Api, value: str, accepted: bool) -> None:
    net = api.network()
    response = post_subnet(api, net, "10.78.0.0/24", service_types=[value])
    if accepted:
        assert response.status_code == 201, response.text
        assert response.json()["subnet"]["service_types"] == [value]
        return
    assert_error(response, 400, "InvalidSubnetServiceType",
                 f"Subnet service type {value} does not correspond to a valid device "
                 "owner.")
    assert api.get("subnets", params={"network_id": net["id"]}).json()["subnets"] == []


def test_members_set_them(api: Api) -> None:
    """As upstream (its service_types rules are registered but never enforced): the
    subnet's owner sets them on create and update, and each update bumps the
    revision (neutron-tempest-plugin's test_revisions)."""
    member = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    net = member.network()
    made = subnet(member, net, "10.72.0.0/24", ["compute:nova"])
    assert made["service_types"] == ["compute:nova"]
    plain = member.subnet(net["id"], "10.72.1.0/24")
    assert plain["service_types"] == []
    response = member.put(f"subnets/{plain['id']}",
                          {"subnet": {"service_types": ["compute:"]}})
    assert response.status_code == 200, response.text
    updated = response.json()["subnet"]
    assert updated["service_types"] == ["compute:"]
    assert updated["revision_number"] > plain["revision_number"]
    cleared = member.put(f"subnets/{plain['id']}", {"subnet": {"service_types": []}})
    assert cleared.json()["subnet"]["revision_number"] > updated["revision_number"]
    assert member.get(f"subnets/{plain['id']}").json()["subnet"]["service_types"] == []


def test_not_a_filter(api: Api) -> None:
    assert_error(api.get("subnets", params={"service_types": "compute:nova"}), 400,
                 "HTTPBadRequest", "['service_types'] is invalid attribute for filtering")


# -- allocation ---------------------------------------------------------------------

def subnets_of(port: dict) -> list[str]:
    return [ip["subnet_id"] for ip in port["fixed_ips"]]


def test_port_gets_the_matching_subnet(api: Api) -> None:
    net = api.network()
    subnet(api, net, "10.73.0.0/24")
    subnet(api, net, "10.73.2.0/24", ["network:bar"])
    matching = subnet(api, net, "10.73.1.0/24", ["network:foo"])
    port = api.port(net["id"], device_owner="network:foo")
    assert subnets_of(port) == [matching["id"]]



def test_ports_of_a_test_owner_get_their_subnet(api: Api) -> None:
    """neutron-tempest-plugin's test_allocate_ips_are_from_correct_subnet: two subnets
    for made-up owners (test:type_1, test:type_2), each port on its own owner's."""
    net = api.network()
    first = subnet(api, net, "192.168.1.0/24", ["test:type_1", "network:distributed"])
    second = subnet(api, net, "192.168.2.0/24", ["test:type_2", "network:distributed"])
    assert subnets_of(api.port(net["id"], device_owner="test:type_1")) == [first["id"]]
    assert subnets_of(api.port(net["id"], device_owner="test:type_2")) == [second["id"]]

@pytest.mark.parametrize("fallback", [True, False])
def test_other_owners_fall_back_to_untyped_subnets(api: Api, fallback: bool) -> None:
    net = api.network()
    plain = subnet(api, net, "10.74.0.0/24") if fallback else None
    subnet(api, net, "10.74.1.0/24", ["network:foo"])
    for owner in ("compute:foo", ""):
        response = post_port(api, net["id"], device_owner=owner)
        if fallback:
            assert response.status_code == 201, response.text
            assert subnets_of(response.json()["port"]) == [plain["id"]]
        else:
            assert_error(response, 409, "IpAddressGenerationFailureNoMatchingSubnet",
                         f"No valid service subnet for the given device owner, network "
                         f"{net['id']}, service type {owner}.")
    if not fallback:
        # Even a port asking for no address: the network has no subnet for it.
        assert post_port(api, net["id"], device_owner="compute:foo",
                         fixed_ips=[]).status_code == 409
        assert api.get("ports", params={"network_id": net["id"]}).json()["ports"] == []


@pytest.mark.parametrize("fallback", [True, False])
def test_exhausted_service_subnet(api: Api, fallback: bool) -> None:
    net = api.network()
    plain = subnet(api, net, "10.75.0.0/24") if fallback else None
    typed = subnet(api, net, "10.75.1.0/24", ["compute:foo"])
    assert api.put(f"subnets/{typed['id']}",
                   {"subnet": {"allocation_pools": []}}).status_code == 200
    response = post_port(api, net["id"], device_owner="compute:foo")
    if fallback:
        assert subnets_of(response.json()["port"]) == [plain["id"]]
    else:
        assert_error(response, 409, "IpAddressGenerationFailure")


@pytest.mark.parametrize("enable_dhcp", [True, False])
def test_dhcp_port_on_a_compute_subnet(api: Api, enable_dhcp: bool) -> None:
    net = api.network()
    typed = subnet(api, net, "10.76.0.0/24", ["compute:nova"], enable_dhcp=enable_dhcp)
    response = post_port(api, net["id"], device_owner="network:dhcp",
                         fixed_ips=[{"subnet_id": typed["id"]}])
    if enable_dhcp:
        assert subnets_of(response.json()["port"]) == [typed["id"]]
    else:
        assert_error(response, 409, "IpAddressGenerationFailureNoMatchingSubnet")


def test_naming_a_subnet_that_does_not_serve_the_port(api: Api) -> None:
    net = api.network()
    subnet(api, net, "10.77.0.0/24")
    typed = subnet(api, net, "10.77.1.0/24", ["compute:nova"])
    response = post_port(api, net["id"], device_owner="compute:other",
                         fixed_ips=[{"subnet_id": typed["id"]}])
    assert_error(response, 400, "InvalidInput")
    assert typed["id"] in error_of(response)["message"]
    response = post_port(api, net["id"], device_owner="compute:other",
                         fixed_ips=[{"ip_address": "10.77.1.20"}])
    assert_error(response, 400, "InvalidIpForNetwork")


def test_update_fixed_ips(api: Api) -> None:
    net = api.network()
    plain = subnet(api, net, "10.78.0.0/24")
    typed = subnet(api, net, "10.78.1.0/24", ["compute:foo"])
    port = api.port(net["id"], device_owner="compute:foo")
    assert subnets_of(port) == [typed["id"]]
    same = put_port(api, port["id"], fixed_ips=port["fixed_ips"])
    assert same.status_code == 200, same.text
    assert same.json()["port"]["fixed_ips"] == port["fixed_ips"]
    more = put_port(api, port["id"], fixed_ips=port["fixed_ips"] + [
        {"subnet_id": plain["id"]}])
    assert subnets_of(more.json()["port"]) == [typed["id"], plain["id"]]
    other = api.port(net["id"], device_owner="compute:bar")
    response = put_port(api, other["id"], fixed_ips=[{"subnet_id": typed["id"]}])
    assert_error(response, 400, "InvalidInput")
    assert api.get(f"ports/{other['id']}").json()["port"]["fixed_ips"] == other[
        "fixed_ips"]


def test_slaac_subnet_addresses_only_the_ports_it_serves(api: Api) -> None:
    net = api.network()
    subnet(api, net, "10.79.0.0/24")
    nova = api.port(net["id"], device_owner="compute:nova")
    other = api.port(net["id"], device_owner="compute:other")
    slaac = subnet(api, net, "2001:db8:79::/64", ["compute:nova"],
                   ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert slaac["id"] in subnets_of(api.get(f"ports/{nova['id']}").json()["port"])
    assert slaac["id"] not in subnets_of(api.get(f"ports/{other['id']}").json()["port"])
    later = api.port(net["id"], device_owner="compute:other")
    assert slaac["id"] not in subnets_of(later)


def test_router_gateway_on_its_service_subnet(api: Api) -> None:
    ext = api.network(**{"router:external": True})
    subnet(api, ext, "10.80.0.0/24", ["network:floatingip"])
    gw = subnet(api, ext, "10.80.1.0/24", ["network:router_gateway"])
    router = api.create("router", external_gateway_info={"network_id": ext["id"]})
    ips = router["external_gateway_info"]["external_fixed_ips"]
    assert [ip["subnet_id"] for ip in ips] == [gw["id"]]
