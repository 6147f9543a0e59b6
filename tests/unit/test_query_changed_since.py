"""``changed_since`` in a list query (standard-attr-timestamp), without a server."""

from __future__ import annotations

import datetime as dt

import pytest

from neutrino import exceptions as exc
from neutrino.api.query import parse_list_query
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.network import NETWORK

NOON = dt.datetime(2026, 11, 26, 12, 0, 0)


@pytest.mark.parametrize("value,expected", [
    ("2026-11-26T12:00:00Z", NOON),
    ("2026-11-26T12:00:00", NOON),
    ("2026-11-26T14:00:00+02:00", NOON),
    ("2026-11-26T12:00:00.250000Z", NOON.replace(microsecond=250000)),
    ("2026-11-26", NOON.replace(hour=0)),
])
def test_parsed_as_naive_utc(value: str, expected: dt.datetime) -> None:
    query = parse_list_query(NETWORK, [("changed_since", value)])
    assert query.changed_since == expected
    assert query.filters == {}


def test_first_value_wins() -> None:
    query = parse_list_query(NETWORK, [("changed_since", "2026-11-26T12:00:00Z"),
                                       ("changed_since", "bad")])
    assert query.changed_since == NOON


@pytest.mark.parametrize("value", ["", "now", "26/11/2026", "2026-11-26T25:00:00Z"])
def test_bad_format(value: str) -> None:
    with pytest.raises(exc.InvalidInput) as info:
        parse_list_query(NETWORK, [("changed_since", value)])
    assert str(info.value) == ("Invalid input for operation: The input changed_since must "
                               "be in the following format: YYYY-MM-DDTHH:MM:SSZ.")


def test_only_for_resources_with_timestamps() -> None:
    plain = Resource("thing", "things").add(Attr("id"), Attr("name"))
    with pytest.raises(exc.HTTPBadRequest) as info:
        parse_list_query(plain, [("changed_since", "2026-11-26T12:00:00Z")])
    assert str(info.value) == "['changed_since'] is invalid attribute for filtering"
