"""The trunk part of the "l2" desired state (issue 14): on a trunk's parent port,
the sub-ports its agent carries as VLAN sub-interfaces of the parent's tap.

A sub-port's VLAN device is named as its own tap (``tap<subport[:11]>``, upstream's
Linux bridge trunk driver's choice: ``<tap>.<vid>`` would not fit the kernel's 15
characters), so the rest of the agent plugs it into the sub-port network's bridge
like any port's tap. A server from before trunks omits `trunk`: no sub-ports.
"""

from __future__ import annotations

from typing import TypedDict


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
