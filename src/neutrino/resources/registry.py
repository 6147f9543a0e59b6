"""The registry: every resource composed once from the catalog's features, frozen.

`compose(features)` builds each resource as its base attributes (declared by the
feature that defines it) followed by the attributes other features add, feature
by feature in the order given, then freezes it: after that `attrs` is read-only and
`Resource.add` raises. Nothing depends on which module was imported first.

The server's registry is `neutrino.resources.REGISTRY`, composed from
`catalog.CATALOG` when the package is first imported (see `resources/__init__`).
Another registry (e.g. with a feature left out) is `compose(...)` of another list
of features; it composes copies and leaves the server's resources alone.

`/v2.0/extensions` lists the features' aliases sorted by alias; a feature with
several aliases lists them together, in its declared order (quotas, quota_details).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Extension, Feature


@dataclass(frozen=True)
class Registry:
    features: tuple[Feature, ...]
    resources: Mapping[str, Resource]     # by collection, in catalog order
    extensions: tuple[Extension, ...]     # as /v2.0/extensions lists them
    by_alias: Mapping[str, Extension]

    def resource(self, collection: str) -> Resource:
        return self.resources[collection]

    def without(self, *keys: str) -> Registry:
        """A registry of the same features but these (copies of the resources)."""
        unknown = set(keys) - {f.key for f in self.features}
        if unknown:
            raise ValueError(f"no such features: {sorted(unknown)}")
        return compose(f for f in self.features if f.key not in keys)


def compose(features: Iterable[Feature], *, in_place: bool = False) -> Registry:
    """Compose and freeze every resource the features define.

    `in_place` composes the declared resource objects themselves (once, for the
    server's registry: modules that imported them see the result); otherwise
    copies with their base attributes only are composed.
    """
    features = tuple(features)
    _check_unique("feature", [f.key for f in features])
    _check_unique("alias", [e.alias for f in features for e in f.extensions])
    declared = [r for f in features for r in f.resources]
    _check_unique("collection", [r.collection for r in declared])

    resources = {r.collection: r if in_place else r.blank() for r in declared}
    added: dict[str, list[Attr]] = {c: [] for c in resources}
    for feature in features:
        for collection, attrs in feature.adds.items():
            # A feature may add to a resource of a feature left out: nothing to add to.
            if collection not in resources:
                continue
            taken = {a.name for a in resources[collection].base} | \
                {a.name for a in added[collection]}
            clash = sorted(taken & {a.name for a in attrs})
            if clash:
                raise ValueError(f"feature {feature.key!r} redeclares {clash} "
                                 f"of {collection}")
            added[collection].extend(attrs)
    for collection, resource in resources.items():
        resource.compose(added[collection])

    listed = sorted((f for f in features if f.extensions),
                    key=lambda f: f.extensions[0].alias)
    extensions = tuple(e for f in listed for e in f.extensions)
    return Registry(features, MappingProxyType(resources), extensions,
                    MappingProxyType({e.alias: e for e in extensions}))


def _check_unique(what: str, names: list[str]) -> None:
    dupes = sorted(name for name, count in Counter(names).items() if count > 1)
    if dupes:
        raise ValueError(f"{what} declared twice: {dupes}")
