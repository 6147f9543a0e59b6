"""port-mac-override: a direct-physical port takes the MAC of the physical device
it is bound to, which Nova passes as ``binding:profile["device_mac_address"]``
(instead of changing mac_address itself, an admin-only attribute). And, as
upstream, unplugging such a port (device_id and device_owner both set to "") gives
it a new random MAC, freeing the device's for the next port.

Pure: both decide what the request's ``mac_address`` becomes; the port service
applies it without the bound-port check (the new binding brings the MAC).
"""

from __future__ import annotations

from typing import Any

from neutrino.exceptions import HTTPBadRequest
from neutrino.ipam import mac as macs
from neutrino.resources import validators as v
from neutrino.resources.port_binding import PROFILE, VNIC_TYPE

VNIC_DIRECT_PHYSICAL = "direct-physical"
DEVICE_MAC_ADDRESS = "device_mac_address"
REGENERATE = None  # mac_address null: a new random MAC


def _device_mac(profile: Any) -> str | None:
    if not isinstance(profile, dict) or DEVICE_MAC_ADDRESS not in profile:
        return None
    try:
        return macs.validate_mac(profile[DEVICE_MAC_ADDRESS])
    except HTTPBadRequest:
        raise v.bad(PROFILE, f"'{profile[DEVICE_MAC_ADDRESS]}' is not a valid MAC "
                    f"address for {DEVICE_MAC_ADDRESS}") from None


def on_create(data: dict) -> dict:
    """The create's data with the device's MAC when the profile names one."""
    if data.get(VNIC_TYPE) != VNIC_DIRECT_PHYSICAL:
        return data
    mac = _device_mac(data.get(PROFILE))
    return data if mac is None else dict(data, mac_address=mac)


def on_update(old: dict, data: dict) -> tuple[dict, bool]:
    """(the update's data, whether its MAC comes from here and skips the bound-port
    check). `old` is the port before the request, with its binding attributes."""
    vnic = data.get(VNIC_TYPE, old.get(VNIC_TYPE))
    if vnic != VNIC_DIRECT_PHYSICAL:
        return data, False
    mac = _device_mac(data.get(PROFILE, old.get(PROFILE)))
    if mac is not None:
        return dict(data, mac_address=mac), mac != old["mac_address"]
    unplugged = (data.get("device_id") == "" and data.get("device_owner") == ""
                 and old.get("device_id"))
    if unplugged and "mac_address" not in data:
        return dict(data, mac_address=REGENERATE), True
    return data, False
