"""The API extensions this server implements, as `/v2.0/extensions` lists them.

Derived from the features' declarations (`neutrino.resources.catalog`, composed by
`neutrino.resources.registry`): add an alias there, not here.
"""

from __future__ import annotations

from neutrino.resources import REGISTRY
from neutrino.resources.feature import Extension

__all__ = ["BY_ALIAS", "EXTENSIONS", "Extension"]

EXTENSIONS: list[Extension] = list(REGISTRY.extensions)

BY_ALIAS: dict[str, Extension] = dict(REGISTRY.by_alias)
