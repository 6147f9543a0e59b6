"""Declarative resource definitions.

A resource is a set of `Attr`s. Body validation, defaults, update rules, visibility,
filters, sorting and per-field policy are all derived from these definitions; the
generic API controller holds no per-resource code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from neutrino import exceptions as exc


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Attr:
    """One attribute of a resource, as the API exposes it.

    ``convert`` validates and converts a body value; it raises a NeutronError
    (InvalidInput or HTTPBadRequest) with upstream's message on bad input.
    ``default`` is REQUIRED when a create must give it; a callable default is
    called with the context. ``enforce_policy`` makes the attribute subject to
    ``<action>_<resource>:<attr>`` rules (admin-only fields).
    ``filter`` takes the raw query string value and returns the value(s) to
    compare; None disables filtering on the attribute.
    """

    name: str
    convert: Converter | None = None
    default: Any = None
    allow_post: bool = True
    allow_put: bool = False
    visible: bool = True
    filterable: bool = True
    sortable: bool = True
    enforce_policy: bool = False
    filter_convert: Converter | None = None


@dataclass
class Resource:
    """A top-level collection served at ``/v2.0/<collection>``."""

    name: str            # "network"
    collection: str      # "networks"
    attrs: dict[str, Attr] = field(default_factory=dict)
    not_found: type[exc.NotFound] = exc.NotFound
    not_found_key: str = "id"
    # URL path segment when it differs from the collection (security-groups).
    path: str | None = None
    # Extra filters that are not attributes (e.g. ip_address filtering on fixed_ips).
    tag_support: bool = True

    def add(self, *attrs: Attr) -> Resource:
        for attr in attrs:
            self.attrs[attr.name] = attr
        return self

    @property
    def url_path(self) -> str:
        return self.path or self.collection

    def not_found_error(self, resource_id: str) -> exc.NotFound:
        return self.not_found(**{self.not_found_key: resource_id})


def fill_defaults(value: Any, context: Any) -> Any:
    return value(context) if callable(value) else value
