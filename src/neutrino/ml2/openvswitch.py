"""The `openvswitch` mechanism driver: ports plugged into an Open vSwitch bridge
(br-int) by the Open vSwitch agent of their host.

It binds a port of vnic_type ``normal`` when the host has an "Open vSwitch agent"
that is alive, administratively up and can carry the segment, judged from its
reported ``configurations`` exactly as the linuxbridge driver judges (tunnel_types,
bridge_mappings, unsupported_network_types; ml2/linuxbridge.py). The binding is
vif_type ``ovs`` with upstream's vif_details: ``port_filter`` (the agent's OpenFlow
firewall is on), ``ovs_hybrid_plug`` false (no Linux bridge between VM and br-int:
the firewall is in OpenFlow), ``datapath_type`` and ``bridge_name`` as the agent
reports them (Nova/os-vif plug the VM's port there), ``connectivity`` l2. A trunk's
parent gets its trunk's bridge ``tbr-<trunk id>`` as ``bridge_name`` instead, as
upstream's OVS trunk driver gives it: os-vif makes that bridge and plugs the VM
there, and the agent wires it to br-int (agent/ovs/trunk.py).
"""

from __future__ import annotations

from neutrino.contract.topics import AGENT_TYPE_OVS
from neutrino.contract.trunk import trunk_bridge
from neutrino.ml2.linuxbridge import bind_to_agent
from neutrino.ml2.mechanism import Binding, BindRequest, Segment
from neutrino.resources.port_binding import VIF_TYPE_OVS, VNIC_NORMAL


def vif_details(configurations: dict, trunk_id: str | None = None) -> dict:
    """Upstream's vif_details for a port bound to an agent with `configurations`
    (the parent of trunk `trunk_id`: plugged into the trunk's bridge)."""
    details = {
        "port_filter": configurations.get("firewall_driver") == "openvswitch",
        "ovs_hybrid_plug": False,
        "datapath_type": configurations.get("datapath_type") or "system",
        "bridge_name": configurations.get("integration_bridge") or "br-int",
        "connectivity": "l2",
    }
    if trunk_id:
        details["bridge_name"] = trunk_bridge(trunk_id)
    return details


class OpenvswitchMechanismDriver:
    name = "openvswitch"
    agent_type = AGENT_TYPE_OVS
    vnic_types = (VNIC_NORMAL,)

    def bind(self, request: BindRequest, segment: Segment) -> tuple[Binding | None, str]:
        return bind_to_agent(request, segment, self.agent_type, self.vnic_types,
                             lambda conf: Binding(VIF_TYPE_OVS,
                                                  vif_details(conf, request.trunk_id),
                                                  segment.id, self.name))
