"""IP address management over HTTP: where addresses come from, exhaustion and reuse,
dual-stack and IPv6 address modes, concurrent allocation."""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from server import Api, error_of, post_port


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def ports_on(api: Api, network_id: str) -> list[dict]:
    return api.get("ports", params={"network_id": network_id}).json()["ports"]


def in_pools(address: str, pools: list[dict]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ipaddress.ip_address(p["start"]) <= ip <= ipaddress.ip_address(p["end"])
               for p in pools)


def eui64(cidr: str, mac: str) -> str:
    """Modified EUI-64 (RFC 4291 appendix A), computed independently of the server."""
    octets = bytes.fromhex(mac.replace(":", ""))
    iid = bytes([octets[0] ^ 0x02]) + octets[1:3] + b"\xff\xfe" + octets[3:]
    net = ipaddress.IPv6Network(cidr)
    return str(net.network_address + int.from_bytes(iid, "big"))


@pytest.fixture
def net(api: Api) -> dict:
    return api.network()


# -- where addresses come from -----------------------------------------------------------


def test_addresses_come_from_pools_only(api: Api, net: dict) -> None:
    pools = [{"start": "10.40.0.10", "end": "10.40.0.11"},
             {"start": "10.40.0.200", "end": "10.40.0.201"}]
    subnet = api.subnet(net["id"], "10.40.0.0/24", allocation_pools=pools)
    got = []
    for _ in range(4):
        port = api.port(net["id"])
        assert port["fixed_ips"][0]["subnet_id"] == subnet["id"]
        got.append(port["fixed_ips"][0]["ip_address"])
    assert sorted(got, key=ipaddress.ip_address) == [
        "10.40.0.10", "10.40.0.11", "10.40.0.200", "10.40.0.201"]
    response = post_port(api, net["id"])
    assert response.status_code == 409


def test_gateway_never_allocated(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.41.0.0/29")   # pool .2-.6, gateway .1
    got = {api.port(net["id"])["fixed_ips"][0]["ip_address"] for _ in range(5)}
    assert got == {f"10.41.0.{i}" for i in range(2, 7)}
    assert subnet["gateway_ip"] not in got


def test_exhaustion(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.42.0.0/29")
    assert subnet["allocation_pools"] == [{"start": "10.42.0.2", "end": "10.42.0.6"}]
    ports = [api.port(net["id"]) for _ in range(5)]
    assert len({p["fixed_ips"][0]["ip_address"] for p in ports}) == 5
    response = post_port(api, net["id"], name="sixth")
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "IpAddressGenerationFailure",
        "message": f"No more IP addresses available on network {net['id']}.",
        "detail": ""}
    assert len(ports_on(api, net["id"])) == 5
    # Asking for the subnet explicitly fails the same way.
    response = post_port(api, net["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
    assert response.status_code == 409
    assert error_of(response)["type"] == "IpAddressGenerationFailure"
    # So does adding an address to an existing port, which keeps what it had.
    response = api.put(f"ports/{ports[0]['id']}", {"port": {"fixed_ips": ports[0][
        "fixed_ips"] + [{"subnet_id": subnet["id"]}]}})
    assert response.status_code == 409
    assert error_of(response)["type"] == "IpAddressGenerationFailure"
    shown = api.get(f"ports/{ports[0]['id']}").json()["port"]
    assert shown["fixed_ips"] == ports[0]["fixed_ips"]
    assert len(ports_on(api, net["id"])) == 5
    # A port without addresses can still be made.
    assert api.port(net["id"], fixed_ips=[])["fixed_ips"] == []
    # Freeing one address makes exactly that one available again.
    freed = ports[2]["fixed_ips"][0]
    assert api.delete(f"ports/{ports[2]['id']}").status_code == 204
    assert api.port(net["id"])["fixed_ips"] == [freed]


def test_explicit_address_reusable_after_delete(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.43.0.0/24")
    fixed = [{"subnet_id": subnet["id"], "ip_address": "10.43.0.77"}]
    port = api.port(net["id"], fixed_ips=fixed)
    assert post_port(api, net["id"], fixed_ips=fixed).status_code == 409
    assert api.delete(f"ports/{port['id']}").status_code == 204
    assert api.port(net["id"], fixed_ips=fixed)["fixed_ips"] == fixed


def test_same_address_on_two_networks(api: Api, net: dict) -> None:
    other = api.network()
    a = api.subnet(net["id"], "10.44.0.0/24")
    b = api.subnet(other["id"], "10.44.0.0/24")
    pa = api.port(net["id"], fixed_ips=[{"ip_address": "10.44.0.9"}])
    pb = api.port(other["id"], fixed_ips=[{"ip_address": "10.44.0.9"}])
    assert pa["fixed_ips"] == [{"subnet_id": a["id"], "ip_address": "10.44.0.9"}]
    assert pb["fixed_ips"] == [{"subnet_id": b["id"], "ip_address": "10.44.0.9"}]


def test_second_v4_subnet_used_when_first_is_full(api: Api, net: dict) -> None:
    first = api.subnet(net["id"], "10.45.0.0/30")     # one address: .2
    second = api.subnet(net["id"], "10.45.1.0/30")
    a = api.port(net["id"])
    b = api.port(net["id"])
    assert {a["fixed_ips"][0]["subnet_id"], b["fixed_ips"][0]["subnet_id"]} == {
        first["id"], second["id"]}
    assert len(a["fixed_ips"]) == len(b["fixed_ips"]) == 1
    assert post_port(api, net["id"]).status_code == 409


def test_pool_update_governs_new_allocations(api: Api, net: dict) -> None:
    subnet = api.subnet(net["id"], "10.46.0.0/24")
    api.put(f"subnets/{subnet['id']}", {"subnet": {"allocation_pools": [
        {"start": "10.46.0.100", "end": "10.46.0.100"}]}})
    assert api.port(net["id"])["fixed_ips"][0]["ip_address"] == "10.46.0.100"
    assert post_port(api, net["id"]).status_code == 409


def test_no_gateway_subnet_allocates_first_address(api: Api, net: dict) -> None:
    api.subnet(net["id"], "10.47.0.0/30", gateway_ip=None)
    got = {api.port(net["id"])["fixed_ips"][0]["ip_address"] for _ in range(2)}
    assert got == {"10.47.0.1", "10.47.0.2"}


# -- IPv6 ------------------------------------------------------------------------


def test_dual_stack_slaac(api: Api, net: dict) -> None:
    v4 = api.subnet(net["id"], "10.48.0.0/24")
    v6 = api.subnet(net["id"], "2001:db8:48::/64", ipv6_ra_mode="slaac",
                    ipv6_address_mode="slaac")
    port = api.port(net["id"], mac_address="fa:16:3e:12:34:56")
    by_subnet = {ip["subnet_id"]: ip["ip_address"] for ip in port["fixed_ips"]}
    assert set(by_subnet) == {v4["id"], v6["id"]}
    assert in_pools(by_subnet[v4["id"]], v4["allocation_pools"])
    assert by_subnet[v6["id"]] == "2001:db8:48:0:f816:3eff:fe12:3456"
    assert by_subnet[v6["id"]] == eui64("2001:db8:48::/64", "fa:16:3e:12:34:56")


def test_slaac_address_follows_random_mac(api: Api, net: dict) -> None:
    v6 = api.subnet(net["id"], "2001:db8:49::/64", ipv6_address_mode="slaac")
    port = api.port(net["id"])
    assert port["fixed_ips"] == [{"subnet_id": v6["id"],
                                  "ip_address": eui64(v6["cidr"], port["mac_address"])}]


def test_dhcpv6_stateless_is_eui64(api: Api, net: dict) -> None:
    v6 = api.subnet(net["id"], "2001:db8:50::/64", ipv6_ra_mode="dhcpv6-stateless",
                    ipv6_address_mode="dhcpv6-stateless")
    port = api.port(net["id"], mac_address="fa:16:3e:ab:cd:ef")
    assert port["fixed_ips"] == [{"subnet_id": v6["id"],
                                  "ip_address": "2001:db8:50:0:f816:3eff:feab:cdef"}]


def test_dhcpv6_stateful_uses_pool(api: Api, net: dict) -> None:
    pools = [{"start": "2001:db8:51::10", "end": "2001:db8:51::1f"}]
    v6 = api.subnet(net["id"], "2001:db8:51::/64", ipv6_ra_mode="dhcpv6-stateful",
                    ipv6_address_mode="dhcpv6-stateful", allocation_pools=pools)
    port = api.port(net["id"], mac_address="fa:16:3e:12:34:57")
    assert len(port["fixed_ips"]) == 1
    fixed = port["fixed_ips"][0]
    assert fixed["subnet_id"] == v6["id"]
    assert in_pools(fixed["ip_address"], pools)
    assert fixed["ip_address"] != eui64(v6["cidr"], port["mac_address"])


def test_ipv6_without_modes_uses_pool(api: Api, net: dict) -> None:
    v6 = api.subnet(net["id"], "2001:db8:52::/64")
    port = api.port(net["id"])
    assert in_pools(port["fixed_ips"][0]["ip_address"], v6["allocation_pools"])


def test_explicit_address_on_slaac_subnet_refused(api: Api, net: dict) -> None:
    v6 = api.subnet(net["id"], "2001:db8:53::/64", ipv6_ra_mode="slaac",
                    ipv6_address_mode="slaac")
    response = post_port(api, net["id"], fixed_ips=[
        {"subnet_id": v6["id"], "ip_address": "2001:db8:53::99"}])
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "AllocationOnAutoAddressSubnet",
        "message": "IPv6 address 2001:db8:53::99 cannot be directly assigned to a port on "
                   f"subnet {v6['id']} as the subnet is configured for automatic "
                   "addresses",
        "detail": ""}
    assert ports_on(api, net["id"]) == []
    # The network's DHCP port neither; a router interface may.
    response = post_port(api, net["id"], device_owner="network:dhcp", fixed_ips=[
        {"subnet_id": v6["id"], "ip_address": "2001:db8:53::99"}])
    assert error_of(response)["type"] == "AllocationOnAutoAddressSubnet"
    router = api.port(net["id"], device_owner="network:router_interface", fixed_ips=[
        {"subnet_id": v6["id"], "ip_address": "2001:db8:53::1"}])
    assert router["fixed_ips"] == [{"subnet_id": v6["id"], "ip_address": "2001:db8:53::1"}]


def test_slaac_by_subnet_id(api: Api, net: dict) -> None:
    v4 = api.subnet(net["id"], "10.54.0.0/24")
    v6 = api.subnet(net["id"], "2001:db8:54::/64", ipv6_address_mode="slaac")
    port = api.port(net["id"], mac_address="fa:16:3e:00:54:01",
                    fixed_ips=[{"subnet_id": v6["id"]}])
    assert port["fixed_ips"] == [{"subnet_id": v6["id"],
                                  "ip_address": "2001:db8:54:0:f816:3eff:fe00:5401"}]
    assert v4["id"] not in {ip["subnet_id"] for ip in port["fixed_ips"]}


def test_dual_stack_stateful(api: Api, net: dict) -> None:
    v4 = api.subnet(net["id"], "10.55.0.0/24")
    v6 = api.subnet(net["id"], "2001:db8:55::/64", ipv6_ra_mode="dhcpv6-stateful",
                    ipv6_address_mode="dhcpv6-stateful")
    port = api.port(net["id"])
    assert sorted(ip["subnet_id"] for ip in port["fixed_ips"]) == sorted(
        [v4["id"], v6["id"]])


def test_ipv6_explicit_address_normalized(api: Api, net: dict) -> None:
    v6 = api.subnet(net["id"], "2001:db8:56::/64")
    port = api.port(net["id"], fixed_ips=[{"ip_address": "2001:DB8:56:0::0:10"}])
    assert port["fixed_ips"] == [{"subnet_id": v6["id"], "ip_address": "2001:db8:56::10"}]
    response = post_port(api, net["id"], fixed_ips=[{"ip_address": "2001:db8:56::10"}])
    assert response.status_code == 409
    assert error_of(response)["type"] == "IpAddressAlreadyAllocated"


def test_ipv6_subnet_router_anycast_refused(api: Api, net: dict) -> None:
    v6 = api.subnet(net["id"], "2001:db8:57::/64")
    response = post_port(api, net["id"], fixed_ips=[{"subnet_id": v6["id"],
                                                     "ip_address": "2001:db8:57::"}])
    assert response.status_code == 400
    assert error_of(response)["type"] == "InvalidIpForSubnet"


def test_mac_update_moves_slaac_address(api: Api, net: dict) -> None:
    """The EUI-64 address is derived from the MAC; changing one changes the other."""
    v6 = api.subnet(net["id"], "2001:db8:58::/64", ipv6_address_mode="slaac")
    port = api.port(net["id"], mac_address="fa:16:3e:00:58:01")
    response = api.put(f"ports/{port['id']}",
                       {"port": {"mac_address": "fa:16:3e:00:58:02"}})
    assert response.status_code == 200, response.text
    assert response.json()["port"]["fixed_ips"] == [
        {"subnet_id": v6["id"], "ip_address": "2001:db8:58:0:f816:3eff:fe00:5802"}]


# -- concurrency -------------------------------------------------------------------


def test_concurrent_allocations_never_collide(api: Api, net: dict) -> None:
    api.subnet(net["id"], "10.59.0.0/28")   # pool .2-.14: 13 addresses
    project = api.client.headers["X-Project-Id"]
    clients = [api.as_project(project, ["admin"]) for _ in range(16)]

    def create(client: Api) -> httpx.Response:
        return post_port(client, net["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, clients))
    ok = [r.json()["port"] for r in responses if r.status_code == 201]
    failed = [r for r in responses if r.status_code != 201]
    assert len(ok) == 13, [r.text for r in failed]
    assert all(r.status_code == 409 for r in failed), [r.text for r in failed]
    assert all(error_of(r)["type"] == "IpAddressGenerationFailure" for r in failed)
    addresses = [p["fixed_ips"][0]["ip_address"] for p in ok]
    assert len(set(addresses)) == 13
    assert len(ports_on(api, net["id"])) == 13


# -- automatic addresses are implicit ----------------------------------------------------


def dual_stack(api: Api, net: dict, v4_cidr: str, v6_cidr: str) -> tuple[dict, dict]:
    v4 = api.subnet(net["id"], v4_cidr)
    v6 = api.subnet(net["id"], v6_cidr, ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    return v4, v6


def test_explicit_v4_still_gets_slaac_address(api: Api, net: dict) -> None:
    v4, v6 = dual_stack(api, net, "10.60.0.0/24", "2001:db8:60::/64")
    port = api.port(net["id"], mac_address="fa:16:3e:00:60:01",
                    fixed_ips=[{"ip_address": "10.60.0.9"}])
    assert sorted(port["fixed_ips"], key=lambda ip: ip["subnet_id"]) == sorted(
        [{"subnet_id": v4["id"], "ip_address": "10.60.0.9"},
         {"subnet_id": v6["id"], "ip_address": "2001:db8:60:0:f816:3eff:fe00:6001"}],
        key=lambda ip: ip["subnet_id"])


def test_empty_fixed_ips_still_gets_slaac_address(api: Api, net: dict) -> None:
    _, v6 = dual_stack(api, net, "10.61.0.0/24", "2001:db8:61::/64")
    port = api.port(net["id"], mac_address="fa:16:3e:00:61:01", fixed_ips=[])
    assert port["fixed_ips"] == [{"subnet_id": v6["id"],
                                  "ip_address": "2001:db8:61:0:f816:3eff:fe00:6101"}]


def test_router_port_gets_no_implicit_slaac_address(api: Api, net: dict) -> None:
    v4, _ = dual_stack(api, net, "10.62.0.0/24", "2001:db8:62::/64")
    port = api.port(net["id"], device_owner="network:router_interface",
                    fixed_ips=[{"subnet_id": v4["id"], "ip_address": "10.62.0.1"}])
    assert port["fixed_ips"] == [{"subnet_id": v4["id"], "ip_address": "10.62.0.1"}]


def test_update_keeps_slaac_address(api: Api, net: dict) -> None:
    v4, v6 = dual_stack(api, net, "10.63.0.0/24", "2001:db8:63::/64")
    port = api.port(net["id"], mac_address="fa:16:3e:00:63:01")
    slaac = {"subnet_id": v6["id"], "ip_address": "2001:db8:63:0:f816:3eff:fe00:6301"}
    assert slaac in port["fixed_ips"]
    response = api.put(f"ports/{port['id']}", {"port": {"fixed_ips": [
        {"subnet_id": v4["id"], "ip_address": "10.63.0.99"}]}})
    assert response.status_code == 200, response.text
    fixed = response.json()["port"]["fixed_ips"]
    assert sorted(ip["ip_address"] for ip in fixed) == sorted(
        ["10.63.0.99", slaac["ip_address"]])


def test_new_slaac_subnet_addresses_existing_ports(api: Api, net: dict) -> None:
    api.subnet(net["id"], "10.64.0.0/24")
    port = api.port(net["id"], mac_address="fa:16:3e:00:64:01")
    router = api.port(net["id"], device_owner="network:router_interface")
    v6 = api.subnet(net["id"], "2001:db8:64::/64", ipv6_address_mode="slaac")
    shown = api.get(f"ports/{port['id']}").json()["port"]
    assert {"subnet_id": v6["id"],
            "ip_address": "2001:db8:64:0:f816:3eff:fe00:6401"} in shown["fixed_ips"]
    assert len(shown["fixed_ips"]) == 2
    assert shown["revision_number"] > port["revision_number"]
    assert api.get(f"ports/{router['id']}").json()["port"]["fixed_ips"] == router[
        "fixed_ips"]
    # A stateful subnet does not touch existing ports.
    api.subnet(net["id"], "2001:db8:65::/64", ipv6_address_mode="dhcpv6-stateful")
    assert len(api.get(f"ports/{port['id']}").json()["port"]["fixed_ips"]) == 2


# -- order of fixed_ips (issue 13) -------------------------------------------------------


def test_requested_v4_listed_before_implicit_slaac(api: Api) -> None:
    """Upstream's order: the requested entries, then the automatic (SLAAC) ones. Clients
    index fixed_ips[0] (Heat, Terraform). A new network each time, so that an order by
    subnet id cannot pass by luck (1 in 2**10); the SLAAC subnet comes first, so that
    neither can an order by creation."""
    for i in range(10):
        net = api.network()
        v6 = api.subnet(net["id"], f"2001:db8:66:{i}::/64", ipv6_ra_mode="slaac",
                        ipv6_address_mode="slaac")
        v4 = api.subnet(net["id"], f"10.66.{i}.0/24")
        port = api.port(net["id"], fixed_ips=[{"subnet_id": v4["id"]}])
        shown = api.get(f"ports/{port['id']}").json()["port"]
        listed = ports_on(api, net["id"])
        for fixed_ips in (port["fixed_ips"], shown["fixed_ips"], listed[0]["fixed_ips"]):
            assert [ip["subnet_id"] for ip in fixed_ips] == [v4["id"], v6["id"]]


def test_requested_entries_keep_request_order(api: Api, net: dict) -> None:
    v4 = api.subnet(net["id"], "10.67.0.0/24")
    v6 = api.subnet(net["id"], "2001:db8:67::/64", ipv6_address_mode="dhcpv6-stateful")
    for wanted in ([{"subnet_id": v6["id"]}, {"subnet_id": v4["id"]}],
                   [{"subnet_id": v4["id"]}, {"subnet_id": v6["id"]}],
                   [{"ip_address": "10.67.0.20"}, {"ip_address": "10.67.0.10"}],
                   [{"ip_address": "10.67.0.10"}, {"ip_address": "10.67.0.20"}]):
        port = api.port(net["id"], fixed_ips=wanted)
        shown = api.get(f"ports/{port['id']}").json()["port"]
        expected = [w.get("subnet_id") or v4["id"] for w in wanted]
        for fixed_ips in (port["fixed_ips"], shown["fixed_ips"]):
            assert [ip["subnet_id"] for ip in fixed_ips] == expected
            if all("ip_address" in w for w in wanted):
                assert [ip["ip_address"] for ip in fixed_ips] == [
                    w["ip_address"] for w in wanted]
        assert api.delete(f"ports/{port['id']}").status_code == 204


def test_update_appends_new_addresses_after_kept_ones(api: Api, net: dict) -> None:
    v4, v6 = dual_stack(api, net, "10.68.0.0/24", "2001:db8:68::/64")
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.68.0.30"}])
    assert [ip["subnet_id"] for ip in port["fixed_ips"]] == [v4["id"], v6["id"]]
    response = api.put(f"ports/{port['id']}", {"port": {"fixed_ips": [
        {"ip_address": "10.68.0.5"}, {"ip_address": "10.68.0.30"}]}})
    assert response.status_code == 200, response.text
    expected = ["10.68.0.30", port["fixed_ips"][1]["ip_address"], "10.68.0.5"]
    assert [ip["ip_address"] for ip in response.json()["port"]["fixed_ips"]] == expected
    shown = api.get(f"ports/{port['id']}").json()["port"]
    assert [ip["ip_address"] for ip in shown["fixed_ips"]] == expected
