"""Topic names: defined in neutrino.contract.topics (shared with the agents); this
name stays for server modules that still import it from here."""

from neutrino.contract.topics import (
    AGENT_PREFIX,
    AGENT_TYPE_DHCP,
    AGENT_TYPE_L3,
    AGENT_TYPE_LINUXBRIDGE,
    AGENT_TYPE_METADATA,
    DHCP_AGENT,
    L3_AGENT,
    NETWORK_DELETE,
    NETWORK_UPDATE,
    PLUGIN,
    PORT_DELETE,
    PORT_UPDATE,
    REPORTS,
    SECURITY_GROUP_UPDATE,
    fanout_topic,
)

__all__ = [
    "AGENT_PREFIX",
    "AGENT_TYPE_DHCP",
    "AGENT_TYPE_L3",
    "AGENT_TYPE_LINUXBRIDGE",
    "AGENT_TYPE_METADATA",
    "DHCP_AGENT",
    "L3_AGENT",
    "NETWORK_DELETE",
    "NETWORK_UPDATE",
    "PLUGIN",
    "PORT_DELETE",
    "PORT_UPDATE",
    "REPORTS",
    "SECURITY_GROUP_UPDATE",
    "fanout_topic",
]
