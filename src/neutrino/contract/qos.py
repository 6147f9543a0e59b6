"""QoS rules as agents get them (issue 14): in the "l2" desired state, each port's
effective rules (its own policy's, else its network's), as the API shows them in a
policy's ``rules`` without ``qos_policy_id`` (docs/rpc.md).

Directions are the VM's, as upstream's: "egress" is what the VM sends.
"""

from __future__ import annotations

from typing import Literal, TypedDict

Direction = Literal["egress", "ingress"]


class BandwidthLimitRule(TypedDict):
    id: str
    type: Literal["bandwidth_limit"]
    max_kbps: int
    max_burst_kbps: int     # 0: the driver's default burst
    direction: Direction


class DscpMarkingRule(TypedDict):
    id: str
    type: Literal["dscp_marking"]
    dscp_mark: int


class MinimumBandwidthRule(TypedDict):
    id: str
    type: Literal["minimum_bandwidth"]
    min_kbps: int
    direction: Direction


class MinimumPacketRateRule(TypedDict):
    id: str
    type: Literal["minimum_packet_rate"]
    min_kpps: int
    direction: Literal["egress", "ingress", "any"]


class PacketRateLimitRule(TypedDict):
    id: str
    type: Literal["packet_rate_limit"]
    max_kpps: int
    max_burst_kpps: int
    direction: Direction


# Told apart by "type"; an agent ignores the types it does not apply (the server
# only lets a port use rules its host's driver supports).
QosRule = (BandwidthLimitRule | DscpMarkingRule | MinimumBandwidthRule
           | MinimumPacketRateRule | PacketRateLimitRule)
