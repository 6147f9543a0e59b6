"""Routers (extensions router, ext-gw-mode, extraroute, router_availability_zone,
dvr's `distributed` (admin-only; default: the router_distributed option) with
router-admin-state-down-before-update, and l3-ha's `ha` (admin-only; default: the
l3_ha option; services/l3_ha.py)."""

from __future__ import annotations

import ipaddress
from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Extension, Feature, extension
from neutrino.resources.floatingip import FLOATINGIP
from neutrino.resources.port import UNSET
from neutrino.resources.standard import standard_attrs

GW_KEYS = {"network_id", "enable_snat", "external_fixed_ips", "qos_policy_id"}


def to_boolean_if_not_none(value: Any) -> bool | None:
    return None if value is None else v.to_boolean(value)


class RouterNotFound(exc.NotFound):
    message = "Router %(router_id)s could not be found"


class RouterInUse(exc.InUse):
    message = "Router %(router_id)s %(reason)s"


class RouterBadRequest(exc.BadRequest):
    """Upstream's BadRequest(resource='router', msg=...): type "BadRequest"."""

    def __init__(self, msg: str) -> None:
        exc.NeutronError.__init__(self, resource="router", msg=msg)

    @property
    def type(self) -> str:
        return "BadRequest"


class InvalidRoutes(exc.InvalidInput):
    message = "Invalid format for routes: %(routes)s, %(reason)s"

    def __init__(self, **kwargs: Any) -> None:
        exc.NeutronError.__init__(self, **kwargs)


class RoutesExhausted(exc.BadRequest):
    message = ("Unable to complete operation for %(router_id)s. The number of routes "
               "exceeds the maximum %(quota)s.")


class RouterExternalGatewayInUseByFloatingIp(exc.InUse):
    message = ("Gateway cannot be updated for router %(router_id)s, since a gateway to "
               "external network %(net_id)s is required by one or more floating IPs.")


class FlavorNotFound(exc.NotFound):
    message = "Flavor %(flavor_id)s could not be found."


class AvailabilityZoneNotFound(exc.NotFound):
    message = "AvailabilityZone %(availability_zone)s could not be found."


def gateway_info(value: Any) -> dict | None:
    """external_gateway_info: null or {} clears the gateway; otherwise network_id is
    required, enable_snat a boolean, external_fixed_ips a list of
    {subnet_id?, ip_address?}."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise v.bad("external_gateway_info", f"'{value}' is not a dictionary")
    unknown = sorted(set(value) - GW_KEYS)
    if unknown:
        raise v.bad("external_gateway_info",
                    f"Validation of dictionary's keys failed. Expected keys: "
                    f"{{'network_id'}} Provided keys: {set(value)}")
    if "network_id" not in value:
        raise v.bad("external_gateway_info",
                    f"Validation of dictionary's keys failed. Expected keys: "
                    f"{{'network_id'}} Provided keys: {set(value)}")
    out: dict[str, Any] = {
        "network_id": v.uuid_value("external_gateway_info")(value["network_id"])}
    if "enable_snat" in value:
        out["enable_snat"] = v.to_boolean(value["enable_snat"])
    if "external_fixed_ips" in value:
        out["external_fixed_ips"] = _fixed_ips(value["external_fixed_ips"])
    if "qos_policy_id" in value:  # qos-gateway-ip (services/qos_l3.py)
        out["qos_policy_id"] = v.uuid_or_none("external_gateway_info")(
            value["qos_policy_id"])
    return out


def _fixed_ips(value: Any) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise v.bad("external_gateway_info", f"'{value}' is not a list")
    out = []
    for item in value:
        if not isinstance(item, dict) or not item or set(item) - {"subnet_id",
                                                                   "ip_address"}:
            raise v.bad("external_gateway_info",
                        f"Invalid data format for fixed IP: '{item}'")
        entry = {}
        if "subnet_id" in item:
            entry["subnet_id"] = v.uuid_value("external_gateway_info")(item["subnet_id"])
        if "ip_address" in item:
            entry["ip_address"] = v.ip_address("external_gateway_info")(item["ip_address"])
        out.append(entry)
    return out


def routes(value: Any) -> list[dict]:
    """extraroute's routes: [{destination: CIDR, nexthop: IP}], no duplicates."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise v.bad("routes", f"Invalid data format for hostroute: '{value}'")
    out: list[dict] = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"destination", "nexthop"}:
            raise v.bad("routes", f"Invalid data format for hostroute: '{item}'")
        try:
            dest = ipaddress.ip_network(str(item["destination"]), strict=False)
            if not isinstance(item["destination"], str) or "/" not in item["destination"]:
                raise ValueError
        except ValueError:
            raise v.bad("routes", f"'{item['destination']}' is not a valid IP subnet"
                        ) from None
        nexthop = v.ip_address("routes")(item["nexthop"])
        route = {"destination": str(dest), "nexthop": nexthop}
        if route in out:
            raise v.bad("routes", f"Duplicate hostroute '{item}'")
        out.append(route)
    return out


def az_hints(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(h, str) and h for h in value):
        raise v.bad("availability_zone_hints", f"'{value}' is not a list of strings")
    if len(set(value)) != len(value):
        raise v.bad("availability_zone_hints", f"Duplicate items in the list: "
                    f"'{', '.join(sorted({h for h in value if value.count(h) > 1}))}'")
    for hint in value:
        if len(hint) > 255:
            raise v.bad("availability_zone_hints",
                        f"'{hint}' exceeds maximum length of 255")
    return list(value)


ROUTER = Resource("router", "routers", not_found=RouterNotFound,
                  not_found_key="router_id")
ROUTER.add(
    *standard_attrs(),
    Attr("admin_state_up", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    Attr("status", allow_post=False),
    Attr("external_gateway_info", convert=gateway_info, default=None, allow_put=True,
         enforce_policy=True, filterable=False, sortable=False),
    Attr("routes", convert=routes, allow_post=False, allow_put=True, filterable=False,
         sortable=False),
    Attr("availability_zone_hints", convert=az_hints, default=list, filterable=False,
         sortable=False),
    Attr("availability_zones", allow_post=False, filterable=False, sortable=False),
    # dvr: null (or not given) means the router_distributed option's value.
    Attr("distributed", convert=to_boolean_if_not_none, default=UNSET, allow_put=True,
         enforce_policy=True, filter_convert=v.query_bool),
    # l3-ha: null (or not given) means the l3_ha option's value.
    Attr("ha", convert=to_boolean_if_not_none, default=UNSET, allow_put=True,
         enforce_policy=True, filter_convert=v.query_bool),
    Attr("flavor_id", convert=v.uuid_or_none("flavor_id"), default=None),
)

# Floating IPs are part of upstream's router extension.
FEATURE = Feature(
    "router",
    (Extension("router", "Neutron L3 Router", "Router abstraction for basic L3 "
               "forwarding between L2 Neutron networks and access to external networks "
               "via a NAT gateway.", "2012-07-20T10:00:00-00:00"),),
    resources=(ROUTER, FLOATINGIP))

# Behaviours of the router's base attributes (aliases only).
EXT_GW_MODE = extension(
    "ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the "
    "router abstraction for specifying whether SNAT should occur on the external "
    "gateway", "2013-03-28T10:00:00-00:00")
EXTRAROUTE = extension(
    "extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router",
    "2013-02-01T10:00:00-00:00")
EXTRAROUTE_ATOMIC = extension(
    "extraroute-atomic", "Atomically add/remove extra routes", "Edit extra routes of a "
    "router on server side by atomically adding/removing extra routes",
    "2019-07-10T00:00:00+00:00")
ROUTER_AVAILABILITY_ZONE = extension(
    "router_availability_zone", "Router Availability Zone", "Availability zone support "
    "for router.", "2015-01-01T10:00:00-00:00")

# Port updates cannot change a router port's addresses (services/l3_port_checks.py).
L3_PORT_IP_CHANGE_NOT_ALLOWED = extension(
    "l3-port-ip-change-not-allowed", "Prevent L3 router ports IP address change "
    "extension", "Prevent change of IP address for some L3 router ports",
    "2018-10-09T10:00:00-00:00")

# `distributed` (the base attribute above): an alias for the behaviour.
DVR = extension(
    "dvr", "Distributed Virtual Router", "Enables configuration of Distributed Virtual "
    "Routers.", "2014-06-1T10:00:00-00:00")
# Changing `distributed` needs the router down before and in the request.
ROUTER_ADMIN_STATE_DOWN_BEFORE_UPDATE = extension(
    "router-admin-state-down-before-update", "Enforce Router's Admin State Down Before "
    "Update Extension", "Ensure that the admin state of a router is DOWN "
    "(admin_state_up=False) before updating the distributed attribute",
    "2019-07-02T15:56:00")

# `ha` (the base attribute above): keepalived VRRP between the router's L3 agents
# (services/l3_ha.py, agent/l3/keepalived.py).
L3_HA = extension(
    "l3-ha", "HA Router extension", "Adds HA capability to routers.",
    "2014-04-26T00:00:00-00:00")
