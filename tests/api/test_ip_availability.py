"""network-ip-availability(-details): pool sizes and used addresses per network and
subnet, filters, policy, IPv6 sizes beyond 64 bits."""

from __future__ import annotations

import openstack

from server import Api, assert_error


def availability(api: Api, network_id: str) -> dict:
    response = api.get(f"network-ip-availabilities/{network_id}")
    assert response.status_code == 200, response.text
    return response.json()["network_ip_availability"]


def test_show_counts_pools_and_allocations(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network(name="avail-net")
    subnet = api.subnet(net["id"], "10.40.0.0/24", name="avail-sub",
                        allocation_pools=[{"start": "10.40.0.10", "end": "10.40.0.19"},
                                          {"start": "10.40.0.100", "end": "10.40.0.104"}])
    api.port(net["id"])
    api.port(net["id"])
    # An address outside the pools is used, but not in a pool.
    api.port(net["id"], fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.40.0.200"}])
    item = availability(api, net["id"])
    assert item["network_id"] == net["id"]
    assert item["network_name"] == "avail-net"
    assert item["project_id"] == item["tenant_id"] == net["project_id"]
    assert item["total_ips"] == 15
    assert item["used_ips"] == 3
    assert item["subnet_ip_availability"] == [{
        "subnet_id": subnet["id"], "subnet_name": "avail-sub", "ip_version": 4,
        "cidr": "10.40.0.0/24", "total_ips": 15, "used_ips": 3,
        "ip_availability_details": {"total_ips_in_subnet": 254,
                                    "total_ips_in_allocation_pool": 15,
                                    "used_ips_in_subnet": 3,
                                    "used_ips_in_allocation_pool": 2}}]
    assert item["ip_availability_details"] == {
        "total_ips_in_subnet": 254, "total_ips_in_allocation_pool": 15,
        "used_ips_in_subnet": 3, "used_ips_in_allocation_pool": 2}


def test_network_without_subnets_and_ipv6_sizes(own_project_admin: Api) -> None:
    api = own_project_admin
    empty = api.network()
    item = availability(api, empty["id"])
    assert (item["total_ips"], item["used_ips"], item["subnet_ip_availability"]) == (0, 0, [])
    net = api.network()
    api.subnet(net["id"], "10.41.0.0/24")
    api.subnet(net["id"], "fd00:41::/64", ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    api.port(net["id"])
    item = availability(api, net["id"])
    v4, v6 = sorted(item["subnet_ip_availability"], key=lambda s: s["ip_version"])
    assert (v4["ip_version"], v4["total_ips"], v4["used_ips"]) == (4, 253, 1)
    # The default IPv6 pool is the /64 minus the subnet-router anycast address
    # (the gateway, ::1): 2**64 - 2 addresses, beyond a 64-bit signed integer.
    assert (v6["ip_version"], v6["total_ips"], v6["used_ips"]) == (6, 2**64 - 2, 1)
    assert v6["ip_availability_details"]["total_ips_in_subnet"] == 2**64
    assert item["total_ips"] == 253 + 2**64 - 2
    assert item["used_ips"] == 2


def test_list_filters(own_project_admin: Api) -> None:
    api = own_project_admin
    project = api.network()["project_id"]
    v4 = api.network(name="avail-v4")
    api.subnet(v4["id"], "10.42.0.0/24")
    v6 = api.network(name="avail-v6")
    api.subnet(v6["id"], "fd00:42::/64")
    bare = api.network(name="avail-bare")

    def ids(**params: object) -> set[str]:
        response = api.get("network-ip-availabilities", params=dict(params,
                                                                   project_id=project))
        assert response.status_code == 200, response.text
        return {i["network_id"] for i in response.json()["network_ip_availabilities"]}

    assert {v4["id"], v6["id"], bare["id"]} <= ids()
    assert ids(ip_version=4) == {v4["id"]}
    assert ids(ip_version=6) == {v6["id"]}
    assert ids(network_name="avail-bare") == {bare["id"]}
    assert ids(network_id=[v4["id"], v6["id"]]) == {v4["id"], v6["id"]}
    assert ids(tenant_id="nobody") == set()
    response = api.get("network-ip-availabilities",
                       params={"network_id": v4["id"], "fields": ["network_id", "used_ips"]})
    assert response.json()["network_ip_availabilities"] == [
        {"network_id": v4["id"], "used_ips": 0}]
    assert_error(api.get("network-ip-availabilities", params={"cidr": "x"}), 400,
                 "HTTPBadRequest")


def test_ip_version_filter_shows_only_those_subnets(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network()
    api.subnet(net["id"], "10.43.0.0/24")
    api.subnet(net["id"], "fd00:43::/64")
    response = api.get("network-ip-availabilities",
                       params={"network_id": net["id"], "ip_version": 6})
    (item,) = response.json()["network_ip_availabilities"]
    assert [s["ip_version"] for s in item["subnet_ip_availability"]] == [6]


def test_admin_only_and_errors(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network(shared=True)
    member = api.as_project(net["project_id"])
    assert_error(member.get(f"network-ip-availabilities/{net['id']}"), 404,
                 "NetworkNotFound")
    response = member.get("network-ip-availabilities")
    assert response.status_code == 200
    assert response.json() == {"network_ip_availabilities": []}
    missing = "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50"
    assert_error(api.get(f"network-ip-availabilities/{missing}"), 404, "NetworkNotFound",
                 f"Network {missing} could not be found.")
    assert_error(api.post("network-ip-availabilities", {}), 405, "HTTPMethodNotAllowed")
    assert_error(api.delete(f"network-ip-availabilities/{net['id']}"), 405,
                 "HTTPMethodNotAllowed")


def test_pagination_by_network_id(own_project_admin: Api) -> None:
    api = own_project_admin
    nets = sorted(api.network()["id"] for _ in range(3))
    project = api.get(f"networks/{nets[0]}").json()["network"]["project_id"]
    response = api.get("network-ip-availabilities",
                       params={"project_id": project, "limit": 2, "sort_key": "network_id",
                               "sort_dir": "asc"})
    body = response.json()
    assert [i["network_id"] for i in body["network_ip_availabilities"]] == nets[:2]
    assert body["network_ip_availabilities_links"][0]["rel"] == "next"


def test_openstacksdk_reads_availability(own_project_admin: Api,
                                         conn: openstack.connection.Connection) -> None:
    net = own_project_admin.network(name="avail-sdk")
    own_project_admin.subnet(net["id"], "10.44.0.0/28")
    found = conn.network.get_network_ip_availability(net["id"])
    assert found.network_name == "avail-sdk"
    assert found.total_ips == 13
    assert found.subnet_ip_availability[0]["cidr"] == "10.44.0.0/28"
    listed = {a.network_id for a in conn.network.network_ip_availabilities(
        project_id=net["project_id"])}
    assert net["id"] in listed
