"""Trunks (`/v2.0/trunks`, extension ``trunk``) and ``trunk_details`` on ports
(extension ``trunk-details``).

A trunk is a parent port plus sub-ports, each carried on the parent's wire with a
segmentation: ``vlan`` and an id in 1-4094, or ``inherit`` (the sub-port network's
own type and id, which must then be a VLAN network). Sub-ports are added, removed
and listed with the member actions ``add_subports``, ``remove_subports`` (PUT) and
``get_subports`` (GET).
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.standard import standard_attrs

VLAN, INHERIT = "vlan", "inherit"
SUBPORT_OWNER = "trunk:subport"  # upstream's device_owner of a trunk's sub-ports
# Segmentation types the Linux bridge trunk driver carries, with the ids allowed.
SEGMENTATION_TYPES = {VLAN: (1, 4094)}

# Upstream's trunk statuses (neutron-lib's trunk constants).
ACTIVE, DOWN, BUILD, DEGRADED, ERROR = "ACTIVE", "DOWN", "BUILD", "DEGRADED", "ERROR"


class TrunkNotFound(exc.NotFound):
    message = "Trunk %(trunk_id)s could not be found."


class TrunkPortInUse(exc.InUse):
    message = "Port %(port_id)s is in use by another trunk."


class SubPortNotFound(exc.NotFound):
    message = "SubPort on trunk %(trunk_id)s with parent port %(port_id)s could not be found."


class DuplicateSubPort(exc.InUse):
    message = ("segmentation_type %(segmentation_type)s and segmentation_id "
               "%(segmentation_id)s already in use on trunk %(trunk_id)s.")


class ParentPortInUse(exc.InUse):
    message = ("Port %(port_id)s is currently in use and is not eligible for use as a "
               "parent port.")


class SubPortMtuGreaterThanTrunkPortMtu(exc.Conflict):
    message = ("MTU %(port_mtu)s of subport %(port_id)s cannot be greater than MTU "
               "%(trunk_mtu)s of trunk %(trunk_id)s.")


class PortInUseAsTrunkParent(exc.InUse):
    message = "Port %(port_id)s is currently a parent port for trunk %(trunk_id)s."


class PortInUseAsSubPort(exc.InUse):
    message = "Port %(port_id)s is currently a subport for trunk %(trunk_id)s."


class TrunkInUse(exc.InUse):
    message = "Trunk %(trunk_id)s is currently in use."


class TrunkDisabled(exc.Conflict):
    message = "Trunk %(trunk_id)s is currently disabled."


class TrunkInErrorState(exc.Conflict):
    message = ("Trunk %(trunk_id)s is in error state. Attempt to resolve the error "
               "condition before proceeding.")


def subports_problem(value: Any) -> str | None:
    """Why a list of sub-ports is malformed (upstream's "type:subports"): a list of
    dicts, each with a valid unique port_id, both segmentation keys or ``inherit``,
    no segmentation id twice for one type. None when well formed."""
    if not isinstance(value, list):
        return f"Invalid data format for subports: '{value}' is not a list"
    seen_ports: set[str] = set()
    seen_ids: dict[str, set[Any]] = {}
    for subport in value:
        if not isinstance(subport, dict):
            return f"Invalid data format for subport: '{subport}' is not a dict"
        port_id = subport.get("port_id")
        if "port_id" not in subport:
            return "A valid port UUID must be specified"
        if not isinstance(port_id, str) or not v.UUID_RE.match(port_id):
            return f"Invalid UUID for subport: '{port_id}'"
        if port_id in seen_ports:
            return f"Non unique UUID for subport: '{port_id}'"
        seen_ports.add(port_id)
        seg_type = subport.get("segmentation_type")
        if seg_type == INHERIT:
            # Upstream stops checking the list here (an early return); the rest
            # of the list is still checked here.
            continue
        seg_id = subport.get("segmentation_id")
        if (not seg_type or seg_id is None) and len(subport) > 1:
            return (f"Invalid subport details '{subport}': missing segmentation "
                    "information. Must specify both segmentation_id and "
                    "segmentation_type")
        if seg_id in seen_ids.get(str(seg_type), set()):
            return f"Segmentation ID '{seg_id}' for '{port_id}' is not unique"
        if seg_id:
            seen_ids.setdefault(str(seg_type), set()).add(seg_id)
    return None


def subports(value: Any) -> list[dict]:
    """The sub_ports attribute of a trunk create: checked for shape (400)."""
    problem = subports_problem(value)
    if problem:
        raise v.bad("sub_ports", problem)
    return [dict(s) for s in value]


def segmentation(subport: dict) -> tuple[str, int]:
    """The (type, id) of a sub-port whose `inherit` is already resolved: both must be
    there, the id an integer in its type's range (400 otherwise, upstream's words)."""
    try:
        seg_type = subport["segmentation_type"]
        raw = subport["segmentation_id"]
    except KeyError:
        raise exc.InvalidInput(
            f"Invalid subport details '{subport}': missing segmentation information. "
            "Must specify both segmentation_id and segmentation_type") from None
    try:
        seg_id = v.to_int(raw)
    except exc.InvalidInput:
        raise exc.InvalidInput(f"Invalid subport details: segmentation_id '{raw}' is "
                               "not an integer") from None
    if seg_type not in SEGMENTATION_TYPES:
        raise exc.InvalidInput(f"Unknown segmentation_type '{seg_type}'")
    low, high = SEGMENTATION_TYPES[seg_type]
    if not low <= seg_id <= high:
        raise exc.InvalidInput(f"Segmentation ID '{seg_id}' is not in range")
    return seg_type, seg_id


_s = {a.name: a for a in standard_attrs()}
TRUNK = Resource("trunk", "trunks", not_found=TrunkNotFound, not_found_key="trunk_id")
TRUNK.add(
    Attr("admin_state_up", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    _s["id"], _s["name"], _s["project_id"], _s["tenant_id"],
    Attr("port_id", convert=v.uuid_value("port_id"), default=REQUIRED),
    Attr("status", allow_post=False),
    Attr("sub_ports", convert=subports, default=list, enforce_policy=True,
         filterable=False, sortable=False),
    _s["description"], _s["tags"], _s["created_at"], _s["updated_at"],
    _s["revision_number"],
)

FEATURE = Feature(
    "trunk",
    (Extension("trunk", "Trunk Extension", "Provides support for trunk ports",
               "2016-01-01T10:00:00-00:00"),),
    resources=(TRUNK,))

TRUNK_DETAILS = Feature(
    "trunk-details",
    (Extension("trunk-details", "Trunk port details", "Expose trunk port details",
               "2016-01-01T10:00:00-00:00"),),
    adds={"ports": (Attr("trunk_details", allow_post=False, enforce_policy=True,
                         filterable=False, sortable=False),)})
