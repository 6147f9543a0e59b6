"""The trunk part of the "l2" desired state (issue 14): on a trunk's parent port,
the sub-ports its agent carries as VLAN sub-interfaces of the parent's tap.

A sub-port's VLAN device is named as its own tap (``tap<subport[:11]>``, upstream's
Linux bridge trunk driver's choice: ``<tap>.<vid>`` would not fit the kernel's 15
characters), so the rest of the agent plugs it into the sub-port network's bridge
like any port's tap. A server from before trunks omits `trunk`: no sub-ports.

On Open vSwitch the trunk's parent is plugged into the trunk's own bridge
(`trunk_bridge`), a name the server (the `openvswitch` mechanism driver's
``vif_details.bridge_name``) and the agent (which wires that bridge to br-int) share.
"""

from __future__ import annotations

from typing import TypedDict

TRUNK_BRIDGE_PREFIX = "tbr-"
NAME_MAX = 15   # the kernel's interface name limit


def trunk_bridge(trunk_id: str) -> str:
    """The trunk's bridge on Open vSwitch (upstream's name: one character short of
    the limit)."""
    return (TRUNK_BRIDGE_PREFIX + trunk_id)[:NAME_MAX - 1]


class TrunkSubPort(TypedDict):
    port_id: str
    device: str             # names.tap_device(port_id): the VLAN sub-interface
    segmentation_type: str  # "vlan"
    segmentation_id: int    # the VLAN id on the parent's wire
    mac_address: str


class TrunkInfo(TypedDict):
    trunk_id: str
    admin_state_up: bool
    sub_ports: list[TrunkSubPort]
