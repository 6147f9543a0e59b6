"""What a feature declares: its API extension aliases, the resources it defines and
the attributes it adds to other features' resources. Plain data: nothing here
changes a resource; `resources.registry` composes them (see its docstring).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from neutrino.resources.attributes import Attr, Resource


@dataclass(frozen=True)
class Extension:
    """One alias of `/v2.0/extensions`, with upstream's name, description and date."""

    alias: str
    name: str
    description: str
    updated: str

    def to_dict(self) -> dict:
        return {"name": self.name, "alias": self.alias, "description": self.description,
                "updated": self.updated, "links": []}


@dataclass(frozen=True)
class Feature:
    """A unit of the catalog that can be left out as a whole.

    ``extensions``: the aliases it makes `/v2.0/extensions` list (none for the
    core resources); they are listed together, in this order.
    ``resources``: the collections it defines, with their base attributes.
    ``adds``: collection -> attributes it adds to a resource of another feature,
    in the order they follow that resource's base attributes.
    """

    key: str
    extensions: tuple[Extension, ...] = ()
    resources: tuple[Resource, ...] = ()
    adds: Mapping[str, tuple[Attr, ...]] = field(default_factory=dict)


def extension(alias: str, name: str, description: str, updated: str) -> Feature:
    """A feature that is an API behaviour only: one alias, no attributes."""
    return Feature(alias, (Extension(alias, name, description, updated),))
