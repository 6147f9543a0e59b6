"""Ports over HTTP: defaults, MACs, fixed IPs on create and update, validation,
updates, deletes, bulk and If-Match. (Allocation behaviour: test_ipam.py.)"""

from __future__ import annotations

import ipaddress
import re
import uuid

import pytest

from server import TIME_RE, UNKNOWN, Api, assert_error, error_of, post_port, put_port

MAC_RE = re.compile(r"^fa:16:3e(:[0-9a-f]{2}){3}$")


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def random_mac() -> str:
    tail = uuid.uuid4().bytes[:3]
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in tail)


def show(api: Api, port_id: str) -> dict:
    response = api.get(f"ports/{port_id}")
    assert response.status_code == 200, response.text
    return response.json()["port"]


def ports_on(api: Api, network_id: str) -> list[dict]:
    return api.get("ports", params={"network_id": network_id}).json()["ports"]


def ips_of(port: dict) -> list[str]:
    return [ip["ip_address"] for ip in port["fixed_ips"]]


@pytest.fixture
def net(api: Api) -> dict:
    return api.network()


@pytest.fixture
def subnet(api: Api, net: dict) -> dict:
    return api.subnet(net["id"], "10.0.0.0/24")


# -- create ----------------------------------------------------------------------


def test_create_defaults(api: Api, net: dict, subnet: dict) -> None:
    response = post_port(api, net["id"], name="port1")
    assert response.status_code == 201, response.text
    port = response.json()["port"]
    assert uuid.UUID(port["id"])
    assert port["name"] == "port1"
    assert port["description"] == ""
    assert port["network_id"] == net["id"]
    assert port["status"] == "DOWN"
    assert port["admin_state_up"] is True
    assert port["device_id"] == ""
    assert port["device_owner"] == ""
    assert MAC_RE.match(port["mac_address"]), port["mac_address"]
    assert port["tags"] == []
    assert isinstance(port["revision_number"], int)
    assert port["project_id"] == port["tenant_id"] == api.client.headers["X-Project-Id"]
    assert TIME_RE.match(port["created_at"]) and TIME_RE.match(port["updated_at"])
    assert len(port["fixed_ips"]) == 1
    fixed = port["fixed_ips"][0]
    assert set(fixed) == {"subnet_id", "ip_address"}
    assert fixed["subnet_id"] == subnet["id"]
    address = ipaddress.ip_address(fixed["ip_address"])
    assert ipaddress.ip_address("10.0.0.2") <= address <= ipaddress.ip_address("10.0.0.254")
    assert "network:project_id" not in port
    assert show(api, port["id"]) == port


def test_create_with_attributes(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"], name="p", description="d", admin_state_up=False,
                    device_id="vm-1", device_owner="compute:nova", tags=["x"])
    assert port["admin_state_up"] is False
    assert (port["device_id"], port["device_owner"]) == ("vm-1", "compute:nova")
    assert port["description"] == "d" and port["tags"] == ["x"]
    assert port["status"] == "DOWN"


def test_fixed_ip_by_subnet_id(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
    assert [ip["subnet_id"] for ip in port["fixed_ips"]] == [subnet["id"]]


def test_fixed_ip_by_address(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.20"}])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.20"}]


def test_fixed_ip_by_subnet_and_address(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"], name="port2", fixed_ips=[
        {"subnet_id": subnet["id"], "ip_address": "10.0.0.20"}])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.20"}]


def test_two_addresses_from_one_subnet(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"], fixed_ips=[{"subnet_id": subnet["id"]},
                                          {"subnet_id": subnet["id"],
                                           "ip_address": "10.0.0.30"}])
    assert len(port["fixed_ips"]) == 2
    assert "10.0.0.30" in ips_of(port)
    assert len(set(ips_of(port))) == 2


def test_address_outside_pool_but_inside_subnet(api: Api, net: dict) -> None:
    sub = api.subnet(net["id"], "10.1.0.0/24",
                     allocation_pools=[{"start": "10.1.0.10", "end": "10.1.0.20"}])
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.1.0.200"}])
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.1.0.200"}]


def test_address_outside_subnet(api: Api, net: dict, subnet: dict) -> None:
    response = post_port(api, net["id"], fixed_ips=[
        {"subnet_id": subnet["id"], "ip_address": "10.9.9.9"}])
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "InvalidIpForSubnet",
        "message": "IP address 10.9.9.9 is not a valid IP for the specified subnet.",
        "detail": ""}
    assert ports_on(api, net["id"]) == []


@pytest.mark.parametrize("address", ["10.0.0.0", "10.0.0.255"])
def test_network_and_broadcast_address_refused(api: Api, net: dict, subnet: dict,
                                               address: str) -> None:
    response = post_port(api, net["id"], fixed_ips=[
        {"subnet_id": subnet["id"], "ip_address": address}])
    assert_error(response, 400, "InvalidIpForSubnet")


def test_address_on_no_subnet_of_network(api: Api, net: dict, subnet: dict) -> None:
    response = post_port(api, net["id"], fixed_ips=[{"ip_address": "10.9.9.9"}])
    assert_error(response, 400, "InvalidIpForNetwork",
                 "IP address 10.9.9.9 is not a valid IP for any of the subnets on the "
                 "specified network.")


def test_subnet_of_another_network(api: Api, net: dict, subnet: dict) -> None:
    other = api.network()
    other_subnet = api.subnet(other["id"], "10.2.0.0/24")
    response = post_port(api, net["id"], fixed_ips=[{"subnet_id": other_subnet["id"]}])
    assert_error(response, 400, "InvalidInput",
                 f"Invalid input for operation: Failed to create port on network "
                 f"{net['id']}, because fixed_ips included invalid subnet "
                 f"{other_subnet['id']}.")


def test_unknown_subnet(api: Api, net: dict, subnet: dict) -> None:
    response = post_port(api, net["id"], fixed_ips=[{"subnet_id": UNKNOWN}])
    assert_error(response, 400, "InvalidInput",
                 f"Invalid input for operation: Failed to create port on network "
                 f"{net['id']}, because fixed_ips included invalid subnet {UNKNOWN}.")
    assert ports_on(api, net["id"]) == []


def test_taken_address(api: Api, net: dict, subnet: dict) -> None:
    api.port(net["id"], fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.0.0.20"}])
    response = post_port(api, net["id"], fixed_ips=[
        {"subnet_id": subnet["id"], "ip_address": "10.0.0.20"}])
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "IpAddressAlreadyAllocated",
        "message": f"IP address 10.0.0.20 already allocated in subnet {subnet['id']}",
        "detail": ""}
    assert len(ports_on(api, net["id"])) == 1


@pytest.mark.parametrize("fixed", [
    [{"ip_address": "10.0.0.x"}],
    [{"subnet_id": "not-a-uuid"}],
    [{"ip_address": "10.0.0.5", "bogus": 1}],
    [{}],
    ["10.0.0.5"],
    "10.0.0.5",
    [{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5"}]])
def test_malformed_fixed_ips(api: Api, net: dict, subnet: dict, fixed: object) -> None:
    response = post_port(api, net["id"], fixed_ips=fixed)
    assert_error(response, 400, "HTTPBadRequest")
    assert ports_on(api, net["id"]) == []


def test_bad_fixed_ip_message(api: Api, net: dict, subnet: dict) -> None:
    response = post_port(api, net["id"], fixed_ips=[{"ip_address": "10.0.0.x"}])
    assert_error(response, 400, "HTTPBadRequest",
                 "Invalid input for fixed_ips. Reason: '10.0.0.x' is not a valid IP "
                 "address.")


def test_too_many_fixed_ips(api: Api, net: dict, subnet: dict) -> None:
    fixed = [{"subnet_id": subnet["id"]} for _ in range(6)]
    response = post_port(api, net["id"], fixed_ips=fixed)
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: Exceeded maximum amount of fixed ips per "
                 "port.")
    assert ports_on(api, net["id"]) == []
    port = api.port(net["id"], fixed_ips=fixed[:5])
    assert len(port["fixed_ips"]) == 5
    response = put_port(api, port["id"], fixed_ips=port["fixed_ips"] + [
        {"subnet_id": subnet["id"]}])
    assert_error(response, 400, "InvalidInput")


def test_empty_fixed_ips(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"], fixed_ips=[])
    assert port["fixed_ips"] == []
    assert show(api, port["id"])["fixed_ips"] == []


def test_network_without_subnets(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    assert port["fixed_ips"] == []


def test_unknown_network(api: Api) -> None:
    response = post_port(api, UNKNOWN)
    assert response.status_code == 404
    assert error_of(response) == {"type": "NetworkNotFound",
                                  "message": f"Network {UNKNOWN} could not be found.",
                                  "detail": ""}


def test_malformed_network_id(api: Api) -> None:
    response = post_port(api, "not-a-uuid")
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "HTTPBadRequest",
        "message": "Invalid input for network_id. Reason: 'not-a-uuid' is not a valid UUID.",
        "detail": ""}


def test_missing_network_id(api: Api) -> None:
    response = api.post("ports", {"port": {"name": "x"}})
    assert_error(response, 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'network_id' not specified")


@pytest.mark.parametrize("attr,value", [("status", "ACTIVE"), ("id", UNKNOWN)])
def test_create_read_only(api: Api, net: dict, attr: str, value: str) -> None:
    assert_error(post_port(api, net["id"], **{attr: value}), 400, "HTTPBadRequest")


# -- MAC addresses -------------------------------------------------------------------


def test_user_mac(api: Api, net: dict) -> None:
    mac = random_mac()
    port = api.port(net["id"], mac_address=mac.upper())
    assert port["mac_address"] == mac


def test_duplicate_mac_same_network(api: Api, net: dict, subnet: dict) -> None:
    mac = random_mac()
    api.port(net["id"], mac_address=mac)
    response = post_port(api, net["id"], mac_address=mac)
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "MacAddressInUse",
        "message": f"Unable to complete operation for network {net['id']}. "
                   f"The mac address {mac} is in use.",
        "detail": ""}
    assert len(ports_on(api, net["id"])) == 1


def test_same_mac_on_another_network(api: Api, net: dict) -> None:
    mac = random_mac()
    other = api.network()
    a = api.port(net["id"], mac_address=mac)
    b = api.port(other["id"], mac_address=mac)
    assert a["mac_address"] == b["mac_address"] == mac


@pytest.mark.parametrize("mac", ["fa:16:3e:00:00", "zz:16:3e:00:00:01",
                                 "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff",
                                 "00:00:00:00:00:00", 12])
def test_bad_mac(api: Api, net: dict, mac: object) -> None:
    response = post_port(api, net["id"], mac_address=mac)
    assert_error(response, 400, "HTTPBadRequest",
                 f"Invalid input for mac_address. Reason: '{mac}' is not a valid MAC "
                 "address.")


def test_update_mac(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    mac = random_mac()
    assert put_port(api, port["id"], mac_address=mac).json()["port"]["mac_address"] == mac
    taken = api.port(net["id"])["mac_address"]
    assert_error(put_port(api, port["id"], mac_address=taken), 409, "MacAddressInUse")
    assert_error(put_port(api, port["id"], mac_address="nope"), 400, "HTTPBadRequest")
    assert show(api, port["id"])["mac_address"] == mac


def test_random_macs_differ(api: Api, net: dict) -> None:
    macs = {api.port(net["id"])["mac_address"] for _ in range(3)}
    assert len(macs) == 3


# -- update ----------------------------------------------------------------------


def test_update_simple_attributes(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"])
    response = put_port(api, port["id"], name="n", description="d", device_id="vm-9",
                        device_owner="compute:az1", admin_state_up=False)
    assert response.status_code == 200, response.text
    updated = response.json()["port"]
    assert (updated["name"], updated["description"]) == ("n", "d")
    assert (updated["device_id"], updated["device_owner"]) == ("vm-9", "compute:az1")
    assert updated["admin_state_up"] is False
    assert updated["revision_number"] == port["revision_number"] + 1
    assert updated["fixed_ips"] == port["fixed_ips"]
    assert updated["mac_address"] == port["mac_address"]
    assert updated["created_at"] == port["created_at"]
    assert show(api, port["id"]) == updated
    again = put_port(api, port["id"], device_id="").json()["port"]
    assert again["device_id"] == ""
    assert again["revision_number"] == port["revision_number"] + 2


@pytest.mark.parametrize("attr,value", [("network_id", UNKNOWN), ("status", "ACTIVE"),
                                        ("id", UNKNOWN), ("revision_number", 3)])
def test_update_read_only(api: Api, net: dict, attr: str, value: object) -> None:
    port = api.port(net["id"])
    response = put_port(api, port["id"], **{attr: value})
    assert_error(response, 400, "HTTPBadRequest", f"Cannot update read-only attribute {attr}")
    assert show(api, port["id"]) == port


def test_update_network_id_to_other_network(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    other = api.network()
    assert_error(put_port(api, port["id"], network_id=other["id"]), 400, "HTTPBadRequest")


def test_update_unknown(api: Api) -> None:
    response = put_port(api, UNKNOWN, name="x")
    assert response.status_code == 404
    assert error_of(response) == {"type": "PortNotFound",
                                  "message": f"Port {UNKNOWN} could not be found.",
                                  "detail": ""}


def test_update_device_id_too_long(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    assert_error(put_port(api, port["id"], device_id="x" * 256), 400, "HTTPBadRequest")


# -- fixed IP updates ------------------------------------------------------------------


def test_update_add_ip(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"])
    response = put_port(api, port["id"], fixed_ips=port["fixed_ips"] + [
        {"subnet_id": subnet["id"], "ip_address": "10.0.0.40"}])
    assert response.status_code == 200, response.text
    ips = ips_of(response.json()["port"])
    assert sorted(ips) == sorted(ips_of(port) + ["10.0.0.40"])


def test_update_remove_ip(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.41"},
                                          {"ip_address": "10.0.0.42"}])
    updated = put_port(api, port["id"], fixed_ips=[{"ip_address": "10.0.0.42"}]).json()
    assert ips_of(updated["port"]) == ["10.0.0.42"]
    # The removed address is free again.
    other = api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.41"}])
    assert ips_of(other) == ["10.0.0.41"]


def test_update_replace_ip(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.43"}])
    updated = put_port(api, port["id"], fixed_ips=[{"subnet_id": subnet["id"],
                                                    "ip_address": "10.0.0.44"}]).json()
    assert updated["port"]["fixed_ips"] == [{"subnet_id": subnet["id"],
                                             "ip_address": "10.0.0.44"}]
    assert ips_of(api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.43"}])) == [
        "10.0.0.43"]


def test_update_keep_by_subnet_id(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"])
    updated = put_port(api, port["id"], fixed_ips=[{"subnet_id": subnet["id"]}]).json()
    assert updated["port"]["fixed_ips"] == port["fixed_ips"]


def test_update_remove_all_ips(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"])
    assert put_port(api, port["id"], fixed_ips=[]).json()["port"]["fixed_ips"] == []
    assert show(api, port["id"])["fixed_ips"] == []


def test_update_to_taken_ip_changes_nothing(api: Api, net: dict, subnet: dict) -> None:
    api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.45"}])
    port = api.port(net["id"])
    response = put_port(api, port["id"], fixed_ips=[{"ip_address": "10.0.0.45"}])
    assert_error(response, 409, "IpAddressAlreadyAllocated")
    assert show(api, port["id"]) == port


def test_update_to_ip_outside_subnet(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"])
    response = put_port(api, port["id"], fixed_ips=[{"subnet_id": subnet["id"],
                                                     "ip_address": "10.9.9.9"}])
    assert_error(response, 400, "InvalidIpForSubnet")
    assert show(api, port["id"]) == port


def test_update_swap_addresses_between_ports(api: Api, net: dict, subnet: dict) -> None:
    """An address released in the same request can be taken again by the same port."""
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.46"}])
    updated = put_port(api, port["id"], fixed_ips=[
        {"subnet_id": subnet["id"], "ip_address": "10.0.0.46"}]).json()["port"]
    assert ips_of(updated) == ["10.0.0.46"]


# -- If-Match ----------------------------------------------------------------------


def test_if_match(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    rev = port["revision_number"]
    response = api.put(f"ports/{port['id']}", {"port": {"name": "x"}},
                       headers={"If-Match": f"revision_number={rev + 2}"})
    assert_error(response, 412, "RevisionNumberConstraintFailed",
                 f"Constrained to {rev + 2}, but current revision is {rev}")
    assert show(api, port["id"])["name"] == ""
    response = api.put(f"ports/{port['id']}", {"port": {"name": "x"}},
                       headers={"If-Match": f"revision_number={rev}"})
    assert response.status_code == 200
    assert response.json()["port"]["revision_number"] == rev + 1


def test_if_match_malformed(api: Api, net: dict) -> None:
    port = api.port(net["id"])
    response = api.put(f"ports/{port['id']}", {"port": {"name": "x"}},
                       headers={"If-Match": "banana"})
    assert response.status_code == 400


# -- delete ------------------------------------------------------------------------


def test_delete(api: Api, net: dict, subnet: dict) -> None:
    port = api.port(net["id"])
    response = api.delete(f"ports/{port['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.get(f"ports/{port['id']}"), 404, "PortNotFound")
    # Its address can be asked for again.
    again = api.port(net["id"], fixed_ips=port["fixed_ips"])
    assert again["fixed_ips"] == port["fixed_ips"]


def test_delete_unknown(api: Api) -> None:
    response = api.delete(f"ports/{UNKNOWN}")
    assert response.status_code == 404
    assert error_of(response) == {"type": "PortNotFound",
                                  "message": f"Port {UNKNOWN} could not be found.",
                                  "detail": ""}


def test_show_malformed_id(api: Api) -> None:
    assert_error(api.get("ports/not-a-uuid"), 404, "PortNotFound",
                 "Port not-a-uuid could not be found.")


# -- bulk ------------------------------------------------------------------------


def test_bulk_create(api: Api, net: dict, subnet: dict) -> None:
    response = api.post("ports", {"ports": [
        {"network_id": net["id"], "name": "a"},
        {"network_id": net["id"], "name": "b",
         "fixed_ips": [{"ip_address": "10.0.0.50"}]}]})
    assert response.status_code == 201, response.text
    ports = response.json()["ports"]
    assert [p["name"] for p in ports] == ["a", "b"]
    assert ips_of(ports[1]) == ["10.0.0.50"]
    assert ips_of(ports[0]) != ["10.0.0.50"]
    assert ports[0]["mac_address"] != ports[1]["mac_address"]


def test_bulk_create_leaves_requested_addresses_to_their_ports(api: Api, net: dict) -> None:
    """A port of the bulk taking any address never takes one a later port asks for:
    with two free addresses, the first port gets the other one, every time."""
    api.subnet(net["id"], "10.3.0.0/29",
               allocation_pools=[{"start": "10.3.0.2", "end": "10.3.0.3"}])
    for _ in range(4):
        response = api.post("ports", {"ports": [
            {"network_id": net["id"]},
            {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.3.0.2"}]}]})
        assert response.status_code == 201, response.text
        first, second = response.json()["ports"]
        assert (ips_of(first), ips_of(second)) == (["10.3.0.3"], ["10.3.0.2"])
        for port in (first, second):
            assert api.delete(f"ports/{port['id']}").status_code == 204


def test_bulk_create_atomic_on_taken_ip(api: Api, net: dict, subnet: dict) -> None:
    holder = api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.51"}])
    response = api.post("ports", {"ports": [
        {"network_id": net["id"], "name": "first"},
        {"network_id": net["id"], "name": "second",
         "fixed_ips": [{"ip_address": "10.0.0.51"}]}]})
    assert_error(response, 409, "IpAddressAlreadyAllocated")
    assert [p["id"] for p in ports_on(api, net["id"])] == [holder["id"]]


def test_bulk_create_same_ip_twice(api: Api, net: dict, subnet: dict) -> None:
    response = api.post("ports", {"ports": [
        {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.0.0.52"}]},
        {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.0.0.52"}]}]})
    assert_error(response, 409, "IpAddressAlreadyAllocated")
    assert ports_on(api, net["id"]) == []


def test_bulk_create_same_mac_twice(api: Api, net: dict) -> None:
    mac = random_mac()
    response = api.post("ports", {"ports": [
        {"network_id": net["id"], "mac_address": mac},
        {"network_id": net["id"], "mac_address": mac}]})
    assert_error(response, 409, "MacAddressInUse")
    assert ports_on(api, net["id"]) == []


def test_bulk_create_unknown_network(api: Api, net: dict) -> None:
    response = api.post("ports", {"ports": [{"network_id": net["id"]},
                                            {"network_id": UNKNOWN}]})
    assert_error(response, 404, "NetworkNotFound")
    assert ports_on(api, net["id"]) == []
