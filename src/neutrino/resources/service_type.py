"""service-type: the service providers (drivers) of the advanced services, which
flavors' service profiles name (GET /v2.0/service-providers, read only)."""

from __future__ import annotations

from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Extension, Feature

SERVICE_PROVIDER = Resource("service_provider", "service_providers",
                            path="service-providers", tag_support=False)
SERVICE_PROVIDER.add(
    Attr("service_type", allow_post=False),
    Attr("name", allow_post=False),
    Attr("default", allow_post=False, filter_convert=v.query_bool),
)

FEATURE = Feature(
    "service-type",
    (Extension("service-type", "Neutron Service Type Management", "API for retrieving "
               "service providers for Neutron advanced services",
               "2013-01-20T00:00:00-00:00"),),
    resources=(SERVICE_PROVIDER,))
