"""The `linuxbridge` mechanism driver: ports plugged into a Linux bridge by the
Linux bridge agent of their host.

It binds a port of vnic_type ``normal`` when the host has a Linux bridge agent that
is alive and administratively up, and that agent can carry the segment, judged from
the `configurations` its state reports carry:

* ``local``: always (the bridge alone);
* ``flat`` / ``vlan``: the segment's physical network is in ``interface_mappings``
  or ``bridge_mappings`` (physical network -> device or bridge);
* ``vxlan`` / ``gre`` / ``geneve``: the type is in ``tunnel_types``.

(``tunneling_ip``, the agent's VTEP address, is not needed to bind.)

A trunk's sub-port is bound only by an agent reporting ``trunk_supported: true``
(it can make VLAN sub-interfaces); otherwise the agent's
``trunk_unsupported_reason`` is the binding's failure reason.
"""

from __future__ import annotations

from collections.abc import Callable

from neutrino.contract.topics import AGENT_TYPE_LINUXBRIDGE
from neutrino.ml2.mechanism import Binding, BindRequest, Segment
from neutrino.resources.port_binding import VIF_TYPE_BRIDGE, VNIC_NORMAL

TUNNEL_TYPES = ("vxlan", "gre", "geneve")
PHYSICAL_TYPES = ("flat", "vlan")
VIF_DETAILS = {"port_filter": True, "connectivity": "l2"}


def describe(segment: Segment) -> str:
    parts = [segment.network_type]
    if segment.physical_network:
        parts.append(f"physical_network {segment.physical_network}")
    if segment.segmentation_id is not None:
        parts.append(f"segmentation_id {segment.segmentation_id}")
    return " ".join(parts)


def _mapped(configurations: dict, key: str) -> set[str]:
    value = configurations.get(key)
    return set(value) if isinstance(value, dict) else set()


def segment_refusal(configurations: dict, segment: Segment) -> str | None:
    """Why an agent with these `configurations` cannot carry `segment`; None when
    it can (pure)."""
    network_type = segment.network_type
    unsupported = configurations.get("unsupported_network_types")
    if isinstance(unsupported, dict) and network_type in unsupported:
        return f"agent cannot realise {network_type}: {unsupported[network_type]}"
    if network_type == "local":
        return None
    if network_type in TUNNEL_TYPES:
        tunnel_types = configurations.get("tunnel_types")
        if isinstance(tunnel_types, list) and network_type in tunnel_types:
            return None
        return (f"agent does not support {network_type} "
                f"(tunnel_types {tunnel_types or []})")
    if network_type in PHYSICAL_TYPES:
        mapped = (_mapped(configurations, "interface_mappings")
                  | _mapped(configurations, "bridge_mappings"))
        if segment.physical_network and segment.physical_network in mapped:
            return None
        return (f"agent has no mapping for physical network "
                f"{segment.physical_network} (mapped: {sorted(mapped)})")
    return f"network type {network_type} not supported"


def trunk_refusal(configurations: dict) -> str | None:
    """Why an agent cannot carry trunk sub-ports; None when it can (pure). An agent
    that does not say (from before trunks) cannot."""
    if configurations.get("trunk_supported") is True:
        return None
    why = configurations.get("trunk_unsupported_reason") or "agent does not report trunk support"
    return f"trunk sub-ports not supported: {why}"


def agent_refusal(agent: dict, segment: Segment, subport: bool = False) -> str | None:
    """Why this agent cannot plug a port into `segment`; None when it can (pure)."""
    if not agent.get("alive"):
        return f"agent {agent.get('id')} is not alive"
    if not agent.get("admin_state_up"):
        return f"agent {agent.get('id')} is administratively down"
    configurations = agent.get("configurations")
    configurations = configurations if isinstance(configurations, dict) else {}
    if subport:
        why = trunk_refusal(configurations)
        if why is not None:
            return why
    return segment_refusal(configurations, segment)


def bind_to_agent(request: BindRequest, segment: Segment, agent_type: str,
                  vnic_types: tuple[str, ...],
                  binding: Callable[[dict], Binding]) -> tuple[Binding | None, str]:
    """The L2-agent drivers' binding: the first alive `agent_type` agent of the host
    that can carry the segment; `binding(configurations)` makes what it binds.
    Otherwise None and why, for every agent."""
    if request.vnic_type not in vnic_types:
        return None, f"vnic_type {request.vnic_type} not supported"
    agents = [a for a in request.agents if a.get("agent_type") == agent_type]
    if not agents:
        return None, f"no {agent_type} on host {request.host}"
    reasons: list[str] = []
    for agent in agents:
        why = agent_refusal(agent, segment, request.subport)
        if why is None:
            configurations = agent.get("configurations")
            return binding(configurations if isinstance(configurations, dict) else {}), ""
        reasons.append(why)
    return None, f"{describe(segment)}: " + ", ".join(reasons)


class LinuxBridgeMechanismDriver:
    name = "linuxbridge"
    agent_type = AGENT_TYPE_LINUXBRIDGE
    vnic_types = (VNIC_NORMAL,)

    def bind(self, request: BindRequest, segment: Segment) -> tuple[Binding | None, str]:
        return bind_to_agent(request, segment, self.agent_type, self.vnic_types,
                             lambda _conf: Binding(VIF_TYPE_BRIDGE, dict(VIF_DETAILS),
                                                   segment.id, self.name))
