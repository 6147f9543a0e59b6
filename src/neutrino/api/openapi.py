"""``GET /v2.0/openapi.json``: the API as an OpenAPI 3.1 document, generated from the
resource definitions (issue 18), never written by hand.

Each collection served by the generic controller contributes its list and create
operations and its member's show, update and delete: query parameters for the
attributes that filter and sort, request bodies with the attributes a create or an
update may set, and for each attribute the JSON schema its converter declares
(`resources.validators.described`: types, enums, lengths, integer bounds, which end
at what the columns hold). An attribute whose converter declares nothing is typed
from its default, or left open (any JSON value).

tests/reliability/test_hostile_sweep.py generates hostile requests from this document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import falcon
import orjson

from neutrino.api.query import RESERVED, TAG_FILTERS
from neutrino.db.bounds import INT_MAX, INT_MIN
from neutrino.resources.attributes import REQUIRED, Attr, Resource

OPENAPI_VERSION = "3.1.0"
ERROR = {"$ref": "#/components/schemas/NeutronError"}
ERROR_RESPONSE = {"description": "A Neutron error",
                  "content": {"application/json": {"schema": ERROR}}}
READ_ONLY = ("list", "show")
ALL_OPERATIONS = ("list", "create", "show", "update", "delete")


@dataclass(frozen=True)
class Served:
    """A collection as served: its resource, the operations routed, tags or not."""

    resource: Resource
    operations: tuple[str, ...] = ALL_OPERATIONS
    tags: bool = False
    path: str | None = None  # when it differs from the resource's url_path


def value_schema(attr: Attr, filtering: bool = False) -> dict[str, Any]:
    """The JSON schema of the values `attr` accepts (in a body, or as a filter)."""
    convert = attr.filter_convert if filtering and attr.filter_convert else attr.convert
    schema = dict(getattr(convert, "schema", None) or {})
    if not schema:
        schema = _from_default(attr.default)
    if schema.get("type") == "integer" or schema.get("type") == ["integer", "null"]:
        schema.setdefault("minimum", INT_MIN)
        schema.setdefault("maximum", INT_MAX)
    return schema


def _from_default(default: Any) -> dict[str, Any]:
    if isinstance(default, bool):
        return {"type": "boolean"}
    if isinstance(default, int):
        return {"type": "integer"}
    if isinstance(default, str):
        return {"type": "string"}
    if isinstance(default, list):
        return {"type": "array"}
    if isinstance(default, dict):
        return {"type": "object"}
    return {}  # REQUIRED, None or computed: any JSON value


def _filter_schema(attr: Attr) -> dict[str, Any]:
    """A query-string filter: its values' schema when scalar, else free text."""
    schema = value_schema(attr, filtering=True)
    if schema.get("type") in ("integer", "boolean", "string") or "enum" in schema:
        return schema
    return {"type": "string"}


def _body(resource: Resource, attrs: list[Attr], create: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "object",
        "properties": {a.name: value_schema(a) for a in attrs},
    }
    required = [a.name for a in attrs if create and a.default is REQUIRED]
    if required:
        item["required"] = required
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": [resource.name],
        "properties": {resource.name: item}}}}}


def _response(resource: Resource, key: str, status: str) -> dict[str, Any]:
    shown = {a.name: value_schema(a) for a in resource.attrs.values() if a.visible}
    item = {"type": "object", "properties": shown}
    schema = item if key == resource.name else {"type": "array", "items": item}
    return {status: {"description": "OK", "content": {"application/json": {"schema": {
        "type": "object", "properties": {key: schema}}}}},
        "default": ERROR_RESPONSE}


def _list_parameters(resource: Resource) -> list[dict[str, Any]]:
    sortable = [a.name for a in resource.attrs.values() if a.sortable]
    params: list[dict[str, Any]] = [
        {"name": "limit", "in": "query",
         "schema": {"type": "integer", "minimum": 0}},
        {"name": "marker", "in": "query", "schema": {"type": "string", "format": "uuid"}},
        {"name": "page_reverse", "in": "query", "schema": {"type": "boolean"}},
        {"name": "fields", "in": "query", "explode": True,
         "schema": {"type": "array", "items": {"type": "string",
                                               "enum": list(resource.attrs)}}},
        {"name": "sort_key", "in": "query", "explode": True,
         "schema": {"type": "array", "items": {"type": "string", "enum": sortable}}},
        {"name": "sort_dir", "in": "query", "explode": True,
         "schema": {"type": "array", "items": {"type": "string",
                                               "enum": ["asc", "desc"]}}},
    ]
    for attr in resource.attrs.values():
        if attr.filterable and attr.name not in RESERVED:
            params.append({"name": attr.name, "in": "query", "explode": True,
                           "schema": {"type": "array", "items": _filter_schema(attr)}})
    if resource.tag_support:
        params.extend({"name": name, "in": "query",
                       "schema": {"type": "string", "maxLength": 255}}
                      for name in TAG_FILTERS)
    return params


def _operation(served: Served, op: str) -> tuple[str, str, dict[str, Any]]:
    """(path suffix, method, operation object) of one operation."""
    r = served.resource
    if op == "list":
        return "", "get", {"operationId": f"list_{r.collection}",
                           "parameters": _list_parameters(r),
                           "responses": _response(r, r.collection, "200")}
    if op == "create":
        attrs = [a for a in r.attrs.values() if a.allow_post]
        return "", "post", {"operationId": f"create_{r.name}",
                            "requestBody": _body(r, attrs, create=True),
                            "responses": _response(r, r.name, "201")}
    member = "/{id}"
    if op == "show":
        return member, "get", {"operationId": f"show_{r.name}",
                               "responses": _response(r, r.name, "200")}
    if op == "update":
        attrs = [a for a in r.attrs.values() if a.allow_put]
        return member, "put", {"operationId": f"update_{r.name}",
                               "requestBody": _body(r, attrs, create=False),
                               "responses": _response(r, r.name, "200")}
    return member, "delete", {"operationId": f"delete_{r.name}",
                              "responses": {"204": {"description": "Deleted"},
                                            "default": ERROR_RESPONSE}}


def _tag_paths(base: str) -> dict[str, Any]:
    tag = {"name": "tag", "in": "path", "required": True,
           "schema": {"type": "string", "maxLength": 255}}
    ident = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    tags_body = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["tags"], "properties": {"tags": {
            "type": "array", "items": {"type": "string", "maxLength": 255}}}}}}}
    plain = {"default": {"description": "A Neutron error or the tags"}}
    return {
        f"{base}/{{id}}/tags": {"parameters": [ident],
                                "get": {"responses": plain},
                                "put": {"requestBody": tags_body, "responses": plain},
                                "delete": {"responses": plain}},
        f"{base}/{{id}}/tags/{{tag}}": {"parameters": [ident, tag],
                                        "get": {"responses": plain},
                                        "put": {"responses": plain},
                                        "delete": {"responses": plain}},
    }


def document(served: Iterable[Served]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for item in served:
        base = f"/v2.0/{item.path or item.resource.url_path}"
        for op in item.operations:
            suffix, method, operation = _operation(item, op)
            entry = paths.setdefault(base + suffix, {})
            if suffix:
                entry["parameters"] = [{"name": "id", "in": "path", "required": True,
                                        "schema": {"type": "string", "format": "uuid"}}]
            operation["x-neutrino-resource"] = item.resource.name
            entry[method] = operation
        if item.tags:
            paths.update(_tag_paths(base))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Neutrino: the OpenStack Networking API v2.0",
                 "version": "2.0"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"NeutronError": {
            "type": "object", "required": ["NeutronError"],
            "properties": {"NeutronError": {"type": "object", "properties": {
                "type": {"type": "string"}, "message": {"type": "string"},
                "detail": {"type": "string"}}}}}}},
    }


class OpenAPIDocument:
    """Serves the document, rendered once."""

    def __init__(self, served: Iterable[Served]) -> None:
        self.data = orjson.dumps(document(served))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self.data
