"""binding: where and how a port is bound (``binding:*`` attributes of ports).

`binding:host_id` says which host plugs the port; the ML2 mechanism drivers then
choose how (`binding:vif_type`, `binding:vif_details`, read-only). Setting, and by
default seeing, the host, profile, vif type and details is for administrators;
a port's owner may choose its `binding:vnic_type`.
"""

from __future__ import annotations

from typing import Any

from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature

HOST_ID = "binding:host_id"
VNIC_TYPE = "binding:vnic_type"
PROFILE = "binding:profile"
VIF_TYPE = "binding:vif_type"
VIF_DETAILS = "binding:vif_details"
ATTRIBUTES = (HOST_ID, VNIC_TYPE, PROFILE, VIF_TYPE, VIF_DETAILS)

VIF_TYPE_UNBOUND = "unbound"
VIF_TYPE_BINDING_FAILED = "binding_failed"
VIF_TYPE_BRIDGE = "bridge"
VIF_TYPE_OVS = "ovs"

VNIC_NORMAL = "normal"
# Upstream's accepted values, in its order (the error message lists them).
VNIC_TYPES = ["normal", "direct", "macvtap", "baremetal", "direct-physical",
              "virtio-forwarder", "smart-nic", "vdpa", "accelerator-direct",
              "accelerator-direct-physical", "remote-managed"]
HOST_MAX_LEN = 255  # ml2_port_bindings.host

_host_string = v.string(HOST_ID, HOST_MAX_LEN)


def convert_host(value: Any) -> str:
    """A host name; null means no host (unbind), as upstream."""
    return "" if value is None else _host_string(value)


def convert_vnic_type(value: Any) -> str:
    if value not in VNIC_TYPES:
        raise v.bad(VNIC_TYPE, f"'{value}' is not in {VNIC_TYPES}")
    return value


def convert_profile(value: Any) -> dict:
    """A dictionary (null: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise v.bad(PROFILE, f"'{value}' is not a dictionary")
    return value


FEATURE = Feature(
    "binding",
    (Extension("binding", "Port Binding", "Expose port bindings of a virtual port to "
               "external application", "2014-02-03T10:00:00-00:00"),),
    adds={"ports": (
        Attr(HOST_ID, convert=convert_host, default="", allow_put=True,
             enforce_policy=True, sortable=False),
        Attr(VNIC_TYPE, convert=convert_vnic_type, default=VNIC_NORMAL, allow_put=True,
             enforce_policy=True, sortable=False),
        Attr(PROFILE, convert=convert_profile, default={}, allow_put=True,
             enforce_policy=True, filterable=False, sortable=False),
        Attr(VIF_TYPE, allow_post=False, enforce_policy=True, sortable=False),
        Attr(VIF_DETAILS, allow_post=False, enforce_policy=True, filterable=False,
             sortable=False),
    )})

# Several bindings per port (/v2.0/ports/{id}/bindings, services/port_bindings_extended).
BINDING_EXTENDED = Feature(
    "binding-extended",
    (Extension("binding-extended", "Port Bindings Extended", "Expose port bindings of a "
               "virtual port to external application", "2017-07-17T10:00:00-00:00"),))
