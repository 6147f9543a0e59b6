"""``get_desired_state(kind="l2")``: what the Linux bridge agent and its firewall
realise on a host (docs/rpc.md), and the L2 agent's device calls."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from neutrino.contract.common import AddressesByFamily, FixedIp
from neutrino.contract.qos import QosRule
from neutrino.contract.trunk import TrunkInfo


class AddressPair(TypedDict):
    ip_address: str         # an address or a CIDR
    mac_address: str


class PortLog(TypedDict):
    """An enabled security-group log covering a port (issue 14): its id, its project
    and which packets it logs ("ACCEPT", "DROP" or "ALL")."""

    id: str
    project_id: str
    event: str


class L2Port(TypedDict):
    """A port bound to the host."""

    id: str
    device: str             # names.tap_device(id)
    revision_number: int
    network_id: str
    mac_address: str
    admin_state_up: bool
    status: str
    device_owner: str
    fixed_ips: list[FixedIp]
    allowed_address_pairs: list[AddressPair]
    port_security_enabled: bool
    security_groups: list[str]  # ids, keys of L2State.security_groups
    # QoS (issue 14): the effective policy and its rules ([]: none). A server from
    # before QoS omits both: the agent reads them with .get() and applies no QoS.
    qos_policy_id: NotRequired[str | None]
    qos_rules: NotRequired[list[QosRule]]
    # Trunks (issue 14): on a trunk's parent, its sub-ports (contract/trunk.py);
    # absent on other ports and from a server before trunks.
    trunk: NotRequired[TrunkInfo]
    # Security group logging (issue 14): the enabled logs covering the port, by id
    # ([]: none); absent from a server before logging (the agent logs nothing).
    logs: NotRequired[list[PortLog]]


class PeerMac(TypedDict):
    mac_address: str
    ip_address: str | None  # None: a port without an address


class Peer(TypedDict):
    """Another host with ports on the network."""

    host: str
    tunnel_ip: str | None   # its Linux bridge agent's tunneling_ip
    macs: list[PeerMac]


class L2Network(TypedDict):
    id: str
    revision_number: int
    mtu: int | None
    # The segment the host's ports are bound to (None: the network has none).
    network_type: str | None
    physical_network: str | None
    segmentation_id: int | None
    peers: list[Peer]


class SecurityGroupRule(TypedDict):
    id: str
    direction: str          # "ingress" | "egress"
    ethertype: str          # "IPv4" | "IPv6"
    protocol: str | None    # a name or a number as text; None: any
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None
    remote_address_group_id: str | None


class SecurityGroup(TypedDict):
    stateful: bool
    revision_number: int
    rules: list[SecurityGroupRule]


class L2State(TypedDict):
    host: str
    ports: list[L2Port]
    networks: list[L2Network]               # the networks of `ports`
    security_groups: dict[str, SecurityGroup]
    remote_groups: dict[str, AddressesByFamily]   # members of remote_group_id groups
    address_groups: dict[str, AddressesByFamily]  # addresses of remote address groups


# -- get_device_details / get_devices_details_list, update_device_down ------------


class DeviceDetails(TypedDict):
    """One device's details; `device` alone when its port is unknown, bound to
    another host or not bound."""

    device: str
    port_id: NotRequired[str]
    network_id: NotRequired[str]
    network_type: NotRequired[str | None]
    segmentation_id: NotRequired[int | None]
    physical_network: NotRequired[str | None]
    mtu: NotRequired[int | None]
    mac_address: NotRequired[str]
    fixed_ips: NotRequired[list[FixedIp]]
    admin_state_up: NotRequired[bool]
    device_owner: NotRequired[str]
    status: NotRequired[str]
    revision_number: NotRequired[int]
    port_security_enabled: NotRequired[bool]
    security_groups: NotRequired[list[str]]
    allowed_address_pairs: NotRequired[list[AddressPair]]
    profile: NotRequired[dict[str, object]]


class DeviceDown(TypedDict):
    """update_device_down's answer (update_device_up answers None)."""

    device: str
    exists: bool


class DeviceList(TypedDict):
    """update_device_list's answer, as upstream's: the devices handled (up: their
    names; down: update_device_down's answer for each) and those that failed (the
    agent reports them again at its next sync)."""

    devices_up: list[str]
    failed_devices_up: list[str]
    devices_down: list[DeviceDown]
    failed_devices_down: list[str]


def empty_state(host: str) -> L2State:
    """Nothing on the host (what the server sends for a host without ports)."""
    return {"host": host, "ports": [], "networks": [], "security_groups": {},
            "remote_groups": {}, "address_groups": {}}
