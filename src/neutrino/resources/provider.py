"""provider and multi-provider: how a network is carried (admin-only attributes).

`provider:network_type`, `provider:physical_network`, `provider:segmentation_id`
describe a network with one segment; `segments` lists the segments of a network with
several (then the provider:* attributes are null).
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature

NETWORK_TYPE = "provider:network_type"
PHYSICAL_NETWORK = "provider:physical_network"
SEGMENTATION_ID = "provider:segmentation_id"
SEGMENTS = "segments"
PROVIDER_ATTRS = (NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID)
UNSET_SEGMENTS: Any = None


def _string_or_none(attr: str, max_len: int) -> Any:
    check = v.string(attr, max_len)

    def convert(value: Any) -> str | None:
        return None if value is None else check(value)
    return convert


def _int_or_none(value: Any) -> int | None:
    return None if value is None else v.to_int(value)


def convert_segments(value: Any) -> list[dict] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise exc.InvalidInput(f"Invalid data format for segments: '{value}'")
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            raise exc.InvalidInput(f"Invalid data format for segment: '{entry}'")
        unknown = sorted(set(entry) - set(PROVIDER_ATTRS))
        if unknown:
            raise exc.InvalidInput(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
        out.append({NETWORK_TYPE: _string_or_none(NETWORK_TYPE, 255)(entry.get(NETWORK_TYPE)),
                    PHYSICAL_NETWORK: _string_or_none(PHYSICAL_NETWORK, 64)(
                        entry.get(PHYSICAL_NETWORK)),
                    SEGMENTATION_ID: _int_or_none(entry.get(SEGMENTATION_ID))})
    return out


PROVIDER = Feature(
    "provider",
    (Extension("provider", "Provider Network", "Expose mapping of virtual networks to "
               "physical networks", "2012-09-07T10:00:00-00:00"),),
    adds={"networks": (
        Attr(NETWORK_TYPE, convert=_string_or_none(NETWORK_TYPE, 255), default=None,
             allow_put=True, enforce_policy=True, sortable=False),
        Attr(PHYSICAL_NETWORK, convert=_string_or_none(PHYSICAL_NETWORK, 64),
             default=None, allow_put=True, enforce_policy=True, sortable=False),
        Attr(SEGMENTATION_ID, convert=_int_or_none, default=None, allow_put=True,
             enforce_policy=True, sortable=False),
    )})

MULTI_PROVIDER = Feature(
    "multi-provider",
    (Extension("multi-provider", "Multi Provider Network", "Expose mapping of virtual "
               "networks to multiple physical networks", "2013-06-27T10:00:00-00:00"),),
    adds={"networks": (
        Attr(SEGMENTS, convert=convert_segments, default=None, allow_put=True,
             enforce_policy=True, filterable=False, sortable=False),
    )})
