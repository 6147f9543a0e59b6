"""Security groups and their rules: attribute definitions and the pure rule checks
(protocol names, port ranges, ICMP type/code, prefixes, duplicate keys) with
upstream's errors."""

from __future__ import annotations

import ipaddress
from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature, extension
from neutrino.resources.port_security_groups import PORT_ATTRS
from neutrino.resources.standard import standard_attrs

# -- errors (upstream's types and messages) -----------------------------------


class SecurityGroupNotFound(exc.NotFound):
    message = "Security group %(id)s does not exist"


class SecurityGroupRuleNotFound(exc.NotFound):
    message = "Security group rule %(id)s does not exist"


class SecurityGroupInUse(exc.InUse):
    message = "Security Group %(id)s in use."


class SecurityGroupCannotRemoveDefault(exc.InUse):
    message = "Insufficient rights for removing default security group."


class SecurityGroupCannotUpdateDefault(exc.InUse):
    message = "Updating default security group not allowed."


class SecurityGroupDefaultAlreadyExists(exc.InUse):
    message = "Default security group already exists."


class SecurityGroupRuleExists(exc.InUse):
    message = "Security group rule already exists. Rule id is %(rule_id)s."


class DuplicateSecurityGroupRuleInPost(exc.InUse):
    message = "Duplicate Security Group Rule in POST."


class SecurityGroupRuleInvalidProtocol(exc.BadRequest):
    message = ("Security group rule protocol %(protocol)s not supported. Only protocol "
               "values %(values)s and integer representations [0 to 255] are supported.")


class SecurityGroupRuleInvalidEtherType(exc.BadRequest):
    message = ("Security group rule for ethertype '%(ethertype)s' not supported. "
               "Allowed values are %(values)s.")


class SecurityGroupInvalidPortRange(exc.BadRequest):
    message = "For TCP/UDP protocols, port_range_min must be <= port_range_max"


class SecurityGroupInvalidPortValue(exc.BadRequest):
    message = "Invalid value for port %(port)s"


class SecurityGroupInvalidIcmpValue(exc.BadRequest):
    message = "Invalid value for ICMP %(field)s (%(attr)s) %(value)s. It must be 0 to 255."


class SecurityGroupMissingIcmpType(exc.BadRequest):
    message = ("ICMP code (port-range-max) %(value)s is provided but ICMP type "
               "(port-range-min) is missing.")


class SecurityGroupProtocolRequiredWithPorts(exc.BadRequest):
    message = "Must also specify protocol if port range is given."


class SecurityGroupInvalidProtocolForPort(exc.BadRequest):
    message = ("Invalid protocol %(protocol)s for port range, only supported for TCP, "
               "UDP, UDPLITE, SCTP and DCCP.")


class SecurityGroupRemoteGroupAndRemoteIpPrefix(exc.BadRequest):
    message = "Only remote_ip_prefix or remote_group_id may be provided."


class SecurityGroupRemoteGroupAndRemoteAddressGroup(exc.BadRequest):
    message = "Only remote_group_id or remote_address_group_id may be provided."


class SecurityGroupRemoteAddressGroupAndRemoteIpPrefix(exc.BadRequest):
    message = "Only remote_ip_prefix or remote_address_group_id may be provided."


class SecurityGroupRuleParameterConflict(exc.BadRequest):
    message = "Conflicting value ethertype %(ethertype)s for CIDR %(cidr)s"


class SecurityGroupEthertypeConflictWithProtocol(exc.BadRequest):
    message = "Invalid ethertype %(ethertype)s for protocol %(protocol)s."


class InvalidCIDR(exc.BadRequest):
    message = "Invalid CIDR %(input)s given as IP prefix."


# -- protocols ----------------------------------------------------------------

IP_PROTOCOLS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
    "igmp": 2, "ip": 4, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
    "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
    "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136,
    "vrrp": 112,
}
SUPPORTED_PROTOCOLS: list[Any] = [None, *sorted(IP_PROTOCOLS)]
PORT_PROTOCOLS = {6, 17, 33, 132, 136}           # tcp udp dccp sctp udplite
ICMP_PROTOCOLS = {1, 58}
# Refused with ethertype IPv4 (upstream's list: names and numbers).
IPV6_ONLY_PROTOCOLS = {"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt",
                       "ipv6-opts", "ipv6-route", "41", "43", "44", "58", "59", "60"}
ETHERTYPES = ["IPv4", "IPv6"]
DIRECTIONS = ["ingress", "egress"]
ANY_PREFIXES = {"0.0.0.0/0", "::/0"}


def convert_protocol(value: Any) -> str | None:
    """A protocol name (lowercased) or number 0-255 (as a string); None/'any' = any."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise SecurityGroupRuleInvalidProtocol(protocol=value, values=SUPPORTED_PROTOCOLS)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if 0 <= number <= 255:
            return str(number)
        raise SecurityGroupRuleInvalidProtocol(protocol=value, values=SUPPORTED_PROTOCOLS)
    if isinstance(value, str):
        low = value.lower()
        if low == "any":
            return None
        if low in IP_PROTOCOLS:
            return low
    raise SecurityGroupRuleInvalidProtocol(protocol=value, values=SUPPORTED_PROTOCOLS)


def protocol_number(protocol: str | None) -> int | None:
    if protocol is None:
        return None
    if protocol.isdigit():
        return int(protocol)
    return IP_PROTOCOLS[protocol]


def convert_port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise SecurityGroupInvalidPortValue(port=value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SecurityGroupInvalidPortValue(port=value) from None
    if not 0 <= number <= 65535:
        raise SecurityGroupInvalidPortValue(port=value)
    return number


def convert_ethertype(value: Any) -> str:
    if isinstance(value, str):
        for ethertype in ETHERTYPES:
            if ethertype.lower() == value.lower():
                return ethertype
    raise SecurityGroupRuleInvalidEtherType(ethertype=value, values=ETHERTYPES)


def convert_prefix(value: Any) -> str | None:
    """An address or CIDR as given (a bare address gets its host prefix length)."""
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        interface = ipaddress.ip_interface(value.strip())
    except ValueError:
        raise InvalidCIDR(input=value) from None
    return str(interface)


def normalized_cidr(prefix: str | None) -> str | None:
    """The network form of a prefix: 10.0.0.5/24 -> 10.0.0.0/24."""
    if prefix is None:
        return None
    return str(ipaddress.ip_interface(prefix).network)


def group_name(value: Any) -> str:
    name = v.string("name", v.NAME_MAX_LEN)(value)
    if name.lower() == "default":
        raise SecurityGroupDefaultAlreadyExists()
    return name


def validate_rule(rule: dict) -> dict:
    """Cross-attribute checks of a converted rule body (upstream's order); returns it."""
    remote_group = rule.get("remote_group_id")
    remote_address_group = rule.get("remote_address_group_id")
    prefix = rule.get("remote_ip_prefix")
    if remote_group and prefix:
        raise SecurityGroupRemoteGroupAndRemoteIpPrefix()
    if remote_group and remote_address_group:
        raise SecurityGroupRemoteGroupAndRemoteAddressGroup()
    if remote_address_group and prefix:
        raise SecurityGroupRemoteAddressGroupAndRemoteIpPrefix()
    ethertype = rule.get("ethertype") or "IPv4"
    protocol = rule.get("protocol")
    if ethertype == "IPv4" and protocol in IPV6_ONLY_PROTOCOLS:
        raise SecurityGroupEthertypeConflictWithProtocol(ethertype=ethertype,
                                                         protocol=protocol)
    _validate_ports(rule)
    if prefix is not None:
        version = ipaddress.ip_interface(prefix).version
        if (version == 4) != (ethertype == "IPv4"):
            raise SecurityGroupRuleParameterConflict(ethertype=ethertype, cidr=prefix)
    return rule


def _validate_ports(rule: dict) -> None:
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if low is None and high is None:
        return
    protocol = rule.get("protocol")
    if not protocol:
        raise SecurityGroupProtocolRequiredWithPorts()
    number = protocol_number(protocol)
    if number in PORT_PROTOCOLS:
        if low == 0 or high == 0:
            raise SecurityGroupInvalidPortValue(port=0)
        if low is not None and high is not None and low <= high:
            return
        raise SecurityGroupInvalidPortRange()
    if number in ICMP_PROTOCOLS:
        for attr, field, value in (("port_range_min", "type", low),
                                   ("port_range_max", "code", high)):
            if value is not None and not 0 <= value <= 255:
                raise SecurityGroupInvalidIcmpValue(field=field, attr=attr, value=value)
        if low is None and high is not None:
            raise SecurityGroupMissingIcmpType(value=high)
        return
    if low is not None and high is not None and low != high:
        raise SecurityGroupInvalidProtocolForPort(protocol=protocol)


def rule_key(rule: dict) -> tuple:
    """What makes two rules the same rule: protocol by number, an any-address prefix
    as no prefix, prefixes in network form; id and description do not count."""
    prefix = rule.get("remote_ip_prefix")
    prefix = None if prefix is None or prefix in ANY_PREFIXES else normalized_cidr(prefix)
    return (rule["security_group_id"], rule["direction"], rule.get("ethertype") or "IPv4",
            protocol_number(rule.get("protocol")), rule.get("port_range_min"),
            rule.get("port_range_max"), prefix, rule.get("remote_group_id"),
            rule.get("remote_address_group_id"))


# -- resources ----------------------------------------------------------------

def _standard() -> dict[str, Attr]:
    return {a.name: a for a in standard_attrs()}


_s = _standard()
SECURITY_GROUP = Resource("security_group", "security_groups", path="security-groups",
                          not_found=SecurityGroupNotFound)
SECURITY_GROUP.add(
    _s["id"],
    Attr("name", convert=group_name, default="", allow_put=True),
    Attr("stateful", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    _s["tenant_id"], _s["project_id"], _s["description"],
    # Read-only until security group RBAC exists.
    Attr("shared", allow_post=False, sortable=False, filter_convert=v.query_bool),
    Attr("security_group_rules", allow_post=False, filterable=False, sortable=False),
    _s["tags"], _s["created_at"], _s["updated_at"], _s["revision_number"],
)

_r = _standard()
SECURITY_GROUP_RULE = Resource("security_group_rule", "security_group_rules",
                               path="security-group-rules",
                               not_found=SecurityGroupRuleNotFound, tag_support=False)
SECURITY_GROUP_RULE.add(
    _r["id"], _r["project_id"],
    Attr("security_group_id", convert=v.uuid_value("security_group_id"), default=REQUIRED),
    Attr("ethertype", convert=convert_ethertype, default="IPv4",
         filter_convert=convert_ethertype),
    Attr("direction", convert=v.one_of("direction", DIRECTIONS), default=REQUIRED),
    Attr("protocol", convert=convert_protocol, default=None),
    Attr("port_range_min", convert=convert_port, default=None, filter_convert=v.query_int),
    Attr("port_range_max", convert=convert_port, default=None, filter_convert=v.query_int),
    Attr("remote_ip_prefix", convert=convert_prefix, default=None),
    Attr("remote_address_group_id", convert=v.uuid_or_none("remote_address_group_id"),
         default=None),
    Attr("normalized_cidr", allow_post=False, filterable=False, sortable=False),
    # Any id (upstream does not check its form): one that is no group is a 404.
    Attr("remote_group_id", convert=lambda value: None if value is None else v.string(
        "remote_group_id")(value), default=None),
    Attr("belongs_to_default_sg", allow_post=False, sortable=False,
         filter_convert=v.query_bool),
    Attr("description", convert=v.string("description", v.DESCRIPTION_MAX_LEN),
         default="", allow_put=True),
    _r["created_at"], _r["updated_at"], _r["revision_number"], _r["tenant_id"],
)

FEATURE = Feature(
    "security-group",
    (Extension("security-group", "security-group", "The security groups extension.",
               "2012-10-05T10:00:00-00:00"),),
    resources=(SECURITY_GROUP, SECURITY_GROUP_RULE),
    adds={"ports": PORT_ATTRS})

# Behaviours of the groups' and rules' base attributes (aliases only).
NORMALIZED_CIDR = extension(
    "security-groups-normalized-cidr", "Normalized CIDR field for security group rules",
    "Add new field with normalized remote_ip_prefix cidr in SG rule",
    "2020-07-28T10:00:00-00:00")
REMOTE_ADDRESS_GROUP = extension(
    "security-groups-remote-address-group", "Remote address group id field for "
    "security group rules", "Add new field of remote address group id in SG rules",
    "2020-08-25T10:00:00-00:00")
RULES_BELONGS_TO_DEFAULT_SG = extension(
    "security-groups-rules-belongs-to-default-sg", "Security group rule belongs to the "
    "project's default security group", "Flag to determine if the security group rule "
    "belongs to the project's default security group", "2023-05-23T10:00:00-00:00")
SHARED_FILTERING = extension(
    "security-groups-shared-filtering", "Security group filtering on the shared field",
    "Support filtering security groups on the shared field", "2021-10-05T09:00:00-00:00")
STATEFUL = extension(
    "stateful-security-group", "Stateful security group", "Indicates if the security "
    "group is stateful or not", "2019-11-26T09:00:00-00:00")
PORT_FILTERING = extension(
    "port-security-groups-filtering", "Port filtering on security groups",
    "Provides security groups filtering when listing ports", "2018-01-09T09:00:00-00:00")
