"""Topic names on the bus (upstream Neutron's, so operators recognise the queues)."""

from __future__ import annotations

# Agent -> server calls (device details, device up/down, desired state, DHCP port).
PLUGIN = "q-plugin"
# Agent -> server state reports (heartbeats): AgentStateEndpoint.report_state.
REPORTS = "q-reports-plugin"

# Server -> agents fanouts: "<prefix>-<resource>-<event>", dhcp_agent, l3_agent.
AGENT_PREFIX = "q-agent-notifier"
PORT_UPDATE = "q-agent-notifier-port-update"
PORT_DELETE = "q-agent-notifier-port-delete"
NETWORK_UPDATE = "q-agent-notifier-network-update"
NETWORK_DELETE = "q-agent-notifier-network-delete"
SECURITY_GROUP_UPDATE = "q-agent-notifier-securitygroup-update"
DHCP_AGENT = "dhcp_agent"
L3_AGENT = "l3_agent"

# Agent types as upstream reports them (agent_type of /v2.0/agents).
AGENT_TYPE_LINUXBRIDGE = "Linux bridge agent"
AGENT_TYPE_DHCP = "DHCP agent"
AGENT_TYPE_L3 = "L3 agent"
AGENT_TYPE_METADATA = "Metadata agent"
AGENT_TYPE_OVS = "Open vSwitch agent"


def fanout_topic(resource: str, event: str) -> str:
    """The topic of a server -> agents notification, e.g. ("port", "update")."""
    return f"{AGENT_PREFIX}-{resource}-{event}"
