"""Server -> agents notifications (docs/rpc.md "Server -> agents"): what changed
and its revision, never the state itself (agents then ask for their desired
state). The keyword arguments of each method, per topic."""

from __future__ import annotations

from typing import TypedDict

# q-agent-notifier-port-update, port_update(port=...). "binding:host_id" is not an
# identifier, hence this form.
PortRef = TypedDict("PortRef", {"id": str, "network_id": str | None,
                                "revision_number": int | None,
                                "binding:host_id": str | None})


class PortDelete(TypedDict):
    """q-agent-notifier-port-delete, port_delete(...)."""

    port_id: str
    network_id: str | None


class NetworkRef(TypedDict):
    """q-agent-notifier-network-update, network_update(network=...)."""

    id: str
    revision_number: int | None


class NetworkDelete(TypedDict):
    """q-agent-notifier-network-delete, network_delete(...)."""

    network_id: str


class SecurityGroupsChanged(TypedDict):
    """q-agent-notifier-securitygroup-update, security_groups_rule_updated /
    security_groups_member_updated(...)."""

    security_groups: list[str]


class ResourceRef(TypedDict):
    """dhcp_agent <resource>_create_end / _update_end: payload={"<resource>": ...}."""

    id: str
    network_id: str
    revision_number: int | None


class RoutersUpdated(TypedDict):
    """l3_agent routers_updated(...)."""

    routers: list[str]
