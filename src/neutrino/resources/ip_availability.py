"""network-ip-availability (and -details): read-only IP usage of networks and their
subnets. `ip_version` is a filter only (upstream: not shown; the subnets' own
`ip_version` is inside `subnet_ip_availability`)."""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Extension, Feature

IP_AVAILABILITY = Resource(
    "network_ip_availability", "network_ip_availabilities",
    not_found=exc.NetworkNotFound, not_found_key="net_id",
    path="network-ip-availabilities", tag_support=False)
IP_AVAILABILITY.add(
    Attr("network_id", allow_post=False),
    Attr("network_name", allow_post=False, sortable=False),
    Attr("project_id", allow_post=False, sortable=False),
    Attr("tenant_id", allow_post=False, sortable=False),
    Attr("total_ips", allow_post=False, filterable=False, sortable=False),
    Attr("used_ips", allow_post=False, filterable=False, sortable=False),
    Attr("subnet_ip_availability", allow_post=False, filterable=False, sortable=False),
    Attr("ip_availability_details", allow_post=False, filterable=False, sortable=False),
    Attr("ip_version", allow_post=False, visible=False, sortable=False,
         filter_convert=v.query_int),
)

FEATURE = Feature(
    "network-ip-availability",
    (Extension("network-ip-availability", "Network IP Availability",
               "Provides IP availability data for each network and subnet.",
               "2015-09-24T00:00:00-00:00"),
     Extension("network-ip-availability-details",
               "Network IP Availability Details Extension", "Add ip_availability_details "
               "attribute to network-ip-availabilities resource.",
               "2025-10-31T00:00:00-00:00")),
    resources=(IP_AVAILABILITY,))
