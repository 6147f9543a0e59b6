"""flavors: operator-curated flavors of an advanced service, each backed by service
profiles that name a service provider's driver; l3-flavors: a router may be created
with the flavor_id of an L3_ROUTER_NAT flavor (the router's attribute is declared with
the router: resources/router.py)."""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature

LONG_DESCRIPTION_MAX_LEN = 1024
METAINFO_MAX_LEN = 4096


class FlavorNotFound(exc.NotFound):
    message = "Flavor %(flavor_id)s could not be found."


class FlavorInUse(exc.InUse):
    message = "Flavor %(flavor_id)s is used by some service instance."


class ServiceProfileNotFound(exc.NotFound):
    message = "Service Profile %(sp_id)s could not be found."


class ServiceProfileInUse(exc.InUse):
    message = "Service Profile %(sp_id)s is used by some service instance."


class FlavorServiceProfileBindingExists(exc.Conflict):
    message = "Service Profile %(sp_id)s is already associated with flavor %(fl_id)s."


class FlavorServiceProfileBindingNotFound(exc.NotFound):
    message = "Service Profile %(sp_id)s is not associated with flavor %(fl_id)s."


class ServiceProfileDriverNotFound(exc.NotFound):
    message = "Service Profile driver %(driver)s could not be found."


class ServiceProfileEmpty(exc.BadRequest):
    message = "Service Profile needs either a driver or metainfo."


class FlavorDisabled(exc.ServiceUnavailable):
    message = "Flavor is not enabled."


class ServiceProfileDisabled(exc.ServiceUnavailable):
    message = "Service Profile is not enabled."


class InvalidFlavorServiceType(exc.BadRequest):
    message = "Invalid service type %(service_type)s."


def service_type(loaded: tuple[str, ...]) -> Any:
    """A service type whose plugin this server runs (upstream's type:service_plugin_type)."""
    def convert(value: Any) -> str:
        if not isinstance(value, str) or value not in loaded:
            raise InvalidFlavorServiceType(service_type=value)
        return value
    return convert


def uuid_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise v.bad("service_profiles", f"'{value}' is not a list")
    check = v.uuid_value("service_profiles")
    out = [check(item) for item in value]
    if len(set(out)) != len(out):
        raise v.bad("service_profiles", f"Duplicate items in the list: '{value}'")
    return out


def optional_text(attr: str, max_len: int) -> Any:
    """A string (null: empty), as upstream's string_or_none."""
    check = v.string(attr, max_len)

    def convert(value: Any) -> str:
        return "" if value is None else check(value)
    return convert


def enabled(value: Any) -> bool:
    return True if value is None else v.to_boolean(value)


L3_ROUTER_NAT = "L3_ROUTER_NAT"
FLAVORS_SERVICE = "FLAVORS"
# What a flavor may be for: the service types of the plugins this server runs.
LOADED_SERVICE_TYPES = (L3_ROUTER_NAT, FLAVORS_SERVICE)

FLAVOR = Resource("flavor", "flavors", not_found=FlavorNotFound,
                  not_found_key="flavor_id", tag_support=False)
FLAVOR.add(
    Attr("id", convert=v.uuid_value("id"), allow_post=False),
    Attr("name", convert=v.string("name", v.NAME_MAX_LEN), default="", allow_put=True),
    Attr("description", convert=optional_text("description", LONG_DESCRIPTION_MAX_LEN),
         default="", allow_put=True),
    Attr("service_type", convert=service_type(LOADED_SERVICE_TYPES), default=REQUIRED),
    Attr("service_profiles", convert=uuid_list, default=list, allow_put=True,
         filterable=False, sortable=False),
    Attr("enabled", convert=enabled, default=True, allow_put=True,
         filter_convert=v.query_bool),
)

SERVICE_PROFILE = Resource("service_profile", "service_profiles",
                           not_found=ServiceProfileNotFound, not_found_key="sp_id",
                           tag_support=False)
SERVICE_PROFILE.add(
    Attr("id", convert=v.uuid_value("id"), allow_post=False),
    Attr("description", convert=optional_text("description", LONG_DESCRIPTION_MAX_LEN),
         default="", allow_put=True),
    Attr("driver", convert=v.string("driver", LONG_DESCRIPTION_MAX_LEN), default="",
         allow_put=True),
    Attr("metainfo", convert=optional_text("metainfo", METAINFO_MAX_LEN), default="",
         allow_put=True, filterable=False),
    Attr("enabled", convert=enabled, default=True, allow_put=True,
         filter_convert=v.query_bool),
)

FLAVORS = Feature(
    "flavors",
    (Extension("flavors", "Neutron Service Flavors", "Flavor specification for Neutron "
               "advanced services.", "2015-09-17T10:00:00-00:00"),),
    resources=(FLAVOR, SERVICE_PROFILE))

L3_FLAVORS = Feature(
    "l3-flavors",
    (Extension("l3-flavors", "Router Flavor Extension", "Flavor support for routers.",
               "2016-05-17T00:00:00-00:00"),))
