"""Resource extensions: features that add attributes to an existing resource.

Security groups on ports, port security, allowed address pairs, extra DHCP options
(and later port binding) each add attributes to ports or networks without the core
service knowing them. The core service calls every registered extension, in order,
inside the request's transaction (three-phase write: the hooks do database work
only, no other I/O; they may raise a NeutronError to refuse the request).

An extension also adds its `Attr`s to the resource definition (resources/), so
validation, defaults, policy and filters of its attributes come from there.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.db.listing import FilterBuilder


class ResourceExtension(Protocol):
    attribute: str  # the attribute it adds (reads skip it when not asked for)
    # Optional `attributes`: a tuple of all the attributes it adds, when several
    # (provider:* and segments); reads run it when any of them is asked for.

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        """After the core row is written: store the extension's attributes of `data`
        (defaults already filled) and set them in `item`, the response being built."""

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        """Apply the extension's attributes present in `data` (a PUT body); `old` is
        the resource before the request, `item` the response being built."""

    def extend(self, session: Session, items: list[dict]) -> None:
        """Set the extension's attributes on each item read from the database."""

    def filters(self) -> dict[str, FilterBuilder]:
        """List filters on the extension's attributes, by attribute name."""


def run_create(extensions: list[Any], session: Session, ctx: Context, data: dict,
               item: dict) -> None:
    for extension in extensions:
        extension.create(session, ctx, data, item)


def run_update(extensions: list[Any], session: Session, ctx: Context, data: dict,
               old: dict, item: dict) -> None:
    for extension in extensions:
        extension.update(session, ctx, data, old, item)


def run_extend(extensions: list[Any], session: Session, items: list[dict],
               fields: set[str] | None = None) -> None:
    """Fill extension attributes; with `fields` (a list's fields=), only those asked."""
    if items:
        for extension in extensions:
            names = getattr(extension, "attributes", (extension.attribute,))
            if fields is None or not fields.isdisjoint(names):
                extension.extend(session, items)


def filter_builders(extensions: list[Any]) -> dict[str, FilterBuilder]:
    builders: dict[str, FilterBuilder] = {}
    for extension in extensions:
        builders.update(extension.filters())
    return builders
