"""Standard attributes shared by every resource (id, project, name, description,
timestamps, revision, tags)."""

from __future__ import annotations

from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr


def tag_list(value: object) -> list[str]:
    if not isinstance(value, list):
        raise v.bad("tags", f"'{value}' is not a list")
    for tag in value:
        validate_tag(tag)
    return sorted(set(value))


def validate_tag(tag: object) -> str:
    if not isinstance(tag, str) or not tag:
        raise v.bad("tags", f"'{tag}' is not a valid string")
    if len(tag) > v.TAG_MAX_LEN:
        raise v.bad("tags", f"'{tag}' exceeds maximum length of {v.TAG_MAX_LEN}")
    if "\x00" in tag:
        raise v.bad("tags", f"'{tag}' contains a NUL character")
    return tag


def standard_attrs(name_default: str = "") -> list[Attr]:
    return [
        Attr("id", convert=v.uuid_value("id"), allow_post=False),
        Attr("name", convert=v.string("name", v.NAME_MAX_LEN), default=name_default,
             allow_put=True),
        Attr("description", convert=v.string("description", v.DESCRIPTION_MAX_LEN),
             default="", allow_put=True),
        # project_id/tenant_id defaults come from the context (see api.body).
        Attr("project_id", convert=v.project_id, default=None),
        Attr("tenant_id", convert=v.project_id, default=None, sortable=True),
        Attr("tags", convert=tag_list, default=list, filterable=False, sortable=False),
        Attr("created_at", allow_post=False, filter_convert=v.query_datetime),
        Attr("updated_at", allow_post=False, filter_convert=v.query_datetime),
        Attr("revision_number", allow_post=False, filter_convert=v.query_int),
    ]
