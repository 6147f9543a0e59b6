"""Small port attributes of ML2 extension drivers, as upstream defines them:

* ``propagate_uplink_status`` (uplink-status-propagation): whether the port's VF
  follows the uplink's link state; set at create only, default false.
* ``device_profile`` (port-device-profile): the name of a Cyborg device profile,
  string or null, set at create only.
* ``trusted`` (port-trusted-vif): whether the VIF is trusted (an SR-IOV VF that may
  change its MAC, enter promiscuous mode...); null until set, settable by admins,
  also shown as ``binding:profile["trusted"]`` (what Nova reads).
* ``numa_affinity_policy`` (port-numa-affinity-policy, + -socket for "socket"):
  how Nova places the instance's NUMA node for the port's device; null (no
  preference), required, preferred, legacy or socket; settable on create and
  update.

None of them is a filter or sort key upstream (so filter/sort-key validation
refuses them).
"""

from __future__ import annotations

from typing import Any

from neutrino.db.models.port_attributes import DEVICE_PROFILE_MAX_LEN
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature, extension
from neutrino.resources.port import UNSET

PROPAGATE_UPLINK_STATUS = "propagate_uplink_status"
DEVICE_PROFILE = "device_profile"
TRUSTED = "trusted"
NUMA_AFFINITY_POLICY = "numa_affinity_policy"
# Upstream's order (neutron-lib PORT_NUMA_POLICIES); "socket" comes with
# port-numa-affinity-policy-socket, which this server offers.
NUMA_POLICIES = ("required", "preferred", "legacy", "socket", None)

_device_profile_string = v.string(DEVICE_PROFILE, DEVICE_PROFILE_MAX_LEN)


def device_profile(value: Any) -> str | None:
    return None if value is None else _device_profile_string(value)


def numa_affinity_policy(value: Any) -> str | None:
    if value not in NUMA_POLICIES:
        raise v.bad(NUMA_AFFINITY_POLICY, f"'{value}' is not in {NUMA_POLICIES}")
    return value


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

PORT_NUMA_AFFINITY_POLICY = Feature(
    "port-numa-affinity-policy",
    (Extension("port-numa-affinity-policy", "Port NUMA affinity policy",
               "Expose the port NUMA affinity policy", "2020-07-08T10:00:00-00:00"),),
    adds={"ports": (Attr(NUMA_AFFINITY_POLICY, convert=numa_affinity_policy,
                         default=None, allow_put=True, filterable=False,
                         sortable=False),)})

# "socket" among the values above (an alias only).
PORT_NUMA_AFFINITY_POLICY_SOCKET = extension(
    "port-numa-affinity-policy-socket", 'Port NUMA affinity policy "socket"',
    'Adds "socket" to the supported port NUMA affinity policies',
    "2024-02-09T10:00:00-00:00")

# A direct-physical port takes binding:profile's device_mac_address as its MAC
# (services/port_mac_override.py); an alias.
PORT_MAC_OVERRIDE = extension(
    "port-mac-override", "Neutron Port MAC address override", "Allow overriding the "
    "MAC address of a direct-physical Port via the active binding profile",
    "2022-03-18T10:00:00-00:00")
