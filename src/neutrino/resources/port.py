"""The port resource."""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Feature
from neutrino.resources.standard import standard_attrs

UNSET = object()

PORT = Resource("port", "ports", not_found=exc.PortNotFound, not_found_key="port_id")
PORT.add(
    *standard_attrs(),
    Attr("network_id", convert=v.uuid_value("network_id"), default=REQUIRED),
    Attr("admin_state_up", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    Attr("mac_address", default=UNSET, allow_put=True, enforce_policy=True),
    Attr("fixed_ips", default=UNSET, allow_put=True, enforce_policy=True,
         sortable=False),
    Attr("device_id", convert=v.string("device_id", v.DEVICE_ID_MAX_LEN), default="",
         allow_put=True),
    Attr("device_owner", convert=v.string("device_owner", v.DEVICE_OWNER_MAX_LEN),
         default="", allow_put=True, enforce_policy=True),
    Attr("status", allow_post=False),
)

# A core resource: no extension alias.
FEATURE = Feature("port", resources=(PORT,))
