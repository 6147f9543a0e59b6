"""Metering (issue 14): labels (``/v2.0/metering/metering-labels``) and their rules
(``/v2.0/metering/metering-label-rules``), aliases ``metering`` and
``metering_source_and_destination_fields``.

Neither has an update (upstream's plugin has none: PUT answers 405). A rule matches
traffic through its router's gateway: ``direction`` ingress (entering through it) or
egress (leaving through it), with ``source_ip_prefix`` and/or
``destination_ip_prefix``, or the deprecated ``remote_ip_prefix`` alone (which
upstream's driver matches as the *internal* side: the source of egress traffic, the
destination of ingress traffic). ``excluded`` rules take matching traffic out of the
label's count.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature

LONG_DESCRIPTION_MAX_LEN = 1024
DIRECTIONS = ["ingress", "egress"]
PREFIX_FIELDS = ("remote_ip_prefix", "source_ip_prefix", "destination_ip_prefix")


class MeteringLabelNotFound(exc.NotFound):
    message = "Metering label %(label_id)s does not exist"


class MeteringLabelRuleNotFound(exc.NotFound):
    message = "Metering label rule %(rule_id)s does not exist"


class MeteringLabelRuleOverlaps(exc.Conflict):
    message = ("Metering label rule with remote_ip_prefix %(remote_ip_prefix)s "
               "overlaps another.")


class Invalid(exc.BadRequest):
    """Upstream's plugin raises neutron-lib's ``Invalid`` here, which its fault map
    does not know (a 500 there); a client's mistake is a 400 here, same type and
    message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def prefix_or_none(attr: str) -> Any:
    """An address or CIDR (host bits allowed, as upstream's check with
    ip_interface), kept with its prefix length ("10.0.0.5" -> "10.0.0.5/32");
    null or "" is none."""
    def convert(value: Any) -> str | None:
        if value is None or value == "":
            return None
        try:
            if not isinstance(value, str):
                raise ValueError(f"{value!r} is not a string")
            return str(ipaddress.ip_interface(value.strip()))
        except ValueError as error:
            raise Invalid(f"{attr}: {value} is invalid [{error}].") from None
    return convert


def check_rule(data: dict) -> None:
    """Upstream's checks of a new rule's prefixes (400 each)."""
    if data.get("remote_ip_prefix") and (data.get("source_ip_prefix")
                                         or data.get("destination_ip_prefix")):
        raise Invalid("Cannot use 'remote-ip-prefix' in conjunction with "
                      "'source-ip-prefix' or 'destination-ip-prefix'.")
    if not any(data.get(name) for name in PREFIX_FIELDS):
        raise Invalid("You must define at least one of the following parameters "
                      "'remote_ip_prefix', or 'source_ip_prefix' or "
                      "'destination_ip_prefix'.")


def overlaps(a: str, b: str) -> bool:
    one, two = ipaddress.ip_interface(a).network, ipaddress.ip_interface(b).network
    return one.version == two.version and one.overlaps(two)


LABEL = Resource("metering_label", "metering_labels", path="metering/metering-labels",
                 not_found=MeteringLabelNotFound, not_found_key="label_id",
                 tag_support=False)
LABEL.add(
    Attr("id", convert=v.uuid_value("id"), allow_post=False),
    Attr("name", convert=v.string("name", v.NAME_MAX_LEN), default=""),
    Attr("description", convert=v.string("description", LONG_DESCRIPTION_MAX_LEN),
         default=""),
    Attr("project_id", convert=v.project_id, default=None),
    Attr("tenant_id", convert=v.project_id, default=None),
    Attr("shared", convert=v.to_boolean, default=False, filter_convert=v.query_bool),
)

RULE = Resource("metering_label_rule", "metering_label_rules",
                path="metering/metering-label-rules", not_found=MeteringLabelRuleNotFound,
                not_found_key="rule_id", tag_support=False)
RULE.add(
    Attr("id", convert=v.uuid_value("id"), allow_post=False),
    Attr("metering_label_id", convert=v.uuid_value("metering_label_id"),
         default=REQUIRED),
    Attr("direction", convert=v.one_of("direction", DIRECTIONS), default=REQUIRED),
    Attr("excluded", convert=v.to_boolean, default=False, filter_convert=v.query_bool),
    Attr("remote_ip_prefix", convert=prefix_or_none("remote_ip_prefix")),
    # A rule's project is its label's: accepted in a body as upstream, not shown.
    Attr("project_id", convert=v.project_id, default=None, visible=False,
         filterable=False, sortable=False),
    Attr("tenant_id", convert=v.project_id, default=None, visible=False,
         filterable=False, sortable=False),
)

METERING = Feature(
    "metering",
    (Extension("metering", "Neutron Metering", "Neutron Metering extension.",
               "2013-06-12T10:00:00-00:00"),),
    resources=(LABEL, RULE))

SOURCE_AND_DESTINATION = Feature(
    "metering_source_and_destination_fields",
    (Extension("metering_source_and_destination_fields",
               "Neutron Metering with source and destination filtering",
               "Neutron Metering extension that enables the use of source and "
               "destination IP prefixes to create metering label rules.",
               "2020-08-21T08:12:00-00:00"),),
    adds={"metering_label_rules": (
        Attr("source_ip_prefix", convert=prefix_or_none("source_ip_prefix")),
        Attr("destination_ip_prefix", convert=prefix_or_none("destination_ip_prefix")),
    )})
