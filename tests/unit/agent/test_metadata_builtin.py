"""The built-in upstream's trees (what cloud-init and curl see without Nova)."""

from __future__ import annotations

import json

from neutrino.agent.metadata import builtin

INSTANCE = "8d3d5b62-07a0-4d51-bc1e-1d3e4e7ba7a3"
PORT = "5f1e2d3c-4b5a-4697-8887-766655544433"
NET = "6a1f1c1e-8a1b-4a7e-9d6c-5b0f0f0f0f01"
SUB4 = "11111111-1111-4111-8111-111111111111"
SUB6 = "22222222-2222-4222-8222-222222222222"
SUB_STATIC = "33333333-3333-4333-8333-333333333333"


def details(**port_extra: object) -> dict:
    return {
        "instance_id": INSTANCE, "project_id": "proj-1",
        "port": {"id": PORT, "name": "", "network_id": NET,
                 "mac_address": "fa:16:3e:00:00:05", "device_owner": "compute:nova",
                 "fixed_ips": [{"subnet_id": SUB4, "ip_address": "10.0.0.5"},
                               {"subnet_id": SUB6, "ip_address": "2001:db8::5"}],
                 "hostname": "host-10-0-0-5", "fqdn": "host-10-0-0-5.openstacklocal",
                 **port_extra},
        "network": {"id": NET, "name": "private", "mtu": 1450},
        "subnets": [
            {"id": SUB4, "cidr": "10.0.0.0/24", "ip_version": 4,
             "gateway_ip": "10.0.0.1", "enable_dhcp": True, "ipv6_address_mode": None,
             "ipv6_ra_mode": None, "dns_nameservers": ["192.0.2.53"], "host_routes": []},
            {"id": SUB6, "cidr": "2001:db8::/64", "ip_version": 6,
             "gateway_ip": "2001:db8::1", "enable_dhcp": True,
             "ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac",
             "dns_nameservers": [], "host_routes": []}],
        "floating_ips": []}


def get(path: str, d: dict | None = None) -> tuple[int, str, str]:
    status, content_type, body = builtin.respond(d or details(), path)
    return status, content_type, body.decode()


def test_openstack_listing_and_meta_data_json() -> None:
    status, _, body = get("/openstack")
    assert status == 200 and body.splitlines()[-1] == "latest"
    assert "2012-08-10" in body.splitlines()
    assert get("/openstack/latest/")[2].splitlines() == [
        "meta_data.json", "network_data.json", "vendor_data.json", "vendor_data2.json"]
    status, content_type, body = get("/openstack/latest/meta_data.json")
    assert (status, content_type) == (200, "application/json")
    meta = json.loads(body)
    assert meta["uuid"] == INSTANCE
    assert meta["hostname"] == "host-10-0-0-5"
    assert meta["name"] == "host-10-0-0-5"    # the port has no name
    assert meta["project_id"] == "proj-1"
    assert meta["launch_index"] == 0 and meta["public_keys"] == {}
    # Every version serves the same document; a named port gives its name.
    named = json.loads(get("/openstack/2013-10-17/meta_data.json",
                           details(name="web-1", hostname="web-1"))[2])
    assert (named["name"], named["hostname"]) == ("web-1", "web-1")


def test_network_data_json() -> None:
    data = json.loads(get("/openstack/latest/network_data.json")[2])
    assert data["links"] == [{"id": "tap" + PORT[:11], "vif_id": PORT, "type": "bridge",
                              "mtu": 1450, "ethernet_mac_address": "fa:16:3e:00:00:05"}]
    assert data["networks"] == [
        {"id": "network0", "type": "ipv4_dhcp", "link": "tap" + PORT[:11],
         "network_id": NET},
        {"id": "network1", "type": "ipv6_slaac", "link": "tap" + PORT[:11],
         "network_id": NET, "ip_address": "2001:db8::5",
         "netmask": "ffff:ffff:ffff:ffff::",
         "routes": [{"network": "::", "netmask": "::", "gateway": "2001:db8::1"}],
         "services": []}]
    assert data["services"] == [{"type": "dns", "address": "192.0.2.53"}]


def test_network_data_static_subnet_has_address_routes_and_dns() -> None:
    d = details()
    d["port"]["fixed_ips"] = [{"subnet_id": SUB_STATIC, "ip_address": "192.168.7.9"}]
    d["subnets"] = [{"id": SUB_STATIC, "cidr": "192.168.7.0/24", "ip_version": 4,
                     "gateway_ip": "192.168.7.1", "enable_dhcp": False,
                     "ipv6_address_mode": None, "ipv6_ra_mode": None,
                     "dns_nameservers": ["192.0.2.1", "0.0.0.0"],
                     "host_routes": [{"destination": "172.16.0.0/12",
                                      "nexthop": "192.168.7.254"}]}]
    [network] = json.loads(get("/openstack/latest/network_data.json", d)[2])["networks"]
    assert network["type"] == "ipv4"
    assert (network["ip_address"], network["netmask"]) == ("192.168.7.9", "255.255.255.0")
    assert network["routes"] == [
        {"network": "172.16.0.0", "netmask": "255.240.0.0", "gateway": "192.168.7.254"},
        {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "192.168.7.1"}]
    assert network["services"] == [{"type": "dns", "address": "192.0.2.1"}]


def test_ec2_tree() -> None:
    assert get("/")[2].splitlines()[-1] == "latest"
    assert get("/latest")[2] == "meta-data/"
    keys = get("/latest/meta-data/")[2].splitlines()
    assert {"instance-id", "local-ipv4", "hostname", "local-hostname",
            "public-ipv4"} <= set(keys)
    assert get("/latest/meta-data/instance-id")[2] == "i-8d3d5b62"
    assert get("/2009-04-04/meta-data/local-ipv4")[2] == "10.0.0.5"
    assert get("/latest/meta-data/hostname")[2] == "host-10-0-0-5.openstacklocal"
    assert get("/latest/meta-data/local-hostname")[2] == "host-10-0-0-5.openstacklocal"
    assert get("/latest/meta-data/public-ipv4") == (200, builtin.TEXT, "")
    floating = details()
    floating["floating_ips"] = ["172.24.4.10"]
    assert get("/latest/meta-data/public-ipv4", floating)[2] == "172.24.4.10"
    assert get("/latest/meta-data/mac")[2] == "fa:16:3e:00:00:05"
    assert get("/latest/meta-data/placement/")[2] == "availability-zone"
    assert get("/latest/meta-data/placement/availability-zone")[2] == "nova"


def test_unknown_paths_are_404() -> None:
    for path in ("/openstack/1999-01-01/meta_data.json", "/openstack/latest/user_data",
                 "/openstack/latest/meta_data.json/x", "/latest/user-data",
                 "/latest/meta-data/nope", "/9.9/meta-data/", "/latest/meta-data/../x"):
        assert get(path)[0] == 404, path
