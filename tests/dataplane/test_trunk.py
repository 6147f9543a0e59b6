"""Trunks on this kernel, which has no 802.1Q sub-interfaces (8021q):

* the agent's VLAN probe answers as the kernel does and leaves nothing behind;
* end to end with a real Linux bridge agent in a host namespace: the agent reports
  ``trunk_supported: false`` with its reason, the parent port goes ACTIVE, the
  sub-port's binding fails and the trunk is ERROR.

(The sub-interfaces themselves are checked as the exact ``ip`` commands in
tests/unit/agent/test_trunk_plan.py.)"""

from __future__ import annotations

import os
import subprocess

from dataplane.test_linuxbridge_e2e import agent_conf, vif
from dataplane.topology import Topology, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.contract import bus as transport
from server import Api, ServerProcess

UNDERLAY = "198.51.100.11"


def kernel_makes_vlans(topo: Topology) -> bool:
    """Asked independently of the probe: a VLAN link on a veth in a namespace of
    the test's own."""
    ns = topo.namespace("vlancheck")
    privileged.execute(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
                       ns)
    result = subprocess.run(["ip", "-n", ns, "link", "add", "link", "v0", "name", "v0.3",
                             "type", "vlan", "id", "3"], capture_output=True, check=False)
    return result.returncode == 0


def test_vlan_probe_agrees_with_the_kernel(topo: Topology) -> None:
    supported, why = privileged.vlan_support()
    # its scratch namespace (named after this process) is gone
    assert not [n for n in privileged.namespaces()
                if n.startswith(f"vlanprobe-{os.getpid()}-")]
    assert supported == kernel_makes_vlans(topo)
    assert (why == "") == supported
    if not supported:
        assert "cannot create a VLAN sub-interface" in why


def test_sub_port_binding_fails_on_a_host_without_vlans(server: ServerProcess,
                                                         topo: Topology) -> None:
    if kernel_makes_vlans(topo):
        # Then the agent reports trunk support and this is not the case under test.
        return
    api = Api(server.url)
    (host_ns,) = topo.hosts(UNDERLAY)
    host = f"{topo.prefix}compute"
    rpc = transport.get_transport(agent_conf(host, UNDERLAY))
    agent = LinuxBridgeAgent(agent_conf(host, UNDERLAY), transport=rpc, namespace=host_ns,
                             server=server.rpc_name)
    try:
        agent.start()

        def reported() -> dict | None:
            agents = api.get(f"agents?host={host}").json()["agents"]
            return agents[0]["configurations"] if agents and agents[0]["alive"] else None
        assert wait_for(lambda: reported() is not None, within=30)
        configurations = reported()
        assert configurations is not None
        assert configurations["trunk_supported"] is False
        assert "cannot create a VLAN sub-interface" in \
            configurations["trunk_unsupported_reason"]

        nets = [api.network(name=f"trunk-e2e-{i}") for i in range(2)]
        for i, net in enumerate(nets):
            api.subnet(net["id"], f"203.0.{120 + i}.0/24")
        parent, sub = api.port(nets[0]["id"]), api.port(nets[1]["id"])
        response = api.post("trunks", {"trunk": {"port_id": parent["id"], "sub_ports": [
            {"port_id": sub["id"], "segmentation_type": "vlan", "segmentation_id": 42}]}})
        assert response.status_code == 201, response.text
        trunk = response.json()["trunk"]
        vm = f"{topo.prefix}vm"
        topo.namespaces.append(vm)
        vif("plug", parent["id"], "--url", server.url, "--host", host,
            "--host-netns", host_ns, "--netns", vm)

        def status(path: str, key: str) -> str:
            return str(api.get(path).json()[key]["status"])
        assert wait_for(lambda: status(f"ports/{parent['id']}", "port") == "ACTIVE",
                        within=30)
        port = api.get(f"ports/{sub['id']}").json()["port"]
        assert (port["binding:host_id"], port["binding:vif_type"]) == (host,
                                                                       "binding_failed")
        assert status(f"trunks/{trunk['id']}", "trunk") == "ERROR"
        # nothing was made for the sub-port on the host
        with privileged.Kernel(host_ns) as kernel:
            assert not kernel.exists("tap" + sub["id"][:11])
    finally:
        agent.stop()
        rpc.cleanup()
