"""Errors are part of the contract: Neutron error bodies with upstream's status codes
and messages (transcripts 055-058, 064-069, 076, 077, 083), and never a 500 for a
client's mistake (including a small fuzz)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import Api, error_of

UNKNOWN = "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50"


def expect(response, status: int, type_: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = error_of(response)
    assert set(error) == {"type", "message", "detail"}
    assert error["type"] == type_, error
    assert error["detail"] == ""
    if message is not None:
        assert error["message"] == message
    return error


@pytest.fixture(scope="module")
def net(server, backend) -> dict:
    return Api(server.url, backend=backend).network(name="errors-net")


@pytest.fixture(scope="module")
def subnet(server, backend, net) -> dict:
    return Api(server.url, backend=backend).subnet(net["id"], "10.88.0.0/24")


@pytest.fixture(scope="module")
def port(server, backend, net, subnet) -> dict:
    return Api(server.url, backend=backend).port(net["id"], name="errors-port")


# -- request bodies -----------------------------------------------------------

def test_unknown_attribute(api: Api) -> None:  # 055
    expect(api.post("networks", {"network": {"name": "bad", "foo": "bar"}}), 400,
           "HTTPBadRequest", "Unrecognized attribute(s) 'foo'")


def test_bad_bool(api: Api) -> None:  # 056
    expect(api.post("networks", {"network": {"name": "bad", "admin_state_up": "notabool"}}),
           400, "InvalidInput",
           "Invalid input for operation: 'notabool' cannot be converted to boolean.")


@pytest.mark.parametrize("raw", ['{"network": {"name": ', "not json at all", ""])
def test_invalid_json(api: Api, raw: str) -> None:  # 057, 083
    expect(api.post("networks", content=raw), 400, "HTTPBadRequest",
           "Body contains invalid data")
    expect(api.put(f"networks/{UNKNOWN}", content=raw), 400, "HTTPBadRequest",
           "Body contains invalid data")


def test_missing_body_key(api: Api) -> None:  # 058
    expect(api.post("networks", {"name": "no-wrapper"}), 400, "HTTPBadRequest",
           "Unable to find 'network' in request body")


def test_missing_body_key_on_update(api: Api, net: dict) -> None:
    expect(api.put(f"networks/{net['id']}", {"name": "x"}), 400, "HTTPBadRequest",
           "Unable to find 'network' in request body")


@pytest.mark.parametrize("payload", [[{"network": {}}], [], "x", 1, None, True,
                                     {"network": None}, {"network": []}, {"network": "x"}])
def test_body_of_wrong_shape(api: Api, payload) -> None:
    expect(api.post("networks", payload), 400, "HTTPBadRequest")


def test_bulk_empty(api: Api) -> None:
    expect(api.post("networks", {"networks": []}), 400, "HTTPBadRequest",
           "Resources required")


def test_bulk_wrong_items(api: Api) -> None:
    expect(api.post("networks", {"networks": [1, 2]}), 400, "HTTPBadRequest")
    expect(api.post("networks", {"networks": {"name": "x"}}), 400, "HTTPBadRequest")


def test_bulk_is_all_or_nothing(api: Api) -> None:
    name = f"bulk-{uuid.uuid4().hex[:8]}"
    response = api.post("networks", {"networks": [{"name": name},
                                                  {"name": name, "admin_state_up": "x"}]})
    assert response.status_code == 400
    assert api.get(f"networks?name={name}").json() == {"networks": []}


def test_read_only_attribute_update(api: Api, net: dict, port: dict) -> None:
    for attr, value in [("id", UNKNOWN), ("status", "DOWN"), ("project_id", "p"),
                        ("tenant_id", "p"), ("subnets", []), ("created_at", "x"),
                        ("revision_number", 5)]:
        expect(api.put(f"networks/{net['id']}", {"network": {attr: value}}), 400,
               "HTTPBadRequest", f"Cannot update read-only attribute {attr}")
    expect(api.put(f"ports/{port['id']}", {"port": {"network_id": net["id"]}}), 400,
           "HTTPBadRequest", "Cannot update read-only attribute network_id")


def test_read_only_attribute_create(api: Api) -> None:
    expect(api.post("networks", {"network": {"status": "DOWN"}}), 400, "HTTPBadRequest",
           "Attribute 'status' not allowed in POST")


def test_missing_required_attribute(api: Api, net: dict) -> None:
    expect(api.post("ports", {"port": {"name": "x"}}), 400, "HTTPBadRequest",
           "Failed to parse request. Required attribute 'network_id' not specified")
    expect(api.post("subnets", {"subnet": {"network_id": net["id"], "cidr": "10.1.0.0/24"}}),
           400, "HTTPBadRequest",
           "Failed to parse request. Required attribute 'ip_version' not specified")


@pytest.mark.parametrize("attrs, type_", [
    ({"name": 123}, "HTTPBadRequest"),
    ({"name": None}, "HTTPBadRequest"),
    ({"name": "x" * 256}, "HTTPBadRequest"),
    ({"description": "x" * 256}, "HTTPBadRequest"),
    ({"admin_state_up": "maybe"}, "InvalidInput"),
    ({"admin_state_up": None}, "InvalidInput"),
    ({"shared": {"a": 1}}, "InvalidInput"),
    ({"tags": "x"}, "HTTPBadRequest"),
    ({"tags": [1]}, "HTTPBadRequest"),
    ({"project_id": 5}, "HTTPBadRequest"),
    ({"name": "nul\u0000"}, "HTTPBadRequest"),
])
def test_wrong_types(api: Api, net: dict, attrs: dict, type_: str) -> None:
    expect(api.post("networks", {"network": attrs}), 400, type_)
    if not {"project_id", "tags"} & set(attrs):
        expect(api.put(f"networks/{net['id']}", {"network": attrs}), 400, type_)


def test_name_too_long_message(api: Api) -> None:
    expect(api.post("networks", {"network": {"description": "x" * 256}}), 400,
           "HTTPBadRequest",
           f"Invalid input for description. Reason: '{'x' * 256}' exceeds maximum "
           "length of 255.")


def test_name_at_max_length(api: Api) -> None:
    assert api.post("networks", {"network": {"name": "x" * 255}}).status_code == 201


def test_project_and_tenant_mismatch(api: Api) -> None:
    expect(api.post("networks", {"network": {"project_id": "a", "tenant_id": "b"}}), 400,
           "HTTPBadRequest")


def test_malformed_uuid_in_body(api: Api) -> None:  # 069
    expect(api.post("ports", {"port": {"network_id": "not-a-uuid"}}), 400,
           "HTTPBadRequest",
           "Invalid input for network_id. Reason: 'not-a-uuid' is not a valid UUID.")


def test_create_on_unknown_network(api: Api) -> None:  # 068
    expect(api.post("ports", {"port": {"network_id": UNKNOWN}}), 404, "NetworkNotFound",
           f"Network {UNKNOWN} could not be found.")


# -- URLs and methods ---------------------------------------------------------

@pytest.mark.parametrize("collection, type_, label", [
    ("networks", "NetworkNotFound", "Network"), ("subnets", "SubnetNotFound", "Subnet"),
    ("ports", "PortNotFound", "Port")])
@pytest.mark.parametrize("resource_id", [UNKNOWN, "not-a-uuid", "1"])
def test_not_found(api: Api, collection: str, type_: str, label: str,
                   resource_id: str) -> None:  # 064-067
    message = f"{label} {resource_id} could not be found."
    name = collection[:-1]
    expect(api.get(f"{collection}/{resource_id}"), 404, type_, message)
    expect(api.put(f"{collection}/{resource_id}", {name: {"name": "x"}}), 404, type_, message)
    expect(api.delete(f"{collection}/{resource_id}"), 404, type_, message)


def test_unknown_resource(api: Api) -> None:  # 076
    for path in ("nosuchresources", "nosuchresources/x", "networks/a/b/c", "/v3"):
        expect(api.get(path), 404, "HTTPNotFound", "The resource could not be found.")


def test_method_not_allowed(api: Api, net: dict) -> None:  # 077
    message = ("The server could not comply with the request since it is either malformed "
               "or otherwise incorrect.")
    response = api.request("PATCH", f"networks/{net['id']}", json={"network": {"name": "x"}})
    expect(response, 405, "HTTPMethodNotAllowed", message)
    expect(api.put("networks", {"network": {}}), 405, "HTTPMethodNotAllowed", message)
    expect(api.delete("networks"), 405, "HTTPMethodNotAllowed", message)
    expect(api.post(f"networks/{net['id']}", {"network": {}}), 405, "HTTPMethodNotAllowed")


def test_bad_if_match(api: Api, net: dict) -> None:
    response = api.put(f"networks/{net['id']}", {"network": {"name": "x"}},
                       headers={"If-Match": "nonsense"})
    expect(response, 400, "HTTPBadRequest")


# -- fuzz: random JSON never gives a 5xx -------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
    | st.sampled_from(["", "10.0.0.1", "10.0.0.0/24", "fd00::/64", "::1", UNKNOWN,
                       "fa:16:3e:00:00:01", "true", "4", "x" * 300]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["subnet_id", "ip_address", "start", "end",
                                       "destination", "nexthop", "x"]), children, max_size=3),
    max_leaves=6)

IPS = st.sampled_from(["10.88.0.5", "10.88.0.0", "10.88.0.255", "10.88.1.1", "10.89.0.9",
                       "fd88::5", "0.0.0.0", "255.255.255.255", "10.88.0.300", "::", "x",
                       ""])
CIDRS = st.sampled_from(["10.90.0.0/24", "10.91.0.0/30", "10.92.0.0/32", "10.93.0.0/8",
                         "10.88.0.0/25", "fd90::/64", "fd91::/127", "10.94.0.1/24",
                         "10.95.0.0/33", "0.0.0.0/0", "10.96.0.0", "::/0", "x"])
PLAUSIBLE = {
    "cidr": CIDRS, "gateway_ip": IPS | st.none(),
    "ip_version": st.sampled_from([4, 6, "4", 5, None]),
    "allocation_pools": st.lists(st.fixed_dictionaries({"start": IPS, "end": IPS}),
                                 max_size=3),
    "dns_nameservers": st.lists(IPS, max_size=3),
    "host_routes": st.lists(st.fixed_dictionaries({"destination": CIDRS, "nexthop": IPS}),
                            max_size=3),
    "ipv6_ra_mode": st.sampled_from(["slaac", "dhcpv6-stateful", "dhcpv6-stateless", "x"]),
    "ipv6_address_mode": st.sampled_from(["slaac", "dhcpv6-stateful", "dhcpv6-stateless"]),
    "mac_address": st.sampled_from(["fa:16:3e:00:00:01", "FA:16:3E:00:00:02",
                                    "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff",
                                    "01:00:5e:00:00:01", "fa:16:3e", "zz:zz:zz:zz:zz:zz"]),
    "device_owner": st.sampled_from(["", "compute:nova", "network:dhcp",
                                     "network:router_interface"]),
    "admin_state_up": st.sampled_from([True, False, "true", "0", 2]),
    "enable_dhcp": st.sampled_from([True, False, "true", "0", 2]),
    "shared": st.sampled_from([True, False]),
    "tags": st.lists(st.text(max_size=8), max_size=3),
    "name": st.text(max_size=20), "description": st.text(max_size=20),
    "device_id": st.text(max_size=20),
    "project_id": st.sampled_from(["fake_project_id", "fuzz-project"]),
    "tenant_id": st.sampled_from(["fake_project_id", "fuzz-project"]),
    "network_id": st.sampled_from([UNKNOWN, "not-a-uuid"]),
}

# Mostly attributes a create accepts, so that the services' own checks are reached.
ATTRS = {
    "network": ["name", "description", "admin_state_up", "shared", "tags", "project_id",
                "tenant_id"],
    "subnet": ["name", "network_id", "ip_version", "cidr", "gateway_ip", "allocation_pools",
               "dns_nameservers", "host_routes", "enable_dhcp", "ipv6_ra_mode",
               "ipv6_address_mode", "prefixlen", "subnetpool_id", "tags"],
    "port": ["name", "network_id", "admin_state_up", "mac_address", "fixed_ips",
             "device_id", "device_owner", "tags", "description"],
}


def value_for(draw, attr: str, subnet_id: str):
    if attr == "fixed_ips" and draw(st.booleans()):
        entry = st.fixed_dictionaries({}, optional={"subnet_id": st.just(subnet_id) | JSON,
                                                    "ip_address": IPS | JSON})
        return draw(st.lists(entry, max_size=3))
    if attr in PLAUSIBLE and draw(st.integers(0, 3)) != 3:
        return draw(PLAUSIBLE[attr])
    return draw(JSON)


fuzz_settings = settings(max_examples=100, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])


@st.composite
def fuzz_body(draw, resource: str, net_id: str, subnet_id: str) -> dict:
    keys = draw(st.lists(st.sampled_from(ATTRS[resource]), max_size=4, unique=True))
    item = {k: value_for(draw, k, subnet_id) for k in keys}
    # Often keep a valid network so that the service code is reached.
    if resource in ("subnet", "port") and draw(st.integers(0, 4)) != 4:
        item["network_id"] = net_id
    if resource == "subnet" and draw(st.integers(0, 3)) != 3:
        cidr = draw(CIDRS)
        item.setdefault("ip_version", 6 if ":" in cidr else 4)
        item.setdefault("cidr", cidr)
    return item


@pytest.mark.parametrize("resource", ["network", "subnet", "port"])
def test_fuzz_never_5xx(api: Api, backend: str, net: dict, subnet: dict, port: dict,
                        resource: str) -> None:
    if backend != "sqlite":
        pytest.skip("fuzzing runs on SQLite only, to keep the suite fast")
    existing = {"network": net, "subnet": subnet, "port": port}[resource]
    created: list[str] = []

    @fuzz_settings
    @given(data=st.data())
    def run(data) -> None:
        item = data.draw(fuzz_body(resource, net["id"], subnet["id"]))
        response = api.post(f"{resource}s", {resource: item})
        assert response.status_code < 500, (item, response.text)
        if response.status_code == 201:
            created.append(response.json()[resource]["id"])
        else:
            error_of(response)
        update = {k: v for k, v in item.items() if k not in ("network_id",)}
        response = api.put(f"{resource}s/{existing['id']}", {resource: update})
        assert response.status_code < 500, (update, response.text)
        if response.status_code != 200:
            error_of(response)

    try:
        run()
    finally:
        for resource_id in reversed(created):
            api.delete(f"{resource}s/{resource_id}")


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["name", "admin_state_up", "ip_version", "fixed_ips", "limit",
                            "marker", "sort_key", "sort_dir", "fields", "tags", "mtu",
                            "created_at", "page_reverse", "network_id", "cidr"]),
       value=st.text(max_size=20))
def test_fuzz_query_never_5xx(api: Api, backend: str, key: str, value: str) -> None:
    if backend != "sqlite":
        pytest.skip("fuzzing runs on SQLite only, to keep the suite fast")
    for collection in ("networks", "subnets", "ports"):
        response = api.get(f"{collection}", params={key: value, "limit": "1"}
                           if key != "limit" else {key: value})
        assert response.status_code < 500, (collection, key, value, response.text)
