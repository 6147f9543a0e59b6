"""``report_state`` on q-reports-plugin: an agent's heartbeat (docs/rpc.md)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class LinuxBridgeConfigurations(TypedDict):
    """The Linux bridge agent's `configurations`: what port binding (ml2/linuxbridge.py)
    and the QoS checks read of it."""

    interface_mappings: dict[str, str]   # physical network -> interface
    bridge_mappings: dict[str, str]
    tunnel_types: list[str]
    tunneling_ip: str | None
    l2_population: bool
    devices: int
    unsupported_network_types: dict[str, str]  # type -> why this host cannot
    # The QoS rule types the agent applies (issue 14); an agent from before QoS
    # omits it.
    supported_qos_rule_types: NotRequired[list[str]]
    # Trunks (issue 14): whether the host can make VLAN sub-interfaces for trunk
    # sub-ports, and why not; an agent from before trunks omits both (its host's
    # sub-ports are not bound).
    trunk_supported: NotRequired[bool]
    trunk_unsupported_reason: NotRequired[str]


class AgentState(TypedDict):
    """What an agent reports; the server answers a `ReportAnswer`."""

    agent_type: str          # topics.AGENT_TYPE_*
    binary: str
    topic: str
    host: NotRequired[str]   # StateReporter fills in its own host when missing
    # Shown in /v2.0/agents; free-form but for the agent types typed above.
    configurations: NotRequired[LinuxBridgeConfigurations | dict[str, object]]
    availability_zone: NotRequired[str]
    start_flag: NotRequired[bool]          # only in the first report after a start
    load: NotRequired[int]
    resource_versions: NotRequired[dict[str, str]]


# "invalid": agent_type, binary, topic or host missing (the report is ignored).
ReportAnswer = Literal["new", "alive", "revived", "invalid"]
