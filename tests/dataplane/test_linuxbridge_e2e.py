"""End to end: a real neutrino-server on RabbitMQ, a Linux bridge agent per host
namespace, VMs plugged with neutrino-vif; ports become ACTIVE and the VMs ping
each other across VXLAN; a deleted port disappears from the other host's FDB.

The agents run in this test process (one LinuxBridgeAgent per host, its kernel
work in the host's namespace through netlink) because the broker listens on the
root namespace's loopback, which a process inside a host namespace cannot reach."""

from __future__ import annotations

import subprocess
from pathlib import Path

from oslo_config import cfg

from dataplane.topology import Topology, ping, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.contract import bus as transport
from rpc_helpers import RABBIT
from server import BIN, Api, ServerProcess

UNDERLAY = ("198.51.100.1", "198.51.100.2")


def agent_conf(host: str, local_ip: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    lb_config.register_opts(conf)
    conf(args=[])
    conf.set_override("transport_url", RABBIT)
    conf.set_override("host", host)
    conf.set_override("rpc_response_timeout", 20)
    conf.set_override("local_ip", local_ip, group="vxlan")
    conf.set_override("polling_interval", 0.2, group="AGENT")
    conf.set_override("report_interval", 2, group="AGENT")
    conf.set_override("resync_interval", 30, group="AGENT")
    return conf


def vif(*args: str) -> str:
    result = subprocess.run([str(BIN / "neutrino-vif"), *args], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ports_go_active_and_vms_ping_across_hosts(server: ServerProcess, topo: Topology,
                                                   tmp_path: Path) -> None:
    api = Api(server.url)
    host_ns = topo.hosts(*UNDERLAY)
    names = [f"{topo.prefix}compute-{i}" for i in range(2)]
    rpc = transport.get_transport(agent_conf(names[0], UNDERLAY[0]))
    agents = []
    try:
        for name, ns, ip in zip(names, host_ns, UNDERLAY, strict=True):
            agents.append(LinuxBridgeAgent(agent_conf(name, ip), transport=rpc,
                                           namespace=ns, server=server.rpc_name).start())
        assert wait_for(lambda: len([a for a in api.get("agents").json()["agents"]
                                     if a["host"] in names and a["alive"]]) == 2,
                        within=30)

        net = api.network(name="e2e")
        assert net["provider:network_type"] == "vxlan"
        api.subnet(net["id"], "203.0.113.0/24")
        ports = [api.port(net["id"]) for _ in names]
        vms = []
        for port, name, ns in zip(ports, names, host_ns, strict=True):
            vm = f"{topo.prefix}vm-{port['id'][:6]}"
            topo.namespaces.append(vm)  # cleaned up with the rest
            out = vif("plug", port["id"], "--url", server.url, "--host", name,
                      "--host-netns", ns, "--netns", vm)
            assert f"binding:host_id {name}" in out
            vms.append(vm)

        def statuses() -> list[str]:
            return [api.get(f"ports/{p['id']}").json()["port"]["status"] for p in ports]
        assert wait_for(lambda: statuses() == ["ACTIVE", "ACTIVE"], within=30), statuses()
        bound = api.get(f"ports/{ports[0]['id']}").json()["port"]
        assert bound["binding:vif_type"] == "bridge"

        ip2 = ports[1]["fixed_ips"][0]["ip_address"]
        assert ping(vms[0], ip2, within=15), "VMs on two hosts cannot ping"

        # Host a's agent reports itself with its VTEP and one device.
        agent_a = next(a for a in api.get("agents").json()["agents"]
                       if a["host"] == names[0])
        assert agent_a["configurations"]["tunneling_ip"] == UNDERLAY[0]
        assert wait_for(lambda: next(
            a for a in api.get("agents").json()["agents"]
            if a["host"] == names[0])["configurations"]["devices"] == 1, within=10)

        # VM 1 unplugged (the hypervisor's side): its tap goes, the agent reports the
        # port DOWN; plugged again, it is ACTIVE again.
        vif("unplug", ports[0]["id"], "--host-netns", host_ns[0], "--netns", vms[0])
        assert vms[0] not in privileged.namespaces()
        assert wait_for(lambda: statuses()[0] == "DOWN", within=20), statuses()
        vif("plug", ports[0]["id"], "--url", server.url, "--host", names[0],
            "--host-netns", host_ns[0], "--netns", vms[0])
        assert wait_for(lambda: statuses()[0] == "ACTIVE", within=20), statuses()
        assert ping(vms[0], ip2, within=15)

        # Port 2 deleted: host a drops its FDB entries (notification → resync).
        mac2 = ports[1]["mac_address"]
        assert api.delete(f"ports/{ports[1]['id']}").status_code == 204
        with Kernel(host_ns[0]) as kernel:
            vxlan = f"vxlan-{net['provider:segmentation_id']}"
            assert wait_for(lambda: not kernel.exists(vxlan)
                            or all(e.mac != mac2 for e in kernel.remote_fdb(vxlan)),
                            within=15)
        assert not ping(vms[0], ip2, within=2)
    finally:
        for agent in agents:
            agent.stop()
        rpc.cleanup()
