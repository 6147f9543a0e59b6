"""Small port attributes of ML2 extension drivers, as upstream defines them:

* ``propagate_uplink_status`` (uplink-status-propagation): whether the port's VF
  follows the uplink's link state; set at create only, default false.
* ``device_profile`` (port-device-profile): the name of a Cyborg device profile,
  string or null, set at create only.
* ``trusted`` (port-trusted-vif): whether the VIF is trusted (an SR-IOV VF that may
  change its MAC, enter promiscuous mode...); null until set, settable by admins,
  also shown as ``binding:profile["trusted"]`` (what Nova reads).

None of them is a filter or sort key upstream (so filter/sort-key validation
refuses them).
"""

from __future__ import annotations

from typing import Any

from neutrino.db.models.port_attributes import DEVICE_PROFILE_MAX_LEN
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.port import UNSET

PROPAGATE_UPLINK_STATUS = "propagate_uplink_status"
DEVICE_PROFILE = "device_profile"
TRUSTED = "trusted"

_device_profile_string = v.string(DEVICE_PROFILE, DEVICE_PROFILE_MAX_LEN)


def device_profile(value: Any) -> str | None:
    return None if value is None else _device_profile_string(value)


UPLINK_STATUS_PROPAGATION = Feature(
    "uplink-status-propagation",
    (Extension("uplink-status-propagation", "Uplink status propagation extension",
               "Provides ability to propagate port uplink status.",
               "2018-05-31T18:00:00-00:00"),),
    adds={"ports": (Attr(PROPAGATE_UPLINK_STATUS, convert=v.to_boolean, default=False,
                         filterable=False, sortable=False),)})

PORT_DEVICE_PROFILE = Feature(
    "port-device-profile",
    (Extension("port-device-profile", "Port device profile", "Expose the port device "
               "profile (Cyborg)", "2020-12-17T10:00:00-00:00"),),
    adds={"ports": (Attr(DEVICE_PROFILE, convert=device_profile, default=None,
                         filterable=False, sortable=False),)})

PORT_TRUSTED_VIF = Feature(
    "port-trusted-vif",
    (Extension("port-trusted-vif", "Port trusted vif", "Expose port 'trusted' attribute "
               "in the API", "2024-07-10T10:00:00-00:00"),),
    adds={"ports": (Attr(TRUSTED, convert=v.to_boolean, default=UNSET, allow_put=True,
                         enforce_policy=True, filterable=False, sortable=False),)})
