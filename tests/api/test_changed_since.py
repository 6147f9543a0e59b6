"""standard-attr-timestamp: created_at/updated_at on resources and the
``changed_since`` list filter (resources updated at or after a time)."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from server import TIME_RE, Api, assert_error


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def parse(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def names(api: Api, collection: str, **params: str) -> set[str]:
    response = api.get(collection, params=params)
    assert response.status_code == 200, response.text
    return {item["name"] for item in response.json()[collection]}


def test_extension_listed(api: Api) -> None:
    ext = api.get("extensions/standard-attr-timestamp").json()["extension"]
    assert ext["name"] == "Resource timestamps"


def test_changed_since_on_networks(api: Api) -> None:
    tag = f"cs-{uuid.uuid4().hex[:8]}"
    old = api.network(name=f"{tag}-old", tags=[tag])
    assert TIME_RE.match(old["created_at"]) and TIME_RE.match(old["updated_at"])
    time.sleep(1.1)  # timestamps have whole seconds
    new = api.network(name=f"{tag}-new", tags=[tag])
    since = parse(new["updated_at"])
    assert parse(old["updated_at"]) < since
    assert names(api, "networks", tags=tag, changed_since=iso(since)) == {f"{tag}-new"}
    # Equal counts ("at or after"), earlier includes both, later none.
    earlier = iso(parse(old["updated_at"]))
    assert names(api, "networks", tags=tag, changed_since=earlier) == {
        f"{tag}-old", f"{tag}-new"}
    later = iso(since + dt.timedelta(seconds=5))
    assert names(api, "networks", tags=tag, changed_since=later) == set()
    # An update moves a resource into the window.
    time.sleep(1.1)
    updated = api.put(f"networks/{old['id']}", {"network": {"description": "x"}})
    moved = parse(updated.json()["network"]["updated_at"])
    assert names(api, "networks", tags=tag, changed_since=iso(moved)) == {f"{tag}-old"}


@pytest.mark.parametrize("form", ["{}", "{}.000000", "{}+00:00"])
def test_changed_since_formats(api: Api, form: str) -> None:
    tag = f"cs-{uuid.uuid4().hex[:8]}"
    net = api.network(name=tag, tags=[tag])
    value = form.format(parse(net["updated_at"]).strftime("%Y-%m-%dT%H:%M:%S"))
    assert names(api, "networks", tags=tag, changed_since=value) == {tag}


def test_changed_since_with_offset(api: Api) -> None:
    tag = f"cs-{uuid.uuid4().hex[:8]}"
    net = api.network(name=tag, tags=[tag])
    # The same moment two hours east of UTC.
    local = parse(net["updated_at"]) + dt.timedelta(hours=2)
    value = local.strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"
    assert names(api, "networks", tags=tag, changed_since=value) == {tag}
    later = (local + dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"
    assert names(api, "networks", tags=tag, changed_since=later) == set()


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports", "security-groups",
                                        "security-group-rules", "address-groups"])
def test_every_standard_collection_accepts_it(api: Api, collection: str) -> None:
    future = iso(dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1))
    response = api.get(collection, params={"changed_since": future})
    assert response.status_code == 200, response.text
    key = collection.replace("-", "_")
    assert response.json()[key] == []


def test_changed_since_on_ports_and_subnets(api: Api) -> None:
    net = api.network()
    subnet = api.subnet(net["id"], "10.66.0.0/24")
    port = api.port(net["id"], name="cs-port")
    since = iso(parse(port["updated_at"]))
    ports = api.get("ports", params={"network_id": net["id"], "changed_since": since})
    assert [p["id"] for p in ports.json()["ports"]] == [port["id"]]
    subnets = api.get("subnets", params={"network_id": net["id"],
                                         "changed_since": iso(parse(subnet["updated_at"]))})
    assert [s["id"] for s in subnets.json()["subnets"]] == [subnet["id"]]


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "", "12:00"])
def test_bad_changed_since(api: Api, value: str) -> None:
    assert_error(api.get("networks", params={"changed_since": value}), 400, "InvalidInput",
                 "Invalid input for operation: The input changed_since must be in the "
                 "following format: YYYY-MM-DDTHH:MM:SSZ.")
