"""Request bodies: JSON decoding and the item(s) a body carries (pure). Validating the
items against the resource definition is services/prepare.py."""

from __future__ import annotations

from typing import Any

import orjson

from neutrino import exceptions as exc
from neutrino.resources.attributes import Resource


def decode(raw: bytes) -> Any:
    if not raw:
        raise exc.HTTPBadRequest("Body contains invalid data")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise exc.HTTPBadRequest("Body contains invalid data") from None


def items_for_create(resource: Resource, body: Any) -> tuple[list[dict], bool]:
    """The item(s) of a POST body and whether it was a bulk request."""
    if not isinstance(body, dict):
        raise exc.HTTPBadRequest("Body contains invalid data")
    if resource.collection in body:
        items = body[resource.collection]
        if not isinstance(items, list) or not items:
            raise exc.HTTPBadRequest("Resources required")
        if not all(isinstance(i, dict) for i in items):
            raise exc.HTTPBadRequest("Body contains invalid data")
        # Bulk items may be wrapped ({"network": {...}}) or bare.
        return [i.get(resource.name, i) if isinstance(i.get(resource.name), dict) else i
                for i in items], True
    return [single_item(resource, body)], False


def single_item(resource: Resource, body: Any) -> dict:
    if not isinstance(body, dict) or resource.name not in body:
        raise exc.HTTPBadRequest(f"Unable to find '{resource.name}' in request body")
    item = body[resource.name]
    if not isinstance(item, dict):
        raise exc.HTTPBadRequest("Body contains invalid data")
    return item
