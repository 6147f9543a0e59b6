"""network_ha: the `ha` flag a network is created with (upstream's "Network HA
creation flag"): accepted on create only, never shown, set by the server on the HA
networks it makes for HA routers (services/l3_ha.py)."""

from __future__ import annotations

from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature

HA = "ha"

FEATURE = Feature(
    "network_ha",
    (Extension("network_ha", "Network HA creation flag",
               "Network high availability creation flag.", "2023-04-27T10:00:00-00:00"),),
    adds={"networks": (
        Attr(HA, convert=v.to_boolean, default=False, visible=False, filterable=False,
             sortable=False),
    )})
