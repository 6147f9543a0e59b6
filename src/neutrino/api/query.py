"""Parsing a list request's query string into a `ListQuery` (db/listing.py; pure, no
I/O)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from neutrino import exceptions as exc
from neutrino.db import bounds
from neutrino.db.listing import ListQuery
from neutrino.resources.attributes import Resource

RESERVED = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"}
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
# standard-attr-timestamp: resources updated at or after a time.
CHANGED_SINCE = "changed_since"


def parse_list_query(resource: Resource, params: list[tuple[str, str]],
                     max_limit: int = -1) -> ListQuery:
    query = ListQuery()
    sort_keys: list[str] = []
    sort_dirs: list[str] = []
    unknown: list[str] = []
    for key, value in params:
        if "\x00" in key or "\x00" in value:
            # No stored value holds a NUL, and PostgreSQL refuses it in a query.
            raise exc.HTTPBadRequest("Query string contains a NUL character")
        if key == "fields":
            query.fields.append(value)
        elif key == "sort_key":
            sort_keys.append(value)
        elif key == "sort_dir":
            sort_dirs.append(value)
        elif key == "limit":
            query.limit = _parse_limit(value, max_limit)
        elif key == "marker":
            query.marker = value
        elif key == "page_reverse":
            query.page_reverse = _parse_bool_param(value)
        elif key == CHANGED_SINCE and "updated_at" in resource.attrs:
            # Upstream uses the first value when the parameter is repeated.
            if query.changed_since is None:
                query.changed_since = parse_changed_since(value)
        elif key in TAG_FILTERS:
            tags = [t for t in value.split(",") if t]
            query.tag_filters.setdefault(key, []).extend(tags)
        elif key in resource.attrs and resource.attrs[key].filterable:
            _add_filter(resource, query, key, value)
        else:
            unknown.append(key)
    if unknown:
        raise exc.HTTPBadRequest(f"{unknown} is invalid attribute for filtering")
    query.sorts = _parse_sorts(resource, sort_keys, sort_dirs)
    return query


def parse_changed_since(value: str) -> dt.datetime:
    """An ISO 8601 time (``2026-11-26T18:00:00Z``, an offset, or none: UTC) as naive
    UTC, the form timestamps are stored in."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise exc.InvalidInput(f"The input {CHANGED_SINCE} must be in the following "
                               "format: YYYY-MM-DDTHH:MM:SSZ") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _add_filter(resource: Resource, query: ListQuery, key: str, value: str) -> None:
    attr = resource.attrs[key]
    if "=" in value and key in SUBFILTER_ATTRS:
        sub_key, sub_value = value.split("=", 1)
        query.sub_filters.setdefault(key, []).append((sub_key, sub_value))
        return
    converted: Any = value
    if attr.filter_convert is not None:
        try:
            converted = attr.filter_convert(value)
        except exc.NeutronError:
            raise
    if isinstance(converted, int) and not isinstance(converted, bool):
        # Whatever column or sub-query it meets, no integer column holds more.
        bounds.check_int(key, converted, bounds.INT32)
    query.filters.setdefault(key, []).append(converted)


# Attributes whose filters take ``name=value`` sub-filters.
SUBFILTER_ATTRS = {"fixed_ips"}


def _parse_limit(value: str, max_limit: int) -> int | None:
    try:
        limit = int(value)
        if limit < 0:
            raise ValueError
    except ValueError:
        raise exc.BadRequest(
            resource="limit",
            msg=f"Limit must be an integer 0 or greater and not '{bounds.echo(value)}'"
        ) from None
    # No collection holds more rows than an integer column can count; a larger limit
    # (SQLite and PostgreSQL refuse one beyond 64 bits) means the same.
    limit = min(limit, bounds.INT_MAX)
    if limit == 0:
        limit = max_limit if max_limit > 0 else None  # 0 means "no limit"
    elif max_limit > 0:
        limit = min(limit, max_limit)
    return limit


def _parse_bool_param(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "on")


def _parse_sorts(resource: Resource, keys: list[str], dirs: list[str]
                 ) -> list[tuple[str, str]]:
    if len(keys) != len(dirs):
        raise exc.HTTPBadRequest("The number of sort_keys and sort_dirs must be same")
    bad_dirs = [d for d in dirs if d not in ("asc", "desc")]
    if bad_dirs:
        raise exc.HTTPBadRequest(
            f"{bad_dirs} is invalid value for sort_dirs, valid value is 'asc' and 'desc'")
    bad_keys = [k for k in keys
                if k not in resource.attrs or not resource.attrs[k].sortable]
    if bad_keys:
        raise exc.HTTPBadRequest(f"{bad_keys} is invalid attribute for sort_keys")
    return list(zip(keys, dirs, strict=True))
