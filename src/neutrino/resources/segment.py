"""segment and standard-attr-segment: a network's segments as a resource of their
own (`/v2.0/segments`), and `segment_id` on subnets (routed networks)."""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature

NETWORK_TYPE_MAX_LEN = 32
PHYSICAL_NETWORK_MAX_LEN = 64


class SegmentNotFound(exc.NotFound):
    message = "Segment %(segment_id)s could not be found."


class SegmentInUse(exc.InUse):
    message = "Segment '%(segment_id)s' cannot be deleted: %(reason)s."


class SubnetsNotAllAssociatedWithSegments(exc.BadRequest):
    message = ("All of the subnets on network '%(network_id)s' must either all be "
               "associated with segments or all not associated with any segment.")


class SubnetCantAssociateToDynamicSegment(exc.BadRequest):
    message = "A subnet cannot be associated with a dynamic segment."


class NetworkIdsDontMatch(exc.BadRequest):
    message = ("The subnet's network id, '%(subnet_network)s', doesn't match the "
               "network_id of segment '%(segment_id)s'")


def _string_or_none(attr: str, max_len: int) -> Any:
    check = v.string(attr, max_len)

    def convert(value: Any) -> str | None:
        return None if value is None else check(value)
    return convert


SEGMENT = Resource("segment", "segments", not_found=SegmentNotFound,
                   not_found_key="segment_id", tag_support=False)
SEGMENT.add(
    Attr("id", convert=v.uuid_value("id"), allow_post=False),
    # Segments have no owner; a project given on create is accepted (upstream) and
    # not kept.
    Attr("project_id", convert=v.project_id, default=None, visible=False,
         filterable=False, sortable=False),
    Attr("tenant_id", convert=v.project_id, default=None, visible=False,
         filterable=False, sortable=False),
    Attr("network_id", convert=v.uuid_value("network_id"), default=REQUIRED),
    Attr("network_type", convert=v.string("network_type", NETWORK_TYPE_MAX_LEN),
         default=REQUIRED),
    Attr("physical_network", convert=v.string("physical_network", PHYSICAL_NETWORK_MAX_LEN),
         default=None),
    Attr("segmentation_id", convert=v.to_int, default=None, filter_convert=v.query_int),
    Attr("name", convert=_string_or_none("name", v.NAME_MAX_LEN), default=None,
         allow_put=True),
    Attr("description", convert=_string_or_none("description", v.DESCRIPTION_MAX_LEN),
         default=None, allow_put=True),
    Attr("created_at", allow_post=False, filter_convert=v.query_datetime),
    Attr("updated_at", allow_post=False, filter_convert=v.query_datetime),
    Attr("revision_number", allow_post=False, filter_convert=v.query_int),
)

FEATURE = Feature(
    "segment",
    (Extension("segment", "Segment", "Segments extension.", "2016-02-24T17:00:00-00:00"),),
    resources=(SEGMENT,),
    adds={"subnets": (Attr("segment_id", convert=v.uuid_or_none("segment_id"),
                           default=None),)})
