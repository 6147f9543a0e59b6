"""network_availability_zone: `availability_zone_hints` (where a network's DHCP
should be scheduled; set on create only) and `availability_zones` (where the DHCP
agents hosting it are) on networks."""

from __future__ import annotations

import json
from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature

AZ_HINTS = "availability_zone_hints"
AZS = "availability_zones"
# Upstream keeps the hints as a JSON list in a 255-character column.
AZ_HINTS_DB_LEN = 255


class AvailabilityZoneNotFound(exc.NotFound):
    message = "AvailabilityZone %(availability_zone)s could not be found."


def hints_to_string(hints: list[str]) -> str:
    return json.dumps(hints)


def hints_from_string(text: str | None) -> list[str]:
    return json.loads(text) if text else []


def convert_hints(value: Any) -> list[str]:
    """A list of unique strings that fits upstream's column."""
    if not isinstance(value, list):
        raise v.bad(AZ_HINTS, f"'{value}' is not a list")
    for item in value:
        if not isinstance(item, str):
            raise v.bad(AZ_HINTS, f"'{item}' is not a valid string")
    if len(set(value)) != len(value):
        raise v.bad(AZ_HINTS, f"Duplicate items in the list: '{', '.join(value)}'")
    if len(hints_to_string(value)) > AZ_HINTS_DB_LEN:
        raise exc.InvalidInput("Too many availability_zone_hints specified")
    return value


FEATURE = Feature(
    "network_availability_zone",
    (Extension("network_availability_zone", "Network Availability Zone",
               "Availability zone support for network.", "2015-01-01T10:00:00-00:00"),),
    adds={"networks": (
        Attr(AZ_HINTS, convert=convert_hints, default=list, filterable=False,
             sortable=False),
        Attr(AZS, allow_post=False, filterable=False, sortable=False),
    )})
