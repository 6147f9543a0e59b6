"""network-segment-range: the segmentation ids project networks are given, as
ranges an administrator manages (`/v2.0/network_segment_ranges`)."""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.standard import standard_attrs

# Upstream's order (the message of a bad network_type lists them so).
RANGE_TYPES = ["vlan", "vxlan", "gre", "geneve"]
# The widest valid ids (GRE's); each type's own limits are checked by the service.
ID_MIN, ID_MAX = 1, 2**32 - 1
PHYSICAL_NETWORK_MAX_LEN = 64


class NetworkSegmentRangeNotFound(exc.NotFound):
    message = "Network Segment Range %(range_id)s could not be found."


class NetworkSegmentRangeNetTypeNotSupported(exc.BadRequest):
    message = "Network type %(type)s does not support network segment ranges."


class NetworkSegmentRangeReferencedByProject(exc.InUse):
    message = ("Network Segment Range %(range_id)s is referenced by one or more tenant "
               "networks.")


class NetworkSegmentRangeDefaultReadOnly(exc.BadRequest):
    message = ("Network Segment Range %(range_id)s is a default segment range which "
               "could not be updated or deleted.")


class NetworkSegmentRangeOverlaps(exc.Conflict):
    message = "Network segment range overlaps with range(s) with id %(range_id)s"


class NetworkVlanRangeError(exc.BadRequest):
    message = "Invalid network VLAN range: '%(vlan_range)s' - '%(error)s'."


class NetworkTunnelRangeError(exc.BadRequest):
    message = "Invalid network tunnel range: '%(tunnel_range)s' - %(error)s."


def _physical_network(value: object) -> str | None:
    return None if value is None else v.string("physical_network",
                                               PHYSICAL_NETWORK_MAX_LEN)(value)


_STANDARD = {a.name: a for a in standard_attrs()}
NETWORK_SEGMENT_RANGE = Resource(
    "network_segment_range", "network_segment_ranges",
    not_found=NetworkSegmentRangeNotFound, not_found_key="range_id")
NETWORK_SEGMENT_RANGE.add(
    *[a for name, a in _STANDARD.items() if name != "description"],
    Attr("description", convert=v.string("description", v.DESCRIPTION_MAX_LEN),
         default="", allow_put=True, sortable=False),
    Attr("default", allow_post=False, filterable=False, sortable=False),
    Attr("shared", convert=v.to_boolean, default=True, filterable=False, sortable=False),
    Attr("network_type", convert=v.one_of("network_type", RANGE_TYPES), default=REQUIRED,
         sortable=False),
    Attr("physical_network", convert=_physical_network, default=None, sortable=False),
    Attr("minimum", convert=v.int_in_range("minimum", ID_MIN, ID_MAX), default=REQUIRED,
         allow_put=True, filterable=False, sortable=False),
    Attr("maximum", convert=v.int_in_range("maximum", ID_MIN, ID_MAX), default=REQUIRED,
         allow_put=True, filterable=False, sortable=False),
    Attr("available", allow_post=False, filterable=False, sortable=False),
    Attr("used", allow_post=False, filterable=False, sortable=False),
)

FEATURE = Feature(
    "network-segment-range",
    (Extension("network-segment-range", "Neutron Network Segment Range",
               "Provides support for the network segment range management",
               "2018-11-29T00:00:00-00:00"),),
    resources=(NETWORK_SEGMENT_RANGE,))
