"""FWaaS v2 (issue 16): ``/v2.0/fwaas/firewall_rules``, ``firewall_policies`` and
``firewall_groups``, extension ``fwaas_v2``; the policies' member actions
``insert_rule`` and ``remove_rule``.

A rule matches (protocol, IP version, source/destination address or CIDR and port or
``min:max`` range) and says ``allow``, ``deny`` or ``reject``; a policy is an ordered
list of rules (``audited`` is the owner's flag, cleared by any change to the policy or
its rules); a group applies an ingress and an egress policy to router ports (``ports``:
upstream's L3 members; a port is in one group at most). Upstream's names, defaults,
checks and error types throughout (neutron-lib's ``firewall_v2`` definition and
exceptions, neutron-fwaas's plugin).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Extension, Feature

ALLOW, DENY, REJECT = "allow", "deny", "reject"
ACTIONS = [ALLOW, DENY, REJECT]
TCP, UDP, ICMP, IPV6_ICMP = "tcp", "udp", "icmp", "ipv6-icmp"
PROTOCOLS = [TCP, UDP, ICMP, IPV6_ICMP]
PORTED = (TCP, UDP)

# Upstream's statuses of a group (neutron-lib's constants).
ACTIVE, INACTIVE, DOWN, ERROR = "ACTIVE", "INACTIVE", "DOWN", "ERROR"
PENDING_CREATE, PENDING_UPDATE, PENDING_DELETE = (
    "PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")
PENDING = (PENDING_CREATE, PENDING_UPDATE, PENDING_DELETE)

# Upstream's reserved names (neutron-fwaas's constants).
DEFAULT_FWG = "default"
DEFAULT_FWP_INGRESS = "default ingress"
DEFAULT_FWP_EGRESS = "default egress"
# The "driver" named in FirewallGroupPortNotSupported (upstream's default provider).
DRIVER_NAME = "fwaas_db"


# -- neutron-lib's firewall_v2 exceptions (types and messages as upstream) -----------

class FirewallGroupNotFound(exc.NotFound):
    message = "Firewall group %(firewall_id)s could not be found."


class FirewallGroupInUse(exc.InUse):
    message = "Firewall group %(firewall_id)s is still active."


class FirewallGroupInPendingState(exc.Conflict):
    message = ("Operation cannot be performed since associated firewall group "
               "%(firewall_id)s is in %(pending_state)s.")


class FirewallGroupPortInvalid(exc.Conflict):
    message = "Port %(port_id)s of firewall group is invalid."


class FirewallGroupPortInvalidProject(exc.Conflict):
    message = ("Operation cannot be performed as port %(port_id)s is in an invalid "
               "project %(project_id)s.")


class FirewallGroupPortInUse(exc.InUse):
    message = ("Port(s) %(port_ids)s provided already associated with other firewall "
               "group(s).")


class FirewallGroupPortNotSupported(exc.Conflict):
    message = "Port %(port_id)s is not supported by firewall driver '%(driver_name)s'."


class FirewallGroupCannotRemoveDefault(exc.InUse):
    message = "Deleting default firewall group not allowed."


class FirewallPolicyNotFound(exc.NotFound):
    message = "Firewall policy %(firewall_policy_id)s could not be found."


class FirewallPolicyInUse(exc.InUse):
    message = "Firewall policy %(firewall_policy_id)s is being used."


class FirewallPolicyConflict(exc.NotFound):
    message = ("Operation cannot be performed since firewall policy "
               "%(firewall_policy_id)s for your project could not be found. Please "
               "confirm if the firewall policy exists and is shared.")


class FirewallRuleSharingConflict(exc.NotFound):
    message = ("Operation cannot be performed since firewall policy "
               "%(firewall_policy_id)s could not find the firewall rule "
               "%(firewall_rule_id)s. Please confirm if the firewall rule exists and "
               "is shared.")


class FirewallPolicySharingConflict(exc.Conflict):
    message = ("Operation cannot be performed. Before sharing firewall policy "
               "%(firewall_policy_id)s, share associated firewall rule "
               "%(firewall_rule_id)s.")


class FirewallRuleNotFound(exc.NotFound):
    message = "Firewall rule %(firewall_rule_id)s could not be found."


class FirewallRuleInUse(exc.InUse):
    message = "Firewall rule %(firewall_rule_id)s is being used."


class _InvalidInput(exc.BadRequest):
    """neutron-lib's InvalidInput subclasses (400): each carries its own message,
    reported under its own type."""


class FirewallRuleNotAssociatedWithPolicy(_InvalidInput):
    message = ("Firewall rule %(firewall_rule_id)s is not associated with firewall "
               "policy %(firewall_policy_id)s.")


class FirewallRuleInvalidICMPParameter(_InvalidInput):
    message = "%(param)s are not allowed when protocol is set to ICMP."


class FirewallRuleWithPortWithoutProtocolInvalid(_InvalidInput):
    message = "Source/destination port requires a protocol."


class FirewallRuleInvalidPortValue(_InvalidInput):
    message = "Invalid value for port %(port)s."


class FirewallRuleInfoMissing(_InvalidInput):
    message = "Missing rule info argument for insert/remove rule operation."


class FirewallIpAddressConflict(_InvalidInput):
    message = "Invalid input - IP addresses do not agree with IP Version."


class FirewallRuleConflict(exc.Conflict):
    message = ("Operation cannot be performed since firewall rule %(firewall_rule_id)s "
               "is not shared and belongs to another project %(project_id)s.")


class FirewallRuleAlreadyAssociated(exc.Conflict):
    message = ("Operation cannot be performed since firewall rule %(firewall_rule_id)s "
               "is already associated with firewall policy %(firewall_policy_id)s.")


class FirewallDefaultParameterExists(exc.InUse):
    message = ("Operation cannot be performed since '%(name)s' is a reserved name for "
               "%(resource_type)s.")


class FirewallDefaultObjectUpdateRestricted(exc.InUse):
    message = ("Operation cannot be performed on default object '%(resource_id)s' of "
               "type %(resource_type)s.")


# -- converters --------------------------------------------------------------------

@v.described({"type": ["string", "null"], "enum": [*PROTOCOLS, None]})
def protocol(value: Any) -> str | None:
    """A protocol name (case-insensitive) of upstream's FWaaS list, or null: any."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise exc.InvalidInput(f"IP protocol '{value}' is not supported. Only protocol "
                               "names and their integer representation (0 to 255) are "
                               "supported")
    name = value.strip().lower()
    if name not in PROTOCOLS:
        raise v.bad("protocol", f"'{value}' is not in {[*PROTOCOLS, None]}")
    return name


@v.described({"enum": [4, 6]})
def ip_version(value: Any) -> int:
    number = v.to_int(value)
    if number not in (4, 6):
        raise v.bad("ip_version", f"'{number}' is not in [4, 6]")
    return number


def ip_or_subnet_or_none(attr: str) -> Any:
    """An address or a CIDR (upstream's "type:ip_or_subnet_or_none"), kept as given."""
    @v.described({"type": ["string", "null"]})
    def convert(value: Any) -> str | None:
        if value is None:
            return None
        try:
            if not isinstance(value, str) or value != value.strip():
                raise ValueError
            ipaddress.ip_interface(value)
        except ValueError:
            raise v.bad(attr, f"'{value}' is neither a valid IP address, nor is it a "
                              "valid IP subnet") from None
        return value
    return convert


def port_range(attr: str) -> Any:
    """``N`` or ``N:M`` with ports in 0-65535 (upstream's "type:port_range"), as a
    string; the order of N and M is the service's check (InvalidPortValue)."""
    @v.described({"type": ["string", "integer", "null"]})
    def convert(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise v.bad(attr, f"Invalid port: {value}")
        text = str(value).strip()
        parts = text.split(":")
        if len(parts) > 2 or not all(p.isdigit() and int(p) <= 65535 for p in parts):
            raise v.bad(attr, f"Invalid port: {value}")
        return text
    return convert


@v.described({"enum": ACTIONS})
def action(value: Any) -> str:
    if not isinstance(value, str):
        raise exc.InvalidInput(f"Input value {value} must be string type")
    low = value.lower()
    if low not in ACTIONS:
        raise v.bad("action", f"'{low}' is not in {ACTIONS}")
    return low


def uuid_list(attr: str) -> Any:
    """Upstream's "type:uuid_list" with convert_none_to_empty_list."""
    @v.described({"type": ["array", "null"], "items": {"type": "string",
                                                       "format": "uuid"}})
    def convert(value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise v.bad(attr, f"'{value}' is not a list")
        for item in value:
            if not isinstance(item, str) or not v.UUID_RE.match(item):
                raise v.bad(attr, f"'{item}' is not a valid UUID")
        dupes = sorted({i for i in value if value.count(i) > 1})
        if dupes:
            raise v.bad(attr, f"Duplicate items in the list: '{', '.join(dupes)}'")
        return [i.lower() for i in value]
    return convert


def port_bounds(value: str | None) -> tuple[int | None, int | None]:
    """``"80"`` -> (80, 80); ``"1000:2000"`` -> (1000, 2000); upstream refuses
    min > max (FirewallRuleInvalidPortValue)."""
    if not value:
        return None, None
    low, _, high = value.partition(":")
    high = high or low
    if int(low) > int(high):
        raise FirewallRuleInvalidPortValue(port=f"{low}:{high}")
    return int(low), int(high)


def port_text(low: int | None, high: int | None) -> str | None:
    if low is None:
        return None
    return str(low) if low == high else f"{low}:{high}"


def check_rule(rule: dict) -> None:
    """Upstream's checks of a rule as it will be (create, or stored + update)."""
    proto = rule.get("protocol")
    ports = rule.get("source_port") or rule.get("destination_port")
    if proto and proto not in PORTED and ports:
        raise FirewallRuleInvalidICMPParameter(param="Source, destination port")
    if not proto and ports:
        raise FirewallRuleWithPortWithoutProtocolInvalid()
    for name in ("source_ip_address", "destination_ip_address"):
        if rule.get(name) and ipaddress.ip_interface(
                rule[name]).version != rule.get("ip_version"):
            raise FirewallIpAddressConflict()
    for name in ("source_port", "destination_port"):
        port_bounds(rule.get(name))


# -- the resources -------------------------------------------------------------------

def _owned(attrs: tuple[Attr, ...]) -> tuple[Attr, ...]:
    return (
        Attr("id", convert=v.uuid_value("id"), allow_post=False),
        Attr("name", convert=v.string("name", v.NAME_MAX_LEN), default="",
             allow_put=True),
        Attr("description", convert=v.string("description", v.DESCRIPTION_MAX_LEN),
             default="", allow_put=True),
        Attr("project_id", convert=v.project_id, default=None),
        Attr("tenant_id", convert=v.project_id, default=None),
        *attrs,
        Attr("shared", convert=v.to_boolean, default=False, allow_put=True,
             enforce_policy=True, filter_convert=v.query_bool),
    )


RULE = Resource("firewall_rule", "firewall_rules", path="fwaas/firewall_rules",
                not_found=FirewallRuleNotFound, not_found_key="firewall_rule_id",
                tag_support=False)
RULE.add(*_owned((
    # The policies the rule is in (upstream's name; a list, null when none).
    Attr("firewall_policy_id", allow_post=False, sortable=False,
         filter_convert=v.uuid_value("firewall_policy_id")),
    Attr("protocol", convert=protocol, allow_put=True),
    Attr("ip_version", convert=ip_version, default=4, allow_put=True,
         filter_convert=v.query_int),
    Attr("source_ip_address", convert=ip_or_subnet_or_none("source_ip_address"),
         allow_put=True),
    Attr("destination_ip_address",
         convert=ip_or_subnet_or_none("destination_ip_address"), allow_put=True),
    Attr("source_port", convert=port_range("source_port"), allow_put=True,
         filterable=False, sortable=False),
    Attr("destination_port", convert=port_range("destination_port"), allow_put=True,
         filterable=False, sortable=False),
    Attr("action", convert=action, default=DENY, allow_put=True),
    Attr("enabled", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
)))

POLICY = Resource("firewall_policy", "firewall_policies", path="fwaas/firewall_policies",
                  not_found=FirewallPolicyNotFound, not_found_key="firewall_policy_id",
                  tag_support=False)
POLICY.add(*_owned((
    Attr("firewall_rules", convert=uuid_list("firewall_rules"), default=list,
         allow_put=True, sortable=False, filter_convert=v.uuid_value("firewall_rules")),
    Attr("audited", convert=v.to_boolean, default=False, allow_put=True,
         filter_convert=v.query_bool),
)))

GROUP = Resource("firewall_group", "firewall_groups", path="fwaas/firewall_groups",
                 not_found=FirewallGroupNotFound, not_found_key="firewall_id",
                 tag_support=False)
GROUP.add(*_owned((
    Attr("ingress_firewall_policy_id",
         convert=v.uuid_or_none("ingress_firewall_policy_id"), allow_put=True),
    Attr("egress_firewall_policy_id",
         convert=v.uuid_or_none("egress_firewall_policy_id"), allow_put=True),
    Attr("admin_state_up", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    Attr("status", allow_post=False),
    Attr("ports", convert=uuid_list("ports"), default=list, allow_put=True,
         sortable=False, filter_convert=v.uuid_value("ports")),
)))

FWAAS_V2 = Feature(
    "fwaas_v2",
    (Extension("fwaas_v2", "FWaaS v2",
               "Provides support for firewall-as-a-service version 2",
               "2016-10-06T10:00:00-00:00"),),
    resources=(RULE, POLICY, GROUP))
