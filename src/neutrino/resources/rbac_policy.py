"""RBAC policies (rbac-policies): ``/v2.0/rbac-policies``."""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.standard import standard_attrs

PROJECT_ID_MAX_LEN = 255
ACTION_MAX_LEN = 255


class RbacPolicyNotFound(exc.NotFound):
    message = "RBAC policy of type %(object_type)s with ID %(id)s not found"

    def __init__(self, id: str, object_type: str = "unknown") -> None:  # noqa: A002
        super().__init__(id=id, object_type=object_type)


class DuplicateRbacPolicy(exc.Conflict):
    message = "An RBAC policy already exists with those values."


class InvalidActionForType(exc.InvalidInput):
    message = ("Invalid action '%(action)s' for object type '%(object_type)s'. "
               "Valid actions: %(valid_actions)s")

    def __init__(self, action: str, object_type: str, valid_actions: tuple) -> None:
        exc.NeutronError.__init__(self, action=action, object_type=object_type,
                                  valid_actions=valid_actions)


# The object types policies may name; services.rbac registers how to query each
# (tests/unit/test_resource_registry.py keeps the two in step).
OBJECT_TYPES = ("network", "security_group", "address_group", "address_scope",
                "subnetpool", "qos_policy")


def object_type_value(value: Any) -> str:
    """A known object type, case and surrounding blanks ignored (as upstream)."""
    if isinstance(value, str):
        normalized = value.strip().lower()
        if normalized in OBJECT_TYPES:
            return normalized
    raise exc.InvalidInput(f"'{value}' is not a valid RBAC object type")


_s = {a.name: a for a in standard_attrs()}
RBAC_POLICY = Resource("rbac_policy", "rbac_policies", path="rbac-policies",
                       not_found=RbacPolicyNotFound, not_found_key="id",
                       tag_support=False)
RBAC_POLICY.add(
    _s["id"],
    Attr("object_type", convert=object_type_value, default=REQUIRED, enforce_policy=True),
    Attr("object_id", convert=v.uuid_value("object_id"), default=REQUIRED,
         enforce_policy=True),
    # A project id or "*" (every project); the only attribute a PUT may change.
    Attr("target_tenant", convert=v.string("target_tenant", PROJECT_ID_MAX_LEN),
         default=REQUIRED, allow_put=True, enforce_policy=True),
    _s["project_id"], _s["tenant_id"],
    Attr("action", convert=v.string("action", ACTION_MAX_LEN), default=REQUIRED,
         enforce_policy=True),
)

FEATURE = Feature(
    "rbac-policies",
    (Extension("rbac-policies", "RBAC Policies", "Allows creation and modification of "
               "policies that control project access to resources.",
               "2015-06-17T12:15:12-00:00"),),
    resources=(RBAC_POLICY,))
