"""Security group logging (issue 14): log objects at ``/v2.0/log/logs`` and the
types they may log at ``/v2.0/log/loggable-resources``, alias ``logging``.

A log names what to log by ``resource_type`` (only ``security_group`` here),
optionally one security group (``resource_id``) and/or one port (``target_id``),
and which packets: ``ACCEPT`` (new connections a rule allowed), ``DROP``
(packets no rule allowed) or ``ALL``. With neither id, it logs every port of its
project. Only ``name``, ``description`` and ``enabled`` change after create.
"""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.standard import standard_attrs

SECURITY_GROUP = "security_group"
# What the Linux bridge agent's firewall can log.
LOGGABLE_TYPES = (SECURITY_GROUP,)
ACCEPT, DROP, ALL = "ACCEPT", "DROP", "ALL"
EVENTS = [ALL, ACCEPT, DROP]
RESOURCE_TYPE_MAX_LEN = 36  # upstream's column


class LogResourceNotFound(exc.NotFound):
    message = "Log resource %(log_id)s could not be found."


class InvalidLogResourceType(exc.BadRequest):
    message = "Invalid log resource_type: %(resource_type)s."


class TargetResourceNotFound(exc.NotFound):
    message = "Target resource %(target_id)s could not be found."


class ResourceNotFound(exc.NotFound):
    message = "Resource %(resource_id)s could not be found."


class InvalidResourceConstraint(exc.BadRequest):
    message = ("Invalid resource constraint between resource "
               "(%(resource)s %(resource_id)s) and target resource "
               "(%(target_resource)s %(target_id)s).")


_s = {a.name: a for a in standard_attrs()}
LOG = Resource("log", "logs", path="log/logs", not_found=LogResourceNotFound,
               not_found_key="log_id", tag_support=False)
LOG.add(
    _s["id"], _s["project_id"], _s["tenant_id"], _s["name"], _s["description"],
    Attr("resource_type", convert=v.string("resource_type", RESOURCE_TYPE_MAX_LEN),
         default=REQUIRED),
    Attr("resource_id", convert=v.uuid_or_none("resource_id"), default=None),
    Attr("target_id", convert=v.uuid_or_none("target_id"), default=None),
    Attr("event", convert=v.one_of("event", EVENTS), default=ALL),
    Attr("enabled", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    _s["created_at"], _s["updated_at"], _s["revision_number"],
)

# Listed: the Linux bridge agent's firewall logs the packets and writes the lines
# (docs/agents.md, "Security group logging"). Upstream's plugin lists only this
# alias; loggable-resources is one of its collections.
EXTENSION = Extension("logging", "Logging API Extension",
                      "Provides a logging API for resources such as security group "
                      "and firewall.",
                      "2017-01-01T10:00:00-00:00")
LOGGING = Feature("logging", (EXTENSION,), resources=(LOG,))
