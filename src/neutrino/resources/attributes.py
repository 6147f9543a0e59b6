"""Declarative resource definitions.

A resource is a set of `Attr`s. Body validation, defaults, update rules, visibility,
filters, sorting and per-field policy are all derived from these definitions; the
generic API controller holds no per-resource code.

A `Resource` is declared with its own (base) attributes; the attributes features
add to it are composed in by `resources.registry`, which then freezes it: after
that, `attrs` is a read-only mapping and `add` raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
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


class FrozenResourceError(RuntimeError):
    """A resource's attributes were changed after the registry composed it."""


@dataclass(eq=False)
class Resource:
    """A top-level collection served at ``/v2.0/<collection>``."""

    name: str            # "network"
    collection: str      # "networks"
    not_found: type[exc.NotFound] = exc.NotFound
    not_found_key: str = "id"
    # URL path segment when it differs from the collection (security-groups).
    path: str | None = None
    # Extra filters that are not attributes (e.g. ip_address filtering on fixed_ips).
    tag_support: bool = True
    # Its own attributes, in declaration order (what `add` declared).
    base: list[Attr] = field(default_factory=list, repr=False)
    # Base attributes then the features' (see resources.registry); read-only once
    # frozen. A name declared twice keeps its first position and its last value.
    attrs: Mapping[str, Attr] = field(init=False, repr=False)
    frozen: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.attrs = {a.name: a for a in self.base}

    def add(self, *attrs: Attr) -> Resource:
        """Declare base attributes (only before the registry freezes it)."""
        self._check_open()
        self.base.extend(attrs)
        self._extend(attrs)
        return self

    def _check_open(self) -> None:
        if self.frozen:
            raise FrozenResourceError(
                f"resource {self.name!r} is frozen: declare attributes in a feature "
                "of resources.catalog instead")

    def _extend(self, attrs: tuple[Attr, ...] | list[Attr]) -> None:
        composed = dict(self.attrs)
        for attr in attrs:
            composed[attr.name] = attr
        self.attrs = composed

    def compose(self, extra: list[Attr]) -> None:
        """Base attributes, then `extra` (the features'); then read-only for good."""
        self._check_open()
        self.attrs = {a.name: a for a in self.base}
        self._extend(extra)
        self.attrs = MappingProxyType(dict(self.attrs))
        self.frozen = True

    def blank(self) -> Resource:
        """An open copy with only the base attributes (to compose another registry)."""
        return replace(self, base=list(self.base))

    @property
    def url_path(self) -> str:
        return self.path or self.collection

    def not_found_error(self, resource_id: str) -> exc.NotFound:
        return self.not_found(**{self.not_found_key: resource_id})


def fill_defaults(value: Any, context: Any) -> Any:
    return value(context) if callable(value) else value
