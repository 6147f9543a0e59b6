"""filter-validation and sort-key-validation on every collection, and the filtering
extensions built on the generic list query: empty-string-filtering,
ip-substring-filtering, port-security-groups-filtering, project-id."""

from __future__ import annotations

import uuid

import pytest

from server import Api, assert_error

COLLECTIONS = ["networks", "subnets", "ports", "security-groups", "security-group-rules",
               "address-groups", "agents", "routers", "floatingips"]


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


@pytest.mark.parametrize("alias", ["filter-validation", "sort-key-validation",
                                   "empty-string-filtering", "ip-substring-filtering",
                                   "port-security-groups-filtering", "project-id",
                                   "pagination", "sorting"])
def test_extensions_listed(api: Api, alias: str) -> None:
    assert api.get(f"extensions/{alias}").status_code == 200


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_unknown_filter_is_400(api: Api, collection: str) -> None:
    assert_error(api.get(collection, params={"nosuchfilter": "1"}), 400, "HTTPBadRequest",
                 "['nosuchfilter'] is invalid attribute for filtering")
    # Known filters next to it change nothing: the whole request is refused.
    assert_error(api.get(collection, params=[("id", str(uuid.uuid4())), ("bogus", "1"),
                                             ("other", "2")]),
                 400, "HTTPBadRequest", "['bogus', 'other'] is invalid attribute for filtering")


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_unknown_sort_key_is_400(api: Api, collection: str) -> None:
    assert_error(api.get(collection, params={"sort_key": "nosuchkey", "sort_dir": "asc"}),
                 400, "HTTPBadRequest", "['nosuchkey'] is invalid attribute for sort_keys")
    ok = api.get(collection, params={"sort_key": "id", "sort_dir": "desc"})
    assert ok.status_code == 200, ok.text


def test_unsortable_and_unfilterable_attributes(api: Api) -> None:
    # fixed_ips is a filter (fixed_ips=ip_address=...) but not a sort key; tags are
    # neither an attribute filter nor a sort key.
    assert_error(api.get("ports", params={"sort_key": "fixed_ips", "sort_dir": "asc"}),
                 400, "HTTPBadRequest", "['fixed_ips'] is invalid attribute for sort_keys")
    assert_error(api.get("networks", params={"sort_key": "tags", "sort_dir": "asc"}),
                 400, "HTTPBadRequest", "['tags'] is invalid attribute for sort_keys")
    assert_error(api.get("ports", params={"binding:profile": "{}"}), 400, "HTTPBadRequest",
                 "['binding:profile'] is invalid attribute for filtering")


def test_query_only_parameters_are_not_filters(api: Api) -> None:
    params = [("fields", "id"), ("limit", "1"), ("page_reverse", "False"),
              ("sort_key", "name"), ("sort_dir", "asc"), ("tags-any", "x"),
              ("changed_since", "2020-01-01T00:00:00Z")]
    assert api.get("networks", params=params).status_code == 200


def test_empty_string_filtering(api: Api) -> None:
    tag = f"es-{uuid.uuid4().hex[:8]}"
    unnamed = api.network(tags=[tag])
    api.network(name="named", tags=[tag])
    described = api.network(name="d", description="", tags=[tag])
    found = api.get("networks", params={"tags": tag, "name": ""}).json()["networks"]
    assert [n["id"] for n in found] == [unnamed["id"]]
    found = api.get("networks", params={"tags": tag, "description": ""}).json()["networks"]
    assert {n["id"] for n in found} >= {unnamed["id"], described["id"]}


def test_ip_substring_filtering(api: Api) -> None:
    net = api.network()
    api.subnet(net["id"], "10.88.0.0/24")
    one = api.port(net["id"], fixed_ips=[{"ip_address": "10.88.0.123"}])
    two = api.port(net["id"], fixed_ips=[{"ip_address": "10.88.0.45"}])

    def ids(value: str) -> set[str]:
        params = [("network_id", net["id"]), ("fixed_ips", f"ip_address_substr={value}")]
        return {p["id"] for p in api.get("ports", params=params).json()["ports"]}
    assert ids("0.12") == {one["id"]}
    assert ids("10.88.0.") == {one["id"], two["id"]}
    assert ids("%") == set()  # a LIKE wildcard is a plain character here
    assert_error(api.get("ports", params={"fixed_ips": "mac_address=x"}), 400,
                 "HTTPBadRequest")


def test_port_security_groups_filtering(api: Api) -> None:
    net = api.network()
    response = api.post("security-groups", {"security_group": {"name": "filtered"}})
    assert response.status_code == 201, response.text
    group = response.json()["security_group"]
    inside = api.port(net["id"], security_groups=[group["id"]])
    api.port(net["id"])
    found = api.get("ports", params={"security_groups": group["id"]}).json()["ports"]
    assert [p["id"] for p in found] == [inside["id"]]


def test_project_id_filter_and_fields(api: Api) -> None:
    project = f"p-{uuid.uuid4().hex}"
    member = api.as_project(project, ["member"])
    net = member.network()
    found = api.get("networks", params={"project_id": project}).json()["networks"]
    assert [(n["id"], n["project_id"], n["tenant_id"]) for n in found] == [
        (net["id"], project, project)]
    found = api.get("networks", params={"tenant_id": project}).json()["networks"]
    assert [n["id"] for n in found] == [net["id"]]
