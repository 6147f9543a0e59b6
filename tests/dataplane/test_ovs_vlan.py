"""VLAN project networks on the Open vSwitch agent, between two hosts (issue 19).

A real neutrino-server on RabbitMQ with ``tenant_network_types = vlan`` and
``network_vlan_ranges = physnet1:<lo>:<hi>``: a project network (no provider
attributes) gets a VLAN of the range. Two "hosts" (namespaces), each with its own
ovsdb-server and ovs-vswitchd (datapath netdev) and an Open vSwitch agent with
``bridge_mappings = physnet1:br-physnet1``; the two br-physnet1 are joined by a veth
(the physical network's wire; the operator's part). On each host the agent
translates its local VLAN to the segmentation id at br-physnet1's patch port and
back at br-int's, as upstream does.

Shown: two VMs of one VLAN project network on different hosts ping; a VM of a
second VLAN network (the same addresses) is not reached and sees none of their
frames, while its own network crosses the wire too; the wire carries the
segmentation ids (the other host's br-physnet1 learned each VM's MAC on its
network's segmentation id: ``ovs-appctl fdb/show``). And DHCP across the hosts: a
VM on host B gets its lease from the DHCP agent on host A (``interface_driver =
openvswitch``, its tap on host A's br-int) over the VLAN network.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dataplane.ovs_agent_host import agent_conf, bind, ovs_server_on_rabbit
from dataplane.ovs_host import OvsHost
from dataplane.test_dhcp_agent import Env, env  # noqa: F401 - the DHCP test uses it
from dataplane.topology import Topology, ping, wait_for
from neutrino.agent import vif as vif_mod
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.ovs.agent import OpenvswitchAgent
from neutrino.contract import bus as transport
from server import Api, ServerProcess

VLAN_LO, VLAN_HI = 1000, 1009
SECTIONS = ("\n[ml2]\nmechanism_drivers = openvswitch\ntenant_network_types = vlan\n"
            f"[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:{VLAN_LO}:{VLAN_HI}\n")


@pytest.fixture(scope="module")
def vlan_server(root: None, rabbit: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[ServerProcess]:
    with ovs_server_on_rabbit(rabbit, tmp_path_factory, "ovs-vlan", SECTIONS) as proc:
        yield proc


@dataclass
class Hosts:
    api: Api
    namespaces: list[str]
    names: list[str]
    switches: list[OvsHost]
    rpc: object
    agents: list = field(default_factory=list)

    def vm(self, topo: Topology, host: int, port: dict, address: bool = True) -> str:
        """A VM of `port` plugged into host `host`'s br-int as os-vif would."""
        vm = f"{topo.prefix}vm-{port['id'][:6]}"
        topo.namespaces.append(vm)
        bind(self.api, port, self.names[host])
        addresses = [port["fixed_ips"][0]["ip_address"] + "/24"] if address else []
        vif_mod.plug(vif_mod.Vif(
            port_id=port["id"], mac=port["mac_address"], namespace=vm,
            host_namespace=self.namespaces[host], addresses=addresses,
            ovs=vif_mod.OvsPlug(self.switches[host].db)))
        return vm

    def active(self, ports: list[dict], within: float = 30) -> bool:
        def statuses() -> list[str]:
            return [self.api.get(f"ports/{p['id']}").json()["port"]["status"]
                    for p in ports]
        return wait_for(lambda: statuses() == ["ACTIVE"] * len(ports), within=within)


@contextmanager
def two_hosts(server: ServerProcess, topo: Topology, tmp_path: Path,
              namespaces: list[str]) -> Iterator[Hosts]:
    """An OVS and an Open vSwitch agent (VLAN only: no tunnels) in each of the two
    host namespaces, their br-physnet1 joined by a veth."""
    api = Api(server.url)
    names = [f"{topo.prefix}v{i}" for i in range(2)]
    switches: list[OvsHost] = []
    rpc = None
    hosts = None
    try:
        for i, ns in enumerate(namespaces):
            switches.append(OvsHost(tmp_path / f"ovs{i}", ns).start())
        for name, ovs in zip(names, switches, strict=True):
            conf = agent_conf(name, ovs)
            conf.set_override("tunnel_types", [], group="AGENT")
            conf.set_override("local_ip", None, group="ovs")
            rpc = rpc or transport.get_transport(conf)
            if hosts is None:
                hosts = Hosts(api, namespaces, names, switches, rpc)
            hosts.agents.append(OpenvswitchAgent(conf, transport=rpc,
                                                 server=server.rpc_name).start())
        assert hosts is not None
        # The wire of physnet1 between the hosts: the operator puts it in the
        # bridges the agents make.
        wire = [f"pw{i}-{topo.prefix[2:8]}" for i in range(2)]
        with Kernel(namespaces[0]) as kernel:
            kernel.add_veth(wire[0], wire[1], peer_namespace=namespaces[1])
            kernel.set_link(wire[0], up=True)
        with Kernel(namespaces[1]) as kernel:
            kernel.set_link(wire[1], up=True)
        for ovs, end in zip(switches, wire, strict=True):
            assert wait_for(lambda o=ovs: "br-physnet1" in o.vsctl("list-br").split(),
                            within=20)
            ovs.vsctl("add-port", "br-physnet1", end)
        assert wait_for(lambda: len([a for a in api.get("agents").json()["agents"]
                                     if a["host"] in names and a["alive"]]) == 2,
                        within=30)
        yield hosts
    finally:
        if hosts is not None:
            for agent in hosts.agents:
                agent.stop()
        if rpc is not None:
            rpc.cleanup()  # type: ignore[attr-defined]
        for ovs in switches:
            ovs.stop()


def rx_packets(namespace: str) -> int:
    """Frames the VM's eth0 received."""
    out = subprocess.run(["ip", "netns", "exec", namespace, "cat",
                          "/sys/class/net/eth0/statistics/rx_packets"],
                         capture_output=True, text=True, timeout=10, check=True)
    return int(out.stdout.strip())


def learned(ovs: OvsHost, bridge: str) -> set[tuple[int, str]]:
    """(VLAN, MAC) pairs the bridge's NORMAL action learned."""
    out = set()
    for line in ovs.appctl("fdb/show", bridge).splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[1].isdigit():
            out.add((int(fields[1]), fields[2].lower()))
    return out


def test_vlan_project_networks_between_two_ovs_hosts(vlan_server: ServerProcess,
                                                     topo: Topology, tmp_path: Path
                                                     ) -> None:
    namespaces = [topo.namespace("ha"), topo.namespace("hb")]
    with two_hosts(vlan_server, topo, tmp_path, namespaces) as hosts:
        api = hosts.api
        net1 = api.network(name="vlan-1")
        net2 = api.network(name="vlan-2")
        segs = [net["provider:segmentation_id"] for net in (net1, net2)]
        for net in (net1, net2):  # project networks: a VLAN of the range
            assert net["provider:network_type"] == "vlan"
            assert net["provider:physical_network"] == "physnet1"
            assert VLAN_LO <= net["provider:segmentation_id"] <= VLAN_HI
        assert segs[0] != segs[1]
        cidr = f"10.{random.randint(10, 250)}.{random.randint(0, 250)}.0/24"
        prefix = cidr.rsplit(".", 1)[0]
        subs = [api.subnet(net["id"], cidr) for net in (net1, net2)]  # same addresses

        def port(net: dict, sub: dict, last: int) -> dict:
            return api.port(net["id"], fixed_ips=[{"subnet_id": sub["id"],
                                                   "ip_address": f"{prefix}.{last}"}])
        a1, b1 = port(net1, subs[0], 10), port(net1, subs[0], 11)
        a2, b2 = port(net2, subs[1], 13), port(net2, subs[1], 12)
        vm_a1, vm_a2 = hosts.vm(topo, 0, a1), hosts.vm(topo, 0, a2)
        vm_b1, vm_b2 = hosts.vm(topo, 1, b1), hosts.vm(topo, 1, b2)
        assert hosts.active([a1, b1, a2, b2])

        before = rx_packets(vm_b2)
        assert ping(vm_a1, f"{prefix}.11", within=15), "one VLAN network across hosts"
        assert rx_packets(vm_b2) == before, "a VM of another network saw the traffic"
        assert not ping(vm_a1, f"{prefix}.12", within=2), "another network is reached"
        assert ping(vm_a2, f"{prefix}.12", within=15), "the second network across hosts"
        assert not ping(vm_b1, f"{prefix}.13", within=1)

        # The wire carries the segmentation ids: host B's br-physnet1 learned host
        # A's VMs on their networks' VLANs (and host A's, host B's).
        seen_b = learned(hosts.switches[1], "br-physnet1")
        assert (segs[0], a1["mac_address"].lower()) in seen_b, seen_b
        assert (segs[1], a2["mac_address"].lower()) in seen_b, seen_b
        seen_a = learned(hosts.switches[0], "br-physnet1")
        assert (segs[0], b1["mac_address"].lower()) in seen_a, seen_a
        # The translation flows: local VLAN -> segmentation id at br-physnet1's
        # patch, segmentation id -> local VLAN at br-int's.
        flows = hosts.switches[0].flows("br-physnet1")
        assert any(f"set_field:{segs[0] | 0x1000}->vlan_vid" in f for f in flows), flows
        assert any(f"dl_vlan={segs[0]}" in f for f in hosts.switches[0].flows("br-int"))


def test_dhcp_across_two_ovs_hosts(vlan_server: ServerProcess, tmp_path: Path,
                                   request: pytest.FixtureRequest) -> None:
    """The DHCP agent on host A (its tap on host A's br-int), a VM on host B: the
    lease crosses br-int -> br-physnet1 -> the wire (VLAN) -> host B."""
    if shutil.which("dnsmasq") is None or shutil.which("dhclient") is None:
        pytest.skip("needs dnsmasq and dhclient (isc-dhcp-client)")
    from dataplane.test_dhcp_agent import agent_conf as dhcp_agent_conf
    from neutrino.agent.dhcp import config as dhcp_config
    from neutrino.agent.dhcp import reconciler as dhcp_reconciler
    from neutrino.agent.dhcp.agent import DhcpAgent
    dhcp_env: Env = request.getfixturevalue("env")
    topo = dhcp_env.topo
    namespaces = [dhcp_env.host, topo.namespace("hb")]
    dhcp_agent = None
    with two_hosts(vlan_server, topo, tmp_path, namespaces) as hosts:
        try:
            dhcp_conf = dhcp_agent_conf(
                dhcp_config.register_opts, hosts.names[0], dhcp_confs=dhcp_env.state_dir,
                interface_driver="openvswitch",
                **{"ovs.ovsdb_connection": hosts.switches[0].db})
            dhcp_agent = DhcpAgent(dhcp_conf, transport=hosts.rpc,
                                   host_namespace=dhcp_env.host,
                                   server=vlan_server.rpc_name).start()
            api = hosts.api
            net = api.network(name="vlan-dhcp")
            assert net["provider:network_type"] == "vlan"
            dhcp_env.networks.add(net["id"])
            api.subnet(net["id"], f"10.{random.randint(10, 250)}.{random.randint(0, 250)}"
                                  ".0/24")
            port = api.port(net["id"])

            def dhcp_ports() -> list[dict]:
                return api.get("ports", params={"network_id": net["id"],
                                                "device_owner": "network:dhcp"}
                               ).json()["ports"]
            assert wait_for(lambda: [p["status"] for p in dhcp_ports()] == ["ACTIVE"],
                            30), dhcp_ports()
            assert dhcp_ports()[0]["binding:host_id"] == hosts.names[0]
            vm = hosts.vm(topo, 1, port, address=False)
            assert hosts.active([port])
            lease = dhcp_env.dhclient(vm, timeout=20)
            assert lease is not None, "the VM on host B got no lease from host A"
            assert lease["fixed-address"] == port["fixed_ips"][0]["ip_address"]
        finally:
            if dhcp_agent is not None:
                dhcp_agent.stop()
            # The agent served every network of the module's server: remove each
            # namespace it made (marked with its host), with the dnsmasq inside.
            mine = dhcp_reconciler.OWNER_ALIAS.format(hosts.names[0])
            for namespace in privileged.namespaces():
                if namespace.startswith("qdhcp-") and \
                        privileged.namespace_alias(namespace) == mine:
                    privileged.delete_namespace(namespace)

