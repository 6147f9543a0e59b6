"""api/openapi.py: the document follows the resource definitions."""

from __future__ import annotations

from neutrino.api import openapi
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource


def widget() -> Resource:
    resource = Resource("widget", "widgets")
    resource.add(
        Attr("id", convert=v.uuid_value("id"), allow_post=False),
        Attr("name", convert=v.string("name", 255), default="", allow_put=True),
        Attr("size", convert=v.int_in_range("size", 1, 4094), default=REQUIRED),
        Attr("weight", convert=v.non_negative("weight"), default=0),
        Attr("enabled", default=True, filter_convert=v.query_bool),
        Attr("kind", convert=v.one_of("kind", ["a", "b"]), default="a",
             filterable=False),
        Attr("secret", visible=False, filterable=False, sortable=False),
    )
    resource.compose([])
    return resource


def test_attribute_schemas_come_from_the_converters() -> None:
    r = widget()
    assert openapi.value_schema(r.attrs["name"]) == {"type": "string", "maxLength": 255}
    assert openapi.value_schema(r.attrs["size"]) == {"type": "integer", "minimum": 1,
                                                     "maximum": 4094}
    assert openapi.value_schema(r.attrs["weight"]) == {
        "type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    assert openapi.value_schema(r.attrs["enabled"]) == {"type": "boolean"}
    assert openapi.value_schema(r.attrs["kind"]) == {"enum": ["a", "b"]}
    assert openapi.value_schema(r.attrs["id"])["format"] == "uuid"
    assert openapi.value_schema(r.attrs["secret"]) == {}


def test_operations_bodies_and_filters() -> None:
    doc = openapi.document([openapi.Served(widget(), tags=True)])
    paths = doc["paths"]
    assert set(paths) == {"/v2.0/widgets", "/v2.0/widgets/{id}",
                          "/v2.0/widgets/{id}/tags", "/v2.0/widgets/{id}/tags/{tag}"}
    assert set(paths["/v2.0/widgets"]) == {"get", "post"}
    assert set(paths["/v2.0/widgets/{id}"]) == {"parameters", "get", "put", "delete"}
    create = paths["/v2.0/widgets"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]["widget"]
    assert set(create["properties"]) == {"name", "size", "weight", "enabled", "kind",
                                         "secret"}
    assert create["required"] == ["size"]
    update = paths["/v2.0/widgets/{id}"]["put"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]["widget"]
    assert set(update["properties"]) == {"name"}
    params = {p["name"]: p for p in paths["/v2.0/widgets"]["get"]["parameters"]}
    assert params["enabled"]["schema"]["items"] == {"type": "boolean"}
    assert params["size"]["schema"]["items"]["maximum"] == 4094
    assert "kind" not in params and "secret" not in params
    assert "tags-any" in params
    shown = paths["/v2.0/widgets/{id}"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["properties"]["widget"]["properties"]
    assert "secret" not in shown


def test_read_only_collections() -> None:
    doc = openapi.document([openapi.Served(widget(), openapi.READ_ONLY, path="w")])
    assert set(doc["paths"]) == {"/v2.0/w", "/v2.0/w/{id}"}
    assert set(doc["paths"]["/v2.0/w"]) == {"get"}
    assert set(doc["paths"]["/v2.0/w/{id}"]) == {"parameters", "get"}
