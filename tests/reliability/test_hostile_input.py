"""Hostile input, case by case (issue 18): what no column can hold, bodies beyond the
size limit or of another type, NUL and over-long ids in paths and headers. Each is a
Neutron-style 4xx that changes nothing, on every backend, never a 500."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backends import database
from server import Api, ServerProcess, error_of

pytestmark = pytest.mark.backends

BODY_LIMIT = 114688  # upstream's max_request_body_size default
HUGE = [3_000_000_000, 2**63, 2**64, 10**30]


def expect(response: httpx.Response, status: int, type_: str | None = None,
           contains: tuple[str, ...] = ()) -> dict:
    assert response.status_code == status, response.text[:500]
    error = error_of(response)
    if type_ is not None:
        assert error["type"] == type_, error
    for part in contains:
        assert part in error["message"], error
    return error



@pytest.fixture
def api(own_project_admin: Api) -> Api:
    """Admin in a project of its own: these tests keep what they create, and the
    shared server's default admin project has quotas like any other."""
    return own_project_admin

@pytest.fixture
def me(api: Api) -> Api:
    """Admin in a project of its own (what it creates is its own to count)."""
    return api.as_project(f"hostile-{uuid.uuid4().hex[:12]}", ["admin"])


def names(api: Api, collection: str) -> list[str]:
    response = api.get(collection)
    assert response.status_code == 200, response.text
    return [item.get("name") for item in response.json()[collection]]


# -- integers beyond the columns, in list filters ------------------------------------

@pytest.mark.parametrize("collection, attr", [
    ("networks", "mtu"),
    ("networks", "revision_number"),
    ("networks", "provider:segmentation_id"),
    ("subnets", "ip_version"),
    ("subnets", "revision_number"),
    ("ports", "revision_number"),
    ("security-group-rules", "port_range_min"),
    ("security-group-rules", "port_range_max"),
    ("segments", "segmentation_id"),
    ("network-ip-availabilities", "ip_version"),
    ("subnetpools", "default_quota"),
    ("routers", "revision_number"),
])
@pytest.mark.parametrize("value", HUGE + [-2**31 - 1])
def test_integer_filter_beyond_the_column_is_400(api: Api, collection: str, attr: str,
                                                 value: int) -> None:
    error = expect(api.get(collection, params={attr: str(value)}), 400)
    assert "too large" in error["message"] or "too small" in error["message"], error


def test_integer_filter_at_the_column_edge_is_a_filter(api: Api) -> None:
    response = api.get("networks", params={"mtu": str(2**31 - 1)})
    assert response.status_code == 200, response.text
    assert response.json()["networks"] == []


@pytest.mark.parametrize("limit", ["9223372036854775808", str(2**64), "1" + "0" * 40])
def test_huge_limit_is_no_limit(api: Api, limit: str) -> None:
    api.network(name="hostile-limit")
    limited = api.get("networks", params={"limit": limit})
    unlimited = api.get("networks")
    assert limited.status_code == 200, limited.text
    assert ({n["id"] for n in limited.json()["networks"]}
            == {n["id"] for n in unlimited.json()["networks"]})


def test_limit_not_an_integer_echo_is_cut(api: Api) -> None:
    error = expect(api.get("networks", params={"limit": "x" * 3000}), 400, "BadRequest")
    assert len(error["message"]) < 200, error


@pytest.mark.parametrize("params", [
    {"name": "n" * 256}, {"id": "i" * 37}, {"binary": "b" * 300},
    {"mtu": "\x00"}, {"name": "a\x00"},
])
def test_filter_value_no_column_holds_is_400(api: Api, params: dict) -> None:
    collection = "agents" if "binary" in params else "networks"
    expect(api.get(collection, params=params), 400)


@pytest.mark.parametrize("marker", ["m" * 300, str(2**64)])
def test_marker_that_names_nothing_is_404(api: Api, marker: str) -> None:
    expect(api.get("networks", params={"marker": marker, "limit": "1"}), 404)


# -- bodies: integers and strings beyond the columns ---------------------------------

@pytest.mark.parametrize("quota", [2**31, 3_000_000_000, 2**63, 2**64])
def test_subnetpool_default_quota_beyond_the_column(me: Api, quota: int) -> None:
    name = f"pool-{uuid.uuid4().hex[:8]}"
    body = {"subnetpool": {"name": name, "prefixes": ["10.231.0.0/16"],
                           "default_prefixlen": 24, "default_quota": quota}}
    # Beyond 64 bits the JSON parser makes a float of it: "not an integer".
    named = ("default_quota",) if quota < 2**64 else ("not an integer",)
    expect(me.post("subnetpools", body), 400, contains=named)
    assert name not in names(me, "subnetpools")
    pool = me.create("subnetpool", name=name, prefixes=["10.231.0.0/16"],
                     default_prefixlen=24, default_quota=2**31 - 1)
    expect(me.put(f"subnetpools/{pool['id']}", {"subnetpool": {"default_quota": quota}}),
           400, contains=named)
    shown = me.get(f"subnetpools/{pool['id']}").json()["subnetpool"]
    assert shown["default_quota"] == 2**31 - 1
    assert me.delete(f"subnetpools/{pool['id']}").status_code == 204


def test_string_beyond_its_column_without_a_validator_of_its_own(me: Api) -> None:
    """binding:host_id declares no length; its column (255) does."""
    net = me.network()
    expect(me.post("ports", {"port": {"network_id": net["id"],
                                      "binding:host_id": "h" * 256}}),
           400, contains=("binding:host_id", "exceeds maximum length of 255"))
    assert me.get("ports", params={"network_id": net["id"]}).json()["ports"] == []


def test_nul_in_a_body_string_is_400(me: Api) -> None:
    expect(me.post("networks", {"network": {"name": "a\x00b"}}), 400)
    expect(me.post("networks", {"network": {"description": "\x00"}}), 400)


def test_echoed_values_are_cut(me: Api) -> None:
    name = "x" * 100_000
    error = expect(me.post("networks", {"network": {"name": name}}), 400)
    assert len(error["message"]) <= 1024, len(error["message"])
    assert error["message"].startswith("Invalid input for name. Reason: 'xxx")
    assert error["message"].endswith("exceeds maximum length of 255.")


# -- body size and type --------------------------------------------------------------

def refused_body(api: Api, content: object, headers: dict | None = None
                 ) -> httpx.Response:
    """POST /v2.0/networks on a connection of its own: the server leaves the body
    unread, and the connection is not reused after it."""
    with httpx.Client(base_url=api.base_url, timeout=60,
                      headers=dict(api.client.headers)) as client:
        return client.post("/v2.0/networks", content=content, headers=headers)


def test_body_over_the_limit_is_413_and_not_read(me: Api) -> None:
    padding = "p" * BODY_LIMIT
    raw = json.dumps({"network": {"name": "too-big", "description": padding}})
    assert len(raw) > BODY_LIMIT
    expect(refused_body(me, raw), 413, "HTTPRequestEntityTooLarge")
    assert "too-big" not in names(me, "networks")


def test_body_at_the_limit_is_parsed(me: Api) -> None:
    raw = json.dumps({"network": {"name": "at-limit"}}).encode()
    raw = raw[:-2] + b" " * (BODY_LIMIT - len(raw)) + raw[-2:]
    assert len(raw) == BODY_LIMIT
    assert me.post("networks", content=raw).status_code == 201
    assert "at-limit" in names(me, "networks")


def test_hundred_megabytes_never_read(me: Api) -> None:
    """Content-Length says 100 MB and 64 KB of it come: the answer (413) comes without
    the rest (an HTTP client library would refuse to send less than it declared)."""
    url = httpx.URL(me.base_url)
    head = (f"POST /v2.0/networks HTTP/1.1\r\nHost: {url.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {100 * 2**20}\r\n"
            "Connection: close\r\n\r\n").encode()
    with socket.create_connection((url.host, url.port), timeout=60) as sock:
        sock.sendall(head + b'{"network": {"name": "' + b"x" * 65536)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413", answer[:300]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["NeutronError"]["type"] == "HTTPRequestEntityTooLarge"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml",
                                          "application/x-www-form-urlencoded",
                                          "text/html; charset=utf-8"])
def test_body_of_another_type_is_415(me: Api, content_type: str) -> None:
    raw = json.dumps({"network": {"name": f"typed-{content_type}"}})
    response = me.post("networks", content=raw, headers={"Content-Type": content_type})
    expect(response, 415, "HTTPUnsupportedMediaType")
    assert f"typed-{content_type}" not in names(me, "networks")
    net = me.network(name="typed")
    response = me.put(f"networks/{net['id']}", content=json.dumps(
        {"network": {"name": "retyped"}}), headers={"Content-Type": content_type})
    expect(response, 415, "HTTPUnsupportedMediaType")


@pytest.mark.parametrize("content_type", [None, "application/json",
                                          "application/json; charset=UTF-8",
                                          "Application/JSON"])
def test_json_body_with_or_without_content_type(me: Api, content_type: str | None
                                                ) -> None:
    name = f"json-{uuid.uuid4().hex[:8]}"
    headers = {"X-Project-Id": me.client.headers["X-Project-Id"],
               "X-Roles": me.client.headers["X-Roles"]}
    if content_type is not None:
        headers["Content-Type"] = content_type
    # A client of its own: the shared one always sends application/json.
    with httpx.Client(base_url=me.base_url, timeout=60) as client:
        response = client.post("/v2.0/networks", headers=headers,
                               content=json.dumps({"network": {"name": name}}))
    assert response.status_code == 201, response.text
    assert name in names(me, "networks")


# -- paths and headers ---------------------------------------------------------------

@pytest.mark.parametrize("path", ["quotas/%00", "quotas/%00/details", "networks/%00",
                                  "networks/a%00b/tags", "quotas/a%00"])
def test_nul_in_the_path_names_nothing(api: Api, path: str) -> None:
    expect(api.get(path), 404)
    expect(api.put(path, {"quota": {"network": 5}}), 404)
    expect(api.delete(path), 404)


def test_over_long_project_in_the_quota_path(api: Api) -> None:
    long = "q" * 300
    expect(api.put(f"quotas/{long}", {"quota": {"network": 5}}), 400,
           contains=("project_id", "exceeds maximum length of 255"))
    assert all(q["project_id"] != long for q in api.get("quotas").json()["quotas"])
    # 255 characters are a project id like any other.
    edge = "q" * 255
    response = api.put(f"quotas/{edge}", {"quota": {"network": 5}})
    assert response.status_code == 200, response.text
    assert api.delete(f"quotas/{edge}").status_code == 204


@pytest.mark.parametrize("header", ["X-Project-Id", "X-Tenant-Id", "X-User-Id"])
def test_over_long_identity_header_is_400(api: Api, header: str) -> None:
    with httpx.Client(base_url=api.base_url, timeout=60) as client:
        response = client.post("/v2.0/networks", json={"network": {"name": "hdr"}},
                               headers={header: "h" * 256, "X-Roles": "member,reader"})
        expect(response, 400, "HTTPBadRequest", contains=(header,))
        ok = client.get("/v2.0/networks", headers={header: "h" * 255,
                                                   "X-Roles": "member,reader"})
        assert ok.status_code == 200, ok.text


def test_openapi_document_lists_every_collection(api: Api) -> None:
    doc = api.get("/v2.0/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for collection in ("networks", "subnets", "ports", "routers", "floatingips",
                       "security-groups", "security-group-rules", "subnetpools",
                       "qos/policies", "rbac-policies", "segments", "agents"):
        assert f"/v2.0/{collection}" in paths, collection
    network = paths["/v2.0/networks"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]["network"]["properties"]
    assert network["name"] == {"type": "string", "maxLength": 255}
    assert network["mtu"]["maximum"] == 2**31 - 1
    filters = {p["name"]: p for p in paths["/v2.0/networks"]["get"]["parameters"]}
    assert filters["mtu"]["schema"]["items"]["type"] == "integer"
    assert filters["admin_state_up"]["schema"]["items"]["type"] == "boolean"


# -- the limit is configurable ---------------------------------------------------------

@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state: Path = tmp_path_factory.mktemp("small-limit")
    with database("sqlite", state) as url, ServerProcess(
            state, url, extra_conf="[oslo_middleware]\nmax_request_body_size = 512\n"
    ) as proc:
        yield proc.url


def test_max_request_body_size_option(small_limit_server: str) -> None:
    """The HTTP layer's option: one backend (SQLite) shows it."""
    api = Api(small_limit_server)
    expect(api.post("networks", {"network": {"name": "n" * 600}}), 413)
    assert api.post("networks", {"network": {"name": "small"}}).status_code == 201
