"""Query-string parsing into a ListQuery: filters, fields, sorting, paging and the
exact upstream error messages (transcripts 070-074)."""

from __future__ import annotations

import datetime as dt

import pytest

from neutrino import exceptions as exc
from neutrino.api.query import parse_list_query
from neutrino.resources.network import NETWORK
from neutrino.resources.port import PORT
from neutrino.resources.subnet import SUBNET


def parse(resource, qs: list[tuple[str, str]], max_limit: int = -1):
    return parse_list_query(resource, qs, max_limit)


def error(resource, qs: list[tuple[str, str]], max_limit: int = -1) -> exc.NeutronError:
    with pytest.raises(exc.NeutronError) as info:
        parse(resource, qs, max_limit)
    return info.value


def test_empty_query() -> None:
    query = parse(NETWORK, [])
    assert query.filters == {} and query.fields == [] and query.sorts == []
    assert query.limit is None and query.marker is None and not query.page_reverse


def test_fields_repeat_in_order() -> None:
    query = parse(PORT, [("fields", "id"), ("fields", "name"), ("fields", "nosuch")])
    assert query.fields == ["id", "name", "nosuch"]
    assert query.filters == {}


def test_repeated_filter_values_accumulate() -> None:
    query = parse(PORT, [("name", "port1"), ("name", "port2-renamed")])
    assert query.filters == {"name": ["port1", "port2-renamed"]}


def test_empty_string_filter_kept() -> None:
    assert parse(NETWORK, [("name", "")]).filters == {"name": [""]}


@pytest.mark.parametrize("raw, expected", [
    ("false", False), ("False", False), ("0", False), ("true", True), ("True", True),
    ("1", True)])
def test_boolean_filters(raw: str, expected: bool) -> None:
    assert parse(NETWORK, [("admin_state_up", raw)]).filters == {"admin_state_up": [expected]}
    assert parse(NETWORK, [("shared", raw)]).filters == {"shared": [expected]}
    assert parse(SUBNET, [("enable_dhcp", raw)]).filters == {"enable_dhcp": [expected]}


def test_bad_boolean_filter() -> None:
    err = error(NETWORK, [("admin_state_up", "maybe")])
    assert err.status == 400 and err.type == "InvalidInput"
    assert err.msg == "Invalid input for operation: 'maybe' cannot be converted to boolean."


def test_int_filters() -> None:
    assert parse(SUBNET, [("ip_version", "4")]).filters == {"ip_version": [4]}
    assert parse(NETWORK, [("mtu", "1500")]).filters == {"mtu": [1500]}
    assert parse(NETWORK, [("revision_number", "2")]).filters == {"revision_number": [2]}
    err = error(SUBNET, [("ip_version", "four")])
    assert err.status == 400 and err.type == "InvalidInput"


def test_timestamp_filters() -> None:
    query = parse(NETWORK, [("created_at", "2026-11-26T13:38:48Z")])
    assert query.filters == {"created_at": [dt.datetime(2026, 11, 26, 13, 38, 48)]}
    query = parse(NETWORK, [("updated_at", "2026-11-26T14:38:48+01:00")])
    assert query.filters == {"updated_at": [dt.datetime(2026, 11, 26, 13, 38, 48)]}
    assert error(NETWORK, [("created_at", "yesterday")]).status == 400


def test_tenant_id_and_project_id_filters_are_separate() -> None:
    # Both compare the owner project; given together, both must match.
    assert parse(NETWORK, [("tenant_id", "p1")]).filters == {"tenant_id": ["p1"]}
    assert parse(NETWORK, [("project_id", "p1"), ("tenant_id", "p2")]).filters == {
        "project_id": ["p1"], "tenant_id": ["p2"]}


def test_fixed_ips_sub_filters() -> None:
    query = parse(PORT, [("fixed_ips", "ip_address=10.0.0.20"),
                         ("fixed_ips", "subnet_id=abc"),
                         ("fixed_ips", "ip_address_substr=0.0.2")])
    assert query.sub_filters == {"fixed_ips": [("ip_address", "10.0.0.20"),
                                               ("subnet_id", "abc"),
                                               ("ip_address_substr", "0.0.2")]}
    assert query.filters == {}


def test_tag_filters_split_on_commas() -> None:
    query = parse(NETWORK, [("tags", "a,b"), ("tags", "c"), ("not-tags-any", "d")])
    assert query.tag_filters == {"tags": ["a", "b", "c"], "not-tags-any": ["d"]}


def test_unknown_filter_message() -> None:  # transcript 074
    err = error(PORT, [("nosuchfilter", "1")])
    assert (err.status, err.type) == (400, "HTTPBadRequest")
    assert err.msg == "['nosuchfilter'] is invalid attribute for filtering"


def test_several_unknown_filters_listed() -> None:
    err = error(PORT, [("a", "1"), ("name", "x"), ("b", "2")])
    assert err.msg == "['a', 'b'] is invalid attribute for filtering"


@pytest.mark.parametrize("resource, attr", [
    (NETWORK, "subnets"), (SUBNET, "allocation_pools"),
    (SUBNET, "host_routes"), (SUBNET, "prefixlen")])
def test_non_filterable_attributes_rejected(resource, attr: str) -> None:
    assert error(resource, [(attr, "x")]).msg == \
        f"['{attr}'] is invalid attribute for filtering"


def test_sorts_paired_in_order() -> None:  # transcript 038
    query = parse(PORT, [("sort_key", "device_owner"), ("sort_dir", "asc"),
                         ("sort_key", "name"), ("sort_dir", "desc")])
    assert query.sorts == [("device_owner", "asc"), ("name", "desc")]


def test_bad_sort_key() -> None:  # transcript 070
    err = error(PORT, [("sort_key", "nosuchfield"), ("sort_dir", "asc")])
    assert (err.status, err.type) == (400, "HTTPBadRequest")
    assert err.msg == "['nosuchfield'] is invalid attribute for sort_keys"


def test_unsortable_key() -> None:
    err = error(PORT, [("sort_key", "fixed_ips"), ("sort_dir", "asc")])
    assert err.msg == "['fixed_ips'] is invalid attribute for sort_keys"


def test_sort_key_without_dir() -> None:  # transcript 071
    err = error(PORT, [("sort_key", "name")])
    assert (err.status, err.type) == (400, "HTTPBadRequest")
    assert err.msg == "The number of sort_keys and sort_dirs must be same"


def test_bad_sort_dir() -> None:  # transcript 072
    err = error(PORT, [("sort_key", "name"), ("sort_dir", "sideways")])
    assert (err.status, err.type) == (400, "HTTPBadRequest")
    assert err.msg == ("['sideways'] is invalid value for sort_dirs, "
                       "valid value is 'asc' and 'desc'")


@pytest.mark.parametrize("raw", ["abc", "-1", "1.5", ""])
def test_bad_limit(raw: str) -> None:  # transcript 073
    err = error(PORT, [("limit", raw)])
    assert (err.status, err.type) == (400, "BadRequest")
    assert err.msg == f"Bad limit request: Limit must be an integer 0 or greater and not '{raw}'."


def test_limit_zero_means_no_limit() -> None:
    assert parse(PORT, [("limit", "0")]).limit is None
    assert parse(PORT, [("limit", "0")], max_limit=50).limit == 50


def test_limit_capped_by_max_limit() -> None:
    assert parse(PORT, [("limit", "3")]).limit == 3
    assert parse(PORT, [("limit", "300")], max_limit=50).limit == 50


def test_marker_and_page_reverse() -> None:
    query = parse(PORT, [("marker", "m"), ("page_reverse", "True")])
    assert query.marker == "m" and query.page_reverse
    assert not parse(PORT, [("page_reverse", "False")]).page_reverse


def test_nul_rejected() -> None:
    assert error(PORT, [("name", "a\x00b")]).status == 400
    assert error(PORT, [("marker", "\x00")]).status == 400
