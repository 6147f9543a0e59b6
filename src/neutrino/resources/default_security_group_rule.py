"""Templates of new security groups' rules (security-groups-default-rules) and the
default `stateful` of new security groups (security-groups-default-statefulness).

A template says which rules every new project's `default` group
(`used_in_default_sg`) and every other new group (`used_in_non_default_sg`) starts
with; a `remote_group_id` of "PARENT" stands for the group being created. Upstream
checks neither remote id: a template naming a missing group fails only when a group
is made from it.
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import security_group as sgr
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature

PARENT = "PARENT"


class DefaultSecurityGroupRuleNotFound(exc.NotFound):
    message = "Default Security Group rule %(id)s does not exist"


class DefaultSecurityGroupRuleExists(exc.InUse):
    message = "Default Security group rule already exists. Rule id is %(rule_id)s."


class DuplicateDefaultSgRuleInPost(exc.InUse):
    message = "Duplicate Default Security Group Rule in POST."


class SecurityGroupDefaultStatefulnessNotFound(exc.NotFound):
    message = "Security group default statefulness %(id)s could not be found."


class SecurityGroupDefaultStatefulnessAlreadyExists(exc.Conflict):
    message = ("A security group default statefulness setting already exists for "
               "project '%(project_id)s'.")


def remote_id(attr: str) -> Any:
    """Any id (or "PARENT") of at most 36 characters: upstream checks no more."""
    check = v.string(attr, 36)

    def convert(value: Any) -> str | None:
        return None if value is None else check(value)
    return convert


def template_prefix(value: Any) -> str | None:
    """A CIDR in network form (upstream's convert_ip_prefix_to_cidr)."""
    return sgr.normalized_cidr(sgr.convert_prefix(value))


def validate_template(rule: dict) -> dict:
    """The checks of a security group rule (remote exclusivity, ports, ethertype)."""
    sgr.validate_rule(rule)
    return rule


def template_key(rule: dict) -> tuple:
    """What makes two templates the same rule (description and usage do not count)."""
    prefix = rule.get("remote_ip_prefix")
    prefix = None if prefix in sgr.ANY_PREFIXES else prefix
    return (rule["direction"], rule.get("ethertype") or "IPv4",
            sgr.protocol_number(rule.get("protocol")), rule.get("port_range_min"),
            rule.get("port_range_max"), prefix, rule.get("remote_group_id"),
            rule.get("remote_address_group_id"))


DEFAULT_SECURITY_GROUP_RULE = Resource(
    "default_security_group_rule", "default_security_group_rules",
    path="default-security-group-rules", not_found=DefaultSecurityGroupRuleNotFound,
    tag_support=False)
DEFAULT_SECURITY_GROUP_RULE.add(
    Attr("id", convert=v.uuid_value("id"), allow_post=False),
    # Accepted (policy reads it) but not shown, as upstream.
    Attr("tenant_id", convert=v.project_id, default=None, visible=False, filterable=False,
         sortable=False),
    Attr("description", convert=v.string("description", v.DESCRIPTION_MAX_LEN),
         default="", sortable=False),
    Attr("remote_group_id", convert=remote_id("remote_group_id"), default=None),
    Attr("remote_address_group_id", convert=remote_id("remote_address_group_id"),
         default=None),
    Attr("direction", convert=v.one_of("direction", sgr.DIRECTIONS), default=REQUIRED),
    Attr("protocol", convert=sgr.convert_protocol, default=None),
    Attr("port_range_min", convert=sgr.convert_port, default=None,
         filter_convert=v.query_int),
    Attr("port_range_max", convert=sgr.convert_port, default=None,
         filter_convert=v.query_int),
    Attr("ethertype", convert=sgr.convert_ethertype, default="IPv4",
         filter_convert=sgr.convert_ethertype),
    Attr("remote_ip_prefix", convert=template_prefix, default=None),
    Attr("used_in_default_sg", convert=v.to_boolean, default=REQUIRED, sortable=False,
         filter_convert=v.query_bool),
    Attr("used_in_non_default_sg", convert=v.to_boolean, default=REQUIRED, sortable=False,
         filter_convert=v.query_bool),
)

SECURITY_GROUPS_DEFAULT_STATEFULNESS = Resource(
    "security_groups_default_statefulness", "security_groups_default_statefulness",
    path="security-groups-default-statefulness",
    not_found=SecurityGroupDefaultStatefulnessNotFound, tag_support=False)
SECURITY_GROUPS_DEFAULT_STATEFULNESS.add(
    Attr("id", convert=v.uuid_value("id"), allow_post=False),
    # Omitted: the system-wide setting (not the caller's project).
    Attr("project_id", convert=lambda value: None if value in (None, "")
         else v.project_id(value), default=None),
    Attr("stateful", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
)

DEFAULT_RULES = Feature(
    "security-groups-default-rules",
    (Extension("security-groups-default-rules", "Default rules for security groups",
               "Configure set of security group rules used as default rules for every "
               "new security group", "2022-12-19T10:00:00-00:00"),),
    resources=(DEFAULT_SECURITY_GROUP_RULE,))

DEFAULT_STATEFULNESS = Feature(
    "security-groups-default-statefulness",
    (Extension("security-groups-default-statefulness",
               "Security Groups Default Statefulness",
               "Allows configuring the default value of the 'stateful' attribute for new "
               "security groups, on a per-project or system-wide basis",
               "2026-04-13T00:00:00-00:00"),),
    resources=(SECURITY_GROUPS_DEFAULT_STATEFULNESS,))
