"""A create or update body's item checked against the resource definition: unknown
or read-only attributes refused, values validated and converted, defaults filled,
the owner project settled (pure). The HTTP layer calls it on request bodies; services
call it on what they build themselves (auto-allocated topology, router ports)."""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.resources.attributes import REQUIRED, Resource


def _check_known(resource: Resource, item: dict) -> None:
    unknown = [k for k in item if k not in resource.attrs]
    if unknown:
        raise exc.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")


def prepare_create(resource: Resource, item: dict, ctx: Context) -> dict:
    """Validate and convert given values, fill defaults, settle the owner project."""
    _check_known(resource, item)
    data: dict[str, Any] = {}
    for name, attr in resource.attrs.items():
        if name in item:
            if not attr.allow_post:
                raise exc.HTTPBadRequest(f"Attribute '{name}' not allowed in POST")
            value = item[name]
            data[name] = attr.convert(value) if attr.convert is not None else value
        elif attr.allow_post:
            if attr.default is REQUIRED:
                raise exc.HTTPBadRequest(
                    f"Failed to parse request. Required attribute '{name}' not specified")
            data[name] = [] if attr.default is list else attr.default
    if "project_id" in resource.attrs:
        data["project_id"] = owner_project(data, ctx)
        data.pop("tenant_id", None)
    return data


def owner_project(data: dict, ctx: Context) -> str | None:
    project = data.get("project_id")
    tenant = data.get("tenant_id")
    if project is not None and tenant is not None and project != tenant:
        raise exc.HTTPBadRequest("'project_id' and 'tenant_id' do not match")
    wanted = project if project is not None else tenant
    if wanted is None:
        return ctx.project_id
    if wanted != ctx.project_id and not ctx.is_admin:
        raise exc.HTTPBadRequest(
            "Specifying 'project_id' other than the authenticated project in request "
            "is not allowed for the current user.")
    return wanted


def prepare_update(resource: Resource, item: dict) -> dict:
    _check_known(resource, item)
    data: dict[str, Any] = {}
    for name, value in item.items():
        attr = resource.attrs[name]
        if not attr.allow_put:
            raise exc.HTTPBadRequest(f"Cannot update read-only attribute {name}")
        data[name] = attr.convert(value) if attr.convert is not None else value
    return data
