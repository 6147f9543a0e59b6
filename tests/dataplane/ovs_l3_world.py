"""The L3 world (l3_world.py) on an Open vSwitch host: the same network node, outside
and VMs, but its L2 agent is the Open vSwitch agent with a private ovs-vswitchd
(ovs_host.py, datapath netdev) in the host namespace, the L3 agent plugs with
``interface_driver = openvswitch`` and VMs with ``neutrino-vif --mode ovs``.

Upstream's layout: router interfaces ``qr-`` and the gateway ``qg-`` are ports of
br-int (their taps, with iface-id, tagged by the OVS agent); the external network
``public`` (flat) reaches ``br-ex`` through the OVS agent's ``bridge_mappings =
public:br-ex`` (patch ports, the local VLAN popped), and ``ext0`` (toward the
outside namespace) is the operator's port in br-ex.

Needs a server with the openvswitch mechanism driver (dataplane/conftest.py: ovs_server).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dataplane.l3_world import EXT_IFACE, PHYSNET, UNDERLAY, L3World
from dataplane.ovs_agent_host import agent_conf as ovs_agent_conf
from dataplane.ovs_host import OvsHost
from dataplane.topology import Topology, wait_for
from neutrino.agent import vif
from neutrino.agent.ovs.agent import OpenvswitchAgent
from neutrino.contract import bus as transport
from server import ServerProcess

EXTERNAL_BRIDGE = "br-ex"


class OvsSide:
    """The world's L2 side: starts the switch and the agent in `start`."""

    def __init__(self, rundir: Path, firewall: str = "openvswitch") -> None:
        self.rundir = rundir
        self.firewall = firewall
        self.ovs: OvsHost | None = None

    def start(self, world: L3World) -> OpenvswitchAgent:
        self.ovs = OvsHost(self.rundir, world.host)
        world.on_close.append(self.ovs.stop)  # first: whatever fails below
        self.ovs.start()
        conf = ovs_agent_conf(world.name, self.ovs)
        conf.set_override("transport_url", world.bus_url)
        conf.set_override("local_ip", UNDERLAY, group="ovs")
        conf.set_override("bridge_mappings", [f"{PHYSNET}:{EXTERNAL_BRIDGE}"], group="ovs")
        conf.set_override("firewall_driver", self.firewall, group="securitygroup")
        agent = OpenvswitchAgent(conf, transport=transport.get_transport(conf),
                                 server=world.server.rpc_name).start()
        # The operator's part: the uplink in the external bridge the agent made.
        assert wait_for(lambda: EXTERNAL_BRIDGE in self.ovs.vsctl("list-br").split(),  # type: ignore[union-attr]
                        within=20)
        self.ovs.vsctl("--may-exist", "add-port", EXTERNAL_BRIDGE, EXT_IFACE)
        # The outside's end computes its checksums, as a real uplink's NIC would:
        # the userspace datapath reads ext0 through AF_PACKET and hands a packet
        # with a checksum left to offload to the router unfinished (the kernel
        # there drops such TCP; ICMP, always summed in software, would pass).
        vif.checksum_in_software(world.outside, "eth0")
        return agent


@contextmanager
def ovs_l3_world(server: ServerProcess, rundir: Path, firewall: str = "openvswitch",
                 **l3_options: object) -> Iterator[tuple[L3World, OvsHost]]:
    side = OvsSide(rundir, firewall)
    topo = Topology()
    db = OvsHost(rundir, "").db  # the switch's database socket (started in start)
    world = L3World(server, topo, make_l2=side.start, l2_type="Open vSwitch agent",
                    l3_options={"interface_driver": "openvswitch",
                                "ovs.ovsdb_connection": db, **l3_options},
                    vif_args=("--mode", "ovs", "--ovsdb", db))
    try:
        world.start()
        assert side.ovs is not None
        yield world, side.ovs
    finally:
        try:
            world.close()
        finally:
            topo.cleanup()


def iface_ids(ovs: OvsHost) -> dict[str, dict[str, Any]]:
    """interface name -> external_ids of every interface of the switch (one read:
    rows going meanwhile do not matter)."""
    raw = ovs.vsctl("--format=json", "--columns=name,external_ids", "list", "Interface")
    # Each row: [name, ["map", [[key, value], ...]]].
    return {name: dict(ids[1]) for name, ids in json.loads(raw)["data"]}
