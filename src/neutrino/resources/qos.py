"""QoS: policies (`/v2.0/qos/policies`), their rules (sub-resources of a policy and
the `alias_*` paths), rule types, and `qos_policy_id` on networks and ports
(`qos_network_policy_id` on ports: the network's policy, read-only).

The rule types are data (`RULE_TYPES`): each one's collection, attributes and the
columns it stores; the service, the API and the rule-types listing read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.standard import standard_attrs

DB_INTEGER_MAX = 2147483647
EGRESS, INGRESS, ANY = "egress", "ingress", "any"
DIRECTIONS = [EGRESS, INGRESS]
DIRECTIONS_AND_ANY = [ANY, EGRESS, INGRESS]
# Upstream's VALID_DSCP_MARKS: the DSCP code points with a defined meaning.
VALID_DSCP_MARKS = [0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38,
                    40, 46, 48, 56]
NO_DIRECTION = "-"  # stored direction of rules without one (DSCP marking)


class QosPolicyNotFound(exc.NotFound):
    message = "QoS policy %(policy_id)s could not be found."


class PolicyRemoveAuthorizationError(exc.NotAuthorized):
    message = ("Failed to remove provided policy %(policy_id)s because you are not "
               "authorized.")


class QosRuleNotFound(exc.NotFound):
    message = "QoS rule %(rule_id)s for policy %(policy_id)s could not be found."


class QosRuleTypeNotFound(exc.NotFound):
    message = "QoS rule type %(rule_type)s could not be found."


class QosPolicyInUse(exc.InUse):
    message = "QoS Policy %(policy_id)s is used by %(object_type)s %(object_id)s."


class QoSRulesConflict(exc.Conflict):
    message = ("Rule %(new_rule_type)s conflicts with rule %(rule_id)s which already "
               "exists in QoS Policy %(policy_id)s.")


class QosRuleNotSupported(exc.Conflict):
    message = "Rule %(rule_type)s is not supported by port %(port_id)s"


class QosRuleNotSupportedByNetwork(exc.Conflict):
    message = "Rule %(rule_type)s is not supported by network %(network_id)s"


class QoSPolicyDefaultAlreadyExists(exc.Conflict):
    message = "A default QoS policy exists for project %(project_id)s."


def _kbps(name: str) -> Attr:
    return Attr(name, convert=v.int_in_range(name, 0, DB_INTEGER_MAX), default=REQUIRED,
                allow_put=True, filter_convert=v.query_int)


def _burst(name: str) -> Attr:
    return Attr(name, convert=v.int_in_range(name, 0, DB_INTEGER_MAX), default=0,
                allow_put=True, filter_convert=v.query_int)


def _direction(values: list[str]) -> Attr:
    return Attr("direction", convert=v.one_of("direction", values), default=EGRESS,
                allow_put=True)


def dscp_mark(value: Any) -> int:
    number = v.to_int(value)
    if number not in VALID_DSCP_MARKS:
        raise v.bad("dscp_mark", f"{number} is not in valid_values {VALID_DSCP_MARKS}")
    return number


_ID = Attr("id", convert=v.uuid_value("id"), allow_post=False)


@dataclass(frozen=True)
class RuleType:
    """One QoS rule type: its API names and the columns it uses."""

    type: str                 # "bandwidth_limit"
    attrs: tuple[Attr, ...]   # its own attributes (besides id)

    @property
    def name(self) -> str:
        return f"{self.type}_rule"

    @property
    def collection(self) -> str:
        return f"{self.type}_rules"

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attrs if a.name != "direction")

    @property
    def has_direction(self) -> bool:
        return any(a.name == "direction" for a in self.attrs)


BANDWIDTH_LIMIT = RuleType("bandwidth_limit", (
    _kbps("max_kbps"), _burst("max_burst_kbps"), _direction(DIRECTIONS)))
DSCP_MARKING = RuleType("dscp_marking", (
    Attr("dscp_mark", convert=dscp_mark, default=REQUIRED, allow_put=True,
         filter_convert=v.query_int),))
MINIMUM_BANDWIDTH = RuleType("minimum_bandwidth", (
    _kbps("min_kbps"), _direction(DIRECTIONS)))
MINIMUM_PACKET_RATE = RuleType("minimum_packet_rate", (
    _kbps("min_kpps"), _direction(DIRECTIONS_AND_ANY)))
PACKET_RATE_LIMIT = RuleType("packet_rate_limit", (
    _kbps("max_kpps"), _burst("max_burst_kpps"), _direction(DIRECTIONS)))

# In upstream's order of `rule_types` (qos_consts.VALID_RULE_TYPES).
RULE_TYPES: dict[str, RuleType] = {r.type: r for r in (
    BANDWIDTH_LIMIT, DSCP_MARKING, MINIMUM_BANDWIDTH, MINIMUM_PACKET_RATE,
    PACKET_RATE_LIMIT)}


def rule_resource(rule_type: RuleType, alias: bool = False) -> Resource:
    """The resource of a rule type (`alias`: the `/qos/alias_<collection>` one,
    which has no POST and shows the owner)."""
    prefix = "alias_" if alias else ""
    resource = Resource(prefix + rule_type.name, prefix + rule_type.collection,
                        path=f"qos/{prefix}{rule_type.collection}",
                        not_found=QosRuleNotFound, not_found_key="rule_id",
                        tag_support=False)
    resource.add(_ID, *rule_type.attrs)
    if alias:
        resource.add(Attr("tenant_id", allow_post=False),
                     Attr("project_id", allow_post=False))
    return resource


_s = {a.name: a for a in standard_attrs()}
POLICY = Resource("policy", "policies", path="qos/policies", not_found=QosPolicyNotFound,
                  not_found_key="policy_id")
POLICY.add(
    _s["id"], _s["name"], _s["description"],
    Attr("shared", convert=v.to_boolean, default=False, allow_put=True,
         enforce_policy=True, filter_convert=v.query_bool),
    _s["project_id"], _s["tenant_id"],
    Attr("rules", allow_post=False, filterable=False, sortable=False),
    Attr("is_default", convert=v.to_boolean, default=False, allow_put=True,
         filter_convert=v.query_bool, sortable=False),
    _s["tags"], _s["created_at"], _s["updated_at"], _s["revision_number"],
)

RULE_TYPE = Resource("rule_type", "rule_types", path="qos/rule-types",
                     not_found=QosRuleTypeNotFound, not_found_key="rule_type",
                     tag_support=False)
RULE_TYPE.add(
    Attr("type", allow_post=False, sortable=False),
    Attr("drivers", allow_post=False, filterable=False, sortable=False),
    Attr("all_rules", allow_post=False, visible=False, filter_convert=v.query_bool,
         sortable=False),
    Attr("all_supported", allow_post=False, visible=False, filter_convert=v.query_bool,
         sortable=False),
)

RULES: dict[str, Resource] = {t: rule_resource(r) for t, r in RULE_TYPES.items()}
ALIAS_RULES: dict[str, Resource] = {
    t: rule_resource(RULE_TYPES[t], alias=True)
    for t in ("bandwidth_limit", "dscp_marking", "minimum_bandwidth",
              "minimum_packet_rate")}

QOS_POLICY_ID = Attr("qos_policy_id", convert=v.uuid_or_none("qos_policy_id"),
                     default=None, allow_put=True, enforce_policy=True, sortable=False)

FEATURE = Feature(
    "qos",
    (Extension("qos", "Quality of Service", "The Quality of Service extension.",
               "2015-06-08T10:00:00-00:00"),),
    resources=(POLICY, RULE_TYPE, *RULES.values(), *ALIAS_RULES.values()),
    adds={"networks": (QOS_POLICY_ID,),
          "ports": (QOS_POLICY_ID,
                    Attr("qos_network_policy_id", allow_post=False, filterable=False,
                         sortable=False))})

BEHAVIOURS: tuple[Feature, ...] = (
    Feature("qos-bw-limit-direction", (Extension(
        "qos-bw-limit-direction", "Direction for QoS bandwidth limit rule",
        "Allow to configure QoS bandwidth limit rule with specific direction: ingress "
        "or egress", "2017-04-10T10:00:00-00:00"),)),
    Feature("qos-bw-minimum-ingress", (Extension(
        "qos-bw-minimum-ingress", "Ingress direction for QoS minimum bandwidth rule",
        "Allow to configure QoS minumum bandwidth rule with ingress direction.",
        "2018-07-09T10:00:00-00:00"),)),
    # Upstream's "updated" really is this (not a valid date).
    Feature("qos-default", (Extension(
        "qos-default", "QoS default policy", "Expose the QoS default policy per project",
        "2017-041-06T10:00:00-00:00"),)),
    Feature("qos-port-network-policy", (Extension(
        "qos-port-network-policy", "QoS port network policy ID",
        "Adds a the QoS network ID to the port definition",
        "2019-11-01T10:00:00-00:00"),)),
    Feature("qos-pps", (Extension(
        "qos-pps", "QoS Rule Type Packet per Second Extension",
        "Add QoS Rule Type Packet per Second", "2021-05-12T10:00:00-00:00"),)),
    Feature("qos-pps-minimum", (Extension(
        "qos-pps-minimum", "QoS minimum packet rate rule",
        "Allow to configure QoS minimum packet rate rule.",
        "2021-07-14T10:00:00-00:00"),)),
    Feature("qos-pps-minimum-rule-alias", (Extension(
        "qos-pps-minimum-rule-alias", "QoS minimum packet rate rule alias",
        "API to enable GET, PUT and DELETE operations on QoS minimum packet rate rule "
        "without specifying policy ID", "2021-10-22T10:00:00-00:00"),)),
    Feature("qos-rule-type-details", (Extension(
        "qos-rule-type-details", "Details of QoS rule types",
        "Expose details about QoS rule types supported by loaded backend drivers",
        "2017-06-22T10:00:00-00:00"),)),
    Feature("qos-rule-type-filter", (Extension(
        "qos-rule-type-filter", "Allow to filter the list of QoS rule types",
        'Allows to filter the QoS rule type list adding two new flags. "all_rules" '
        'prints all implemented QoS rule types."all_supported" prints all supported '
        "QoS rule types by the loaded mechanism drivers", "2022-02-02T10:00:00-00:00"),)),
    Feature("qos-rules-alias", (Extension(
        "qos-rules-alias", "Quality of Service rules alias API",
        "API to enable GET, PUT and DELETE operations on QoS policy rules without "
        "specifying policy ID", "2018-10-07T10:00:00-00:00"),)),
)
