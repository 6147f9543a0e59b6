"""Which notifications can change what an L2 agent realises (pure).

Every L2 agent of a region hears every fanout: a port created on one host sends
``security_groups_member_updated`` for its groups to all. Level-triggered, an agent
resyncs on any message, so a burst of changes elsewhere would make every host fetch
its whole desired state again and again. The agent keeps, from its last desired
state, the networks, ports and security groups (its own and their remote groups) it
realises, and lets through only what touches one of them, or its own host, as
upstream's agents check a notification against their devices:

* ``port_update``: bound to this host, or on one of its networks (a peer's FDB
  entry), or one of its ports (moved away);
* ``port_delete``: one of its ports, or on one of its networks;
* ``network_update`` / ``network_delete``: one of its networks;
* ``security_groups_*_updated``: one of its groups or their remote groups;
* anything else, anything without the ids to decide, and everything before the
  first desired state arrived: let through.

A new port bound here is seen by its tap appearing (a device event), and the
periodic resync closes any gap, so nothing here can leave the host wrong for long.
"""

from __future__ import annotations

from typing import Any

from neutrino.contract.l2 import L2State

GROUP_METHODS = frozenset({"security_groups_member_updated",
                           "security_groups_rule_updated"})


class Interest:
    def __init__(self, host: str) -> None:
        self.host = host
        self.known = False
        self.networks: frozenset[str] = frozenset()
        self.ports: frozenset[str] = frozenset()
        self.groups: frozenset[str] = frozenset()

    def update(self, state: L2State) -> None:
        """Remember what the desired state just fetched covers."""
        self.networks = frozenset(n["id"] for n in state["networks"]) | frozenset(
            p["network_id"] for p in state["ports"])
        self.ports = frozenset(p["id"] for p in state["ports"])
        self.groups = frozenset(state["security_groups"]) | frozenset(
            state["remote_groups"])
        self.known = True

    def wants(self, method: str, kwargs: dict[str, Any]) -> bool:
        """Whether a notification may change this host's desired state."""
        if not self.known:
            return True
        if method == "port_update":
            port = kwargs.get("port")
            if not isinstance(port, dict) or not port.get("network_id"):
                return True
            return (port.get("binding:host_id") == self.host
                    or port["network_id"] in self.networks
                    or port.get("id") in self.ports)
        if method == "port_delete":
            network_id = kwargs.get("network_id")
            return (network_id is None or network_id in self.networks
                    or kwargs.get("port_id") in self.ports)
        if method == "network_update":
            network = kwargs.get("network")
            return not isinstance(network, dict) or network.get("id") in self.networks
        if method == "network_delete":
            return kwargs.get("network_id") in self.networks
        if method in GROUP_METHODS:
            groups = kwargs.get("security_groups")
            return not isinstance(groups, list) or any(g in self.groups for g in groups)
        return True
