"""The Open vSwitch agent end to end on the userspace datapath: a real
neutrino-server on RabbitMQ with the openvswitch mechanism driver, a private
ovs-vswitchd (datapath netdev) running in a host namespace with its own
ovsdb-server, the agent in this test process (its OVSDB and OpenFlow sockets are
files, reachable from any namespace), VMs plugged with ``neutrino-vif --mode ovs``.

Shown: ports go ACTIVE bound as vif_type ovs; two VMs of one VXLAN-type project
network ping each other through br-int; a VM of another network with the same
subnet does not reach them (local VLAN isolation); a VM of a flat provider
network reaches a machine on the physical network through bridge_mappings; an
agent restart changes no flow (its flows found again by cookie)."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from oslo_config import cfg

from backends import unavailable
from dataplane.ovs_host import OvsHost, available
from dataplane.topology import Topology, ping, wait_for
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.ovs import config as ovs_config
from neutrino.agent.ovs.agent import OpenvswitchAgent
from neutrino.contract import bus as transport
from rpc_helpers import RABBIT, server_on_rabbit, unique
from server import BIN, Api, ServerProcess

SECTIONS = "\n[ml2]\nmechanism_drivers = openvswitch\n"


@pytest.fixture(scope="module")
def ovs_server(root: None, rabbit: str, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[ServerProcess]:
    why = available()
    if why:
        unavailable(why)
    state = tmp_path_factory.mktemp("ovs-e2e")
    with server_on_rabbit(rabbit, "sqlite", state, unique("ovs-e2e"),
                          sections=SECTIONS) as proc:
        yield proc


def agent_conf(host: str, ovs: OvsHost) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    ovs_config.register_opts(conf)
    conf(args=[])
    conf.set_override("transport_url", RABBIT)
    conf.set_override("host", host)
    conf.set_override("state_path", str(ovs.rundir))
    conf.set_override("rpc_response_timeout", 20)
    conf.set_override("ovsdb_connection", ovs.db, group="ovs")
    conf.set_override("ovs_rundir", str(ovs.rundir), group="ovs")
    conf.set_override("datapath_type", "netdev", group="ovs")
    conf.set_override("local_ip", "192.0.2.10", group="ovs")
    conf.set_override("bridge_mappings", ["physnet1:br-physnet1"], group="ovs")
    conf.set_override("tunnel_types", ["vxlan"], group="AGENT")
    conf.set_override("polling_interval", 0.2, group="AGENT")
    conf.set_override("report_interval", 2, group="AGENT")
    conf.set_override("resync_interval", 30, group="AGENT")
    return conf


def vif(*args: str) -> str:
    result = subprocess.run([str(BIN / "neutrino-vif"), *args], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ovs_agent_vxlan_isolation_flat_restart(ovs_server: ServerProcess, topo: Topology,
                                                tmp_path: Path) -> None:
    api = Api(ovs_server.url)
    host_ns = topo.namespace("h0")
    ovs = OvsHost(tmp_path / "ovs", host_ns).start()
    name = f"{topo.prefix}compute"
    conf = agent_conf(name, ovs)
    rpc = transport.get_transport(conf)
    agent = None
    try:
        agent = OpenvswitchAgent(conf, transport=rpc, server=ovs_server.rpc_name).start()
        assert wait_for(lambda: any(a["host"] == name and a["alive"]
                                    for a in api.get("agents").json()["agents"]),
                        within=30)
        # The operator's part: the physical interface in the physical bridge (the
        # agent makes br-physnet1). Its other end is a machine on physnet1.
        assert wait_for(lambda: "br-physnet1" in ovs.vsctl("list-br").split(), within=20)
        outside = topo.namespace("phys")
        with Kernel(host_ns) as kernel:
            kernel.add_veth("ph-" + topo.prefix[2:8], "eth0", peer_namespace=outside)
            kernel.set_link("ph-" + topo.prefix[2:8], up=True)
        ovs.vsctl("add-port", "br-physnet1", "ph-" + topo.prefix[2:8])

        octet = random.randint(10, 250)
        cidr = f"10.{octet}.7.0/24"
        net_a = api.network(name="ovs-a")
        assert net_a["provider:network_type"] == "vxlan"
        net_b = api.network(name="ovs-b")
        sub_a = api.subnet(net_a["id"], cidr)
        sub_b = api.subnet(net_b["id"], cidr)  # same addresses: only L2 separates
        flat = api.network(name="ovs-flat", **{"provider:network_type": "flat",
                                               "provider:physical_network": "physnet1"})
        flat_cidr = f"10.{octet}.8.0/24"
        sub_f = api.subnet(flat["id"], flat_cidr)
        prefix = cidr.rsplit(".", 1)[0]
        ports = [api.port(net_a["id"], fixed_ips=[{"subnet_id": sub_a["id"],
                                                   "ip_address": f"{prefix}.10"}]),
                 api.port(net_a["id"], fixed_ips=[{"subnet_id": sub_a["id"],
                                                   "ip_address": f"{prefix}.11"}]),
                 api.port(net_b["id"], fixed_ips=[{"subnet_id": sub_b["id"],
                                                   "ip_address": f"{prefix}.12"}]),
                 api.port(flat["id"], fixed_ips=[{"subnet_id": sub_f["id"],
                                                  "ip_address": f"{flat_cidr[:-4]}10"}])]
        vms = []
        for port in ports:
            vm = f"{topo.prefix}vm-{port['id'][:6]}"
            topo.namespaces.append(vm)
            vif("plug", port["id"], "--url", ovs_server.url, "--host", name,
                "--host-netns", host_ns, "--netns", vm, "--mode", "ovs",
                "--ovsdb", ovs.db)
            vms.append(vm)

        def statuses() -> list[str]:
            return [api.get(f"ports/{p['id']}").json()["port"]["status"] for p in ports]
        assert wait_for(lambda: statuses() == ["ACTIVE"] * 4, within=30), statuses()
        bound = api.get(f"ports/{ports[0]['id']}").json()["port"]
        assert bound["binding:vif_type"] == "ovs"
        assert bound["binding:vif_details"] == {
            "bound_drivers": {"0": "openvswitch"}, "port_filter": False, "ovs_hybrid_plug": False, "datapath_type": "netdev",
            "bridge_name": "br-int", "connectivity": "l2"}
        iface = ovs.vsctl("--columns=external_ids", "list", "Interface",
                          "tap" + ports[0]["id"][:11])
        assert f'iface-id="{ports[0]["id"]}"' in iface or f"iface-id={ports[0]['id']}" in iface

        assert ping(vms[0], f"{prefix}.11", within=10), "VMs of one network cannot ping"
        assert not ping(vms[0], f"{prefix}.12", within=2), "another network is reached"
        assert not ping(vms[2], f"{prefix}.10", within=1)

        with Kernel(outside) as kernel:
            kernel.add_address("eth0", f"{flat_cidr[:-4]}1", 24)
            kernel.set_link("eth0", up=True)
        assert ping(vms[3], f"{flat_cidr[:-4]}1", within=10), "flat network not through"
        assert not ping(vms[0], f"{flat_cidr[:-4]}1", within=1)

        # A restart finds its flows again by cookie: nothing changes.
        before = {b: sorted(ovs.flows(b)) for b in ("br-int", "br-tun", "br-physnet1")}
        agent.stop()
        agent = OpenvswitchAgent(conf, transport=rpc, server=ovs_server.rpc_name).start()
        assert wait_for(lambda: agent.loop.metrics is not None and agent.devices == 4,
                        within=20)
        after = {b: sorted(ovs.flows(b)) for b in ("br-int", "br-tun", "br-physnet1")}
        assert after == before
        assert ping(vms[0], f"{prefix}.11", within=5)

        # Unplugged: the port goes DOWN.
        vif("unplug", ports[1]["id"], "--host-netns", host_ns, "--netns", vms[1],
            "--mode", "ovs", "--ovsdb", ovs.db)
        assert wait_for(lambda: statuses()[1] == "DOWN", within=20), statuses()
    finally:
        if agent is not None:
            agent.stop()
        rpc.cleanup()
        ovs.stop()
