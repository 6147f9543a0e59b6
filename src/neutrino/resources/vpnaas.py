"""VPNaaS (issue 16): ``/v2.0/vpn/ikepolicies``, ``ipsecpolicies``, ``vpnservices``,
``endpoint-groups`` and ``ipsec-site-connections``; extensions ``vpnaas`` and
``vpn-endpoint-groups``.

Upstream's names, values, defaults and error types throughout (neutron-lib's ``vpn``
and ``vpn_endpoint_groups`` definitions and ``exceptions/vpn.py``; neutron-vpnaas's
reference validator). The checks that need the database (router, subnets, endpoint
groups, IP versions) are the service's (services/vpnaas*.py); the pure ones are here.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature

# neutron-lib's constants (api/definitions/vpn.py).
INITIATORS = ["bi-directional", "response-only"]
ENCRYPTION_ALGORITHMS = ["3des", "aes-128", "aes-192", "aes-256", *[
    f"aes-{bits}-{mode}-{icv}" for mode in ("ccm", "gcm") for icv in (8, 12, 16)
    for bits in (128, 192, 256)]]
DPD_ACTIONS = ["clear", "disabled", "hold", "restart", "restart-by-peer"]
TRANSFORM_PROTOCOLS = ["ah", "ah-esp", "esp"]
ENCAPSULATION_MODES = ["transport", "tunnel"]
LIFETIME_UNITS = ["seconds"]
PFS_GROUPS = ["group2", "group5", *[f"group{n}" for n in range(14, 32)]]
IKE_VERSIONS = ["v1", "v2"]
AUTH_ALGORITHMS = ["sha1", "sha256", "sha384", "sha512", "aes-xcbc", "aes-cmac"]
PHASE1_MODES = ["main", "aggressive"]
# neutron-lib's vpn_endpoint_groups constants.
SUBNET_ENDPOINT, CIDR_ENDPOINT = "subnet", "cidr"
ENDPOINT_TYPES = ["cidr", "network", "router", "subnet", "vlan"]

LIFETIME_MIN = 60  # upstream's _vpn_lifetime_limits (60, unlimited)
DEFAULT_LIFETIME = {"units": "seconds", "value": 3600}
DEFAULT_DPD = {"action": "hold", "interval": 30, "timeout": 120}
IP_MIN_MTU = {4: 68, 6: 1280}  # the reference validator's

ACTIVE, DOWN, ERROR = "ACTIVE", "DOWN", "ERROR"
PENDING_CREATE, PENDING_UPDATE, PENDING_DELETE = (
    "PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")
PENDING = (PENDING_CREATE, PENDING_UPDATE, PENDING_DELETE)


# -- neutron-lib's exceptions/vpn.py (types and messages as upstream) ----------------

class VPNServiceNotFound(exc.NotFound):
    message = "VPNService %(vpnservice_id)s could not be found"


class IPsecSiteConnectionNotFound(exc.NotFound):
    message = "ipsec_site_connection %(ipsec_site_conn_id)s not found"


class IKEPolicyNotFound(exc.NotFound):
    message = "IKEPolicy %(ikepolicy_id)s could not be found"


class IPsecPolicyNotFound(exc.NotFound):
    message = "IPsecPolicy %(ipsecpolicy_id)s could not be found"


class VPNEndpointGroupNotFound(exc.NotFound):
    message = "Endpoint group %(endpoint_group_id)s could not be found"


class _InvalidInput(exc.BadRequest):
    """neutron-lib's InvalidInput subclasses (400), each under its own type."""


class IPsecSiteConnectionDpdIntervalValueError(_InvalidInput):
    message = "ipsec_site_connection %(attr)s is equal to or less than dpd_interval"


class IPsecSiteConnectionMtuError(_InvalidInput):
    message = "ipsec_site_connection MTU %(mtu)d is too small for ipv%(version)s"


class IPsecSiteConnectionPeerCidrError(_InvalidInput):
    message = "ipsec_site_connection peer cidr %(peer_cidr)s is invalid CIDR"


class VPNPeerAddressNotResolved(_InvalidInput):
    message = "Peer address %(peer_address)s cannot be resolved"


class InvalidEndpointInEndpointGroup(_InvalidInput):
    message = ("Endpoint '%(endpoint)s' is invalid for group type '%(group_type)s': "
               "%(why)s")


class NonExistingSubnetInEndpointGroup(_InvalidInput):
    message = "Subnet %(subnet)s in endpoint group does not exist"


class IKEPolicyInUse(exc.InUse):
    message = ("IKEPolicy %(ikepolicy_id)s is in use by existing IPsecSiteConnection "
               "and can't be updated or deleted")


class IPsecPolicyInUse(exc.InUse):
    message = ("IPsecPolicy %(ipsecpolicy_id)s is in use by existing "
               "IPsecSiteConnection and can't be updated or deleted")


class VPNServiceInUse(exc.InUse):
    message = "VPNService %(vpnservice_id)s is still in use"


class SubnetInUseByVPNService(exc.InUse):
    message = "Subnet %(subnet_id)s is used by VPNService %(vpnservice_id)s"


class SubnetInUseByEndpointGroup(exc.InUse):
    message = "Subnet %(subnet_id)s is used by endpoint group %(group_id)s"


class SubnetInUseByIPsecSiteConnection(exc.InUse):
    message = ("Subnet %(subnet_id)s is used by ipsec site connection "
               "%(ipsec_site_connection_id)s")


class VPNStateInvalidToUpdate(exc.BadRequest):
    message = "Invalid state %(state)s of vpnaas resource %(id)s for updating"


class SubnetIsNotConnectedToRouter(exc.BadRequest):
    message = "Subnet %(subnet_id)s is not connected to Router %(router_id)s"


class RouterIsNotExternal(exc.BadRequest):
    message = "Router %(router_id)s has no external network gateway set"


class ExternalNetworkHasNoSubnet(exc.BadRequest):
    message = "Router's %(router_id)s external network has no %(ip_version)s subnet"


class MissingEndpointForEndpointGroup(exc.BadRequest):
    message = "No endpoints specified for endpoint group '%(group)s'"


class MixedIPVersionsForIPSecEndpoints(exc.BadRequest):
    message = ("Endpoints in group %(group)s do not have the same IP version, as "
               "required for IPSec site-to-site connection")


class MixedIPVersionsForPeerCidrs(exc.BadRequest):
    message = ("Peer CIDRs do not have the same IP version, as required for IPSec "
               "site-to-site connection")


class MixedIPVersionsForIPSecConnection(exc.BadRequest):
    message = "IP versions are not compatible between peer and local endpoints"


class InvalidEndpointGroup(exc.BadRequest):
    message = ("Endpoint group%(suffix)s %(which)s cannot be specified, when VPN "
               "Service has subnet specified")


class WrongEndpointGroupType(exc.BadRequest):
    message = ("Endpoint group %(which)s type is '%(group_type)s' and should be "
               "'%(expected)s'")


class PeerCidrsInvalid(exc.BadRequest):
    message = "Peer CIDRs cannot be specified, when using endpoint groups"


class MissingPeerCidrs(exc.BadRequest):
    message = "Missing peer CIDRs for IPsec site-to-site connection"


class MissingRequiredEndpointGroup(exc.BadRequest):
    message = ("Missing endpoint group%(suffix)s %(which)s for IPSec site-to-site "
               "connection")


class EndpointGroupInUse(exc.BadRequest):
    message = "Endpoint group %(group_id)s is in use and cannot be deleted"


# -- converters ----------------------------------------------------------------------

def _dict_of(attr: str, specs: dict[str, Any]) -> Any:
    """Upstream's "type:dict_or_empty" with per-key validators (convert_none_to_
    empty_dict first): only the known keys, each checked; {} when none."""
    @v.described({"type": ["object", "null"],
                  "properties": {k: getattr(c, "schema", {}) for k, c in specs.items()}})
    def convert(value: Any) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise v.bad(attr, f"'{value}' is not a dictionary")
        unknown = sorted(set(value) - set(specs))
        if unknown:
            raise v.bad(attr, f"Unexpected keys supplied: {', '.join(unknown)}")
        return {key: specs[key](item) for key, item in value.items()}
    return convert


def _range_from(attr: str, low: int) -> Any:
    @v.described({"type": "integer", "minimum": low})
    def convert(value: Any) -> int:
        try:
            number = v.to_int(value)
        except exc.InvalidInput:
            raise v.bad(attr, f"'{value}' is not an integer") from None
        if number < low:
            raise v.bad(attr, f"'{number}' is too small - must be at least '{low}'")
        return number
    return convert


def _non_negative_int(attr: str) -> Any:
    inner = v.non_negative(attr)

    @v.described(inner.schema)
    def convert(value: Any) -> int:
        try:
            return inner(value)
        except exc.InvalidInput:
            raise v.bad(attr, f"'{value}' is not an integer") from None
    return convert


lifetime = _dict_of("lifetime", {"units": v.one_of("lifetime", LIFETIME_UNITS),
                                 "value": _range_from("lifetime", LIFETIME_MIN)})
dpd = _dict_of("dpd", {"action": v.one_of("dpd", DPD_ACTIONS),
                       "interval": _non_negative_int("dpd"),
                       "timeout": _non_negative_int("dpd")})


@v.described({"type": ["array", "null"], "items": {"type": "string"}})
def peer_cidrs(value: Any) -> list[str]:
    """convert_to_list, then "type:list_of_subnets_or_none" (host bits allowed as
    upstream's validate_subnet; kept as given)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    for item in items:
        problem = v.subnet_problem(item)
        if problem is not None:
            raise v.bad("peer_cidrs", problem)
    return list(items)


@v.described({"type": "array", "items": {"type": "string"}})
def endpoints(value: Any) -> list[str]:
    """convert_to_list; what each must be depends on the group's type (service)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, str):
            raise v.bad("endpoints", f"'{item}' is not a valid string")
    return list(items)


def mtu(value: Any) -> int:
    number = v.to_int(value)
    if number < 0:
        raise v.bad("mtu", f"'{number}' should be non-negative")
    return number


mtu.schema = {"type": "integer", "minimum": 0}  # type: ignore[attr-defined]


def cidr_version(cidr: str) -> int:
    return ipaddress.ip_network(cidr, strict=False).version


def check_dpd(conn: dict) -> None:
    if conn["dpd"]["timeout"] <= conn["dpd"]["interval"]:
        raise IPsecSiteConnectionDpdIntervalValueError(attr="dpd_timeout")


def check_mtu(mtu_value: int, ip_version: int) -> None:
    if mtu_value < IP_MIN_MTU[ip_version]:
        raise IPsecSiteConnectionMtuError(mtu=mtu_value, version=ip_version)


def peer_cidrs_version(cidrs: list[str]) -> int:
    versions = {cidr_version(c) for c in cidrs}
    if len(versions) > 1:
        raise MixedIPVersionsForPeerCidrs()
    return versions.pop()


def check_optional_args(conn: dict, legacy_subnet: str | None) -> None:
    """Upstream's validate_ipsec_conn_optional_args: a service with a subnet takes
    peer_cidrs and no endpoint groups; one without, both groups and no peer_cidrs."""
    local, peer, cidrs = (conn.get("local_ep_group_id"), conn.get("peer_ep_group_id"),
                          conn.get("peer_cidrs"))
    if legacy_subnet:
        if not cidrs:
            raise MissingPeerCidrs()
        given = [w for w, g in (("local", local), ("peer", peer)) if g]
        if given:
            raise InvalidEndpointGroup(which=" and ".join(given),
                                       suffix="s" if len(given) > 1 else "")
        return
    if cidrs:
        raise PeerCidrsInvalid()
    missing = [w for w, g in (("local", local), ("peer", peer)) if not g]
    if missing:
        raise MissingRequiredEndpointGroup(which=" and ".join(missing),
                                           suffix="s" if len(missing) > 1 else "")


def check_cidr_endpoints(cidrs: list[str]) -> None:
    for cidr in cidrs:
        if v.subnet_problem(cidr) is not None:
            raise InvalidEndpointInEndpointGroup(group_type=CIDR_ENDPOINT,
                                                 endpoint=cidr, why="Invalid CIDR")


# -- the resources -------------------------------------------------------------------

def _owned(*attrs: Attr) -> tuple[Attr, ...]:
    return (
        Attr("id", convert=v.uuid_value("id"), allow_post=False),
        Attr("name", convert=v.string("name", v.NAME_MAX_LEN), default="",
             allow_put=True),
        Attr("description", convert=v.string("description", v.DESCRIPTION_MAX_LEN),
             default="", allow_put=True),
        Attr("project_id", convert=v.project_id, default=None),
        Attr("tenant_id", convert=v.project_id, default=None),
        *attrs,
    )


def _policy_attrs() -> tuple[Attr, ...]:
    return (
        Attr("auth_algorithm", convert=v.one_of("auth_algorithm", AUTH_ALGORITHMS),
             default="sha1", allow_put=True),
        Attr("encryption_algorithm",
             convert=v.one_of("encryption_algorithm", ENCRYPTION_ALGORITHMS),
             default="aes-128", allow_put=True),
        # {} -> the stored {"units": "seconds", "value": 3600} (upstream's defaults)
        Attr("lifetime", convert=lifetime, default=None, allow_put=True,
             filterable=False, sortable=False),
        Attr("pfs", convert=v.one_of("pfs", PFS_GROUPS), default="group5",
             allow_put=True),
    )


IKE_POLICY = Resource("ikepolicy", "ikepolicies", path="vpn/ikepolicies",
                      not_found=IKEPolicyNotFound, not_found_key="ikepolicy_id",
                      tag_support=False)
IKE_POLICY.add(*_owned(
    *_policy_attrs(),
    Attr("phase1_negotiation_mode",
         convert=v.one_of("phase1_negotiation_mode", PHASE1_MODES), default="main",
         allow_put=True),
    Attr("ike_version", convert=v.one_of("ike_version", IKE_VERSIONS), default="v1",
         allow_put=True),
))

IPSEC_POLICY = Resource("ipsecpolicy", "ipsecpolicies", path="vpn/ipsecpolicies",
                        not_found=IPsecPolicyNotFound, not_found_key="ipsecpolicy_id",
                        tag_support=False)
IPSEC_POLICY.add(*_owned(
    Attr("transform_protocol",
         convert=v.one_of("transform_protocol", TRANSFORM_PROTOCOLS), default="esp",
         allow_put=True),
    *_policy_attrs(),
    Attr("encapsulation_mode",
         convert=v.one_of("encapsulation_mode", ENCAPSULATION_MODES), default="tunnel",
         allow_put=True),
))

VPN_SERVICE = Resource("vpnservice", "vpnservices", path="vpn/vpnservices",
                       not_found=VPNServiceNotFound, not_found_key="vpnservice_id",
                       tag_support=False)
VPN_SERVICE.add(*_owned(
    Attr("subnet_id", convert=v.uuid_or_none("subnet_id")),
    Attr("router_id", convert=v.uuid_value("router_id"), default=REQUIRED),
    Attr("admin_state_up", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    # The router's gateway addresses (the tunnels' local end), as the server sees them.
    Attr("external_v4_ip", allow_post=False, filterable=False, sortable=False),
    Attr("external_v6_ip", allow_post=False, filterable=False, sortable=False),
    Attr("status", allow_post=False),
))

ENDPOINT_GROUP = Resource("endpoint_group", "endpoint_groups", path="vpn/endpoint-groups",
                          not_found=VPNEndpointGroupNotFound,
                          not_found_key="endpoint_group_id", tag_support=False)
ENDPOINT_GROUP.add(*_owned(
    Attr("type", convert=v.one_of("type", ENDPOINT_TYPES), default=REQUIRED),
    Attr("endpoints", convert=endpoints, default=list, sortable=False),
))

CONNECTION = Resource("ipsec_site_connection", "ipsec_site_connections",
                      path="vpn/ipsec-site-connections",
                      not_found=IPsecSiteConnectionNotFound,
                      not_found_key="ipsec_site_conn_id", tag_support=False)
CONNECTION.add(*_owned(
    Attr("local_id", convert=v.string("local_id"), default="", allow_put=True),
    Attr("peer_address", convert=v.string("peer_address"), default=REQUIRED,
         allow_put=True),
    Attr("peer_id", convert=v.string("peer_id"), default=REQUIRED, allow_put=True),
    Attr("peer_cidrs", convert=peer_cidrs, default=None, allow_put=True,
         sortable=False),
    Attr("local_ep_group_id", convert=v.uuid_or_none("local_ep_group_id"),
         allow_put=True),
    Attr("peer_ep_group_id", convert=v.uuid_or_none("peer_ep_group_id"),
         allow_put=True),
    Attr("route_mode", allow_post=False),
    Attr("mtu", convert=mtu, default=1500, allow_put=True, filter_convert=v.query_int),
    Attr("initiator", convert=v.one_of("initiator", INITIATORS),
         default="bi-directional", allow_put=True),
    Attr("auth_mode", allow_post=False),
    Attr("psk", convert=v.string("psk"), default=REQUIRED, allow_put=True),
    # {} -> hold, 30, 120 (upstream's assign_sensible_ipsec_sitecon_defaults)
    Attr("dpd", convert=dpd, default=None, allow_put=True, filterable=False,
         sortable=False),
    Attr("admin_state_up", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    Attr("status", allow_post=False),
    Attr("vpnservice_id", convert=v.uuid_value("vpnservice_id"), default=REQUIRED),
    Attr("ikepolicy_id", convert=v.uuid_value("ikepolicy_id"), default=REQUIRED),
    Attr("ipsecpolicy_id", convert=v.uuid_value("ipsecpolicy_id"), default=REQUIRED),
))

VPNAAS = Feature(
    "vpnaas",
    # Listed by alias, as every feature's.
    (Extension("vpn-endpoint-groups", "VPN Endpoint Groups", "VPN endpoint groups support",
               "2015-08-04T10:00:00-00:00"),
     Extension("vpnaas", "VPN service", "Extension for VPN service",
               "2013-05-29T10:00:00-00:00")),
    resources=(IKE_POLICY, IPSEC_POLICY, VPN_SERVICE, ENDPOINT_GROUP, CONNECTION))
