"""The Open vSwitch agent end to end on the userspace datapath: a real
neutrino-server on RabbitMQ with the openvswitch mechanism driver, a private
ovs-vswitchd (datapath netdev) running in a host namespace with its own
ovsdb-server, the agent in this test process (its OVSDB and OpenFlow sockets are
files, reachable from any namespace), VMs plugged with ``neutrino-vif --mode ovs``.

Shown: ports go ACTIVE bound as vif_type ovs; two VMs of one VXLAN-type project
network ping each other through br-int; a VM of another network with the same
subnet does not reach them (local VLAN isolation); VMs of a flat and of a VLAN
provider network reach machines on the physical network through bridge_mappings
(the VLAN translated at the patch ports); an
agent restart changes no flow (its flows found again by cookie; the OpenFlow
firewall on, its flows kept too, a ping through the restart loses nothing). With
the firewall: allowed/denied traffic and a rule removal cutting a connection; the
DHCP agent's port on br-int (interface_driver = openvswitch) serving a VM."""

from __future__ import annotations

import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dataplane.ovs_agent_host import OvsAgentHost, agent_conf, bind
from dataplane.ovs_host import OvsHost
from dataplane.test_dhcp_agent import env  # noqa: F401 - the DHCP test below uses it
from dataplane.topology import Topology, ping, wait_for
from neutrino.agent import vif as vif_mod
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.ovs.agent import OpenvswitchAgent
from neutrino.contract import bus as transport
from server import BIN, Api, ServerProcess


def vif(*args: str) -> str:
    result = subprocess.run([str(BIN / "neutrino-vif"), *args], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ovs_agent_vxlan_isolation_flat_restart(ovs_server: ServerProcess, topo: Topology,
                                                tmp_path: Path) -> None:
    # With the firewall (the default groups let the VMs of one group talk): the
    # restart below must keep its flows too, with no packet lost.
    host = OvsAgentHost(ovs_server, topo, tmp_path, "compute")
    api, host_ns, ovs, name = host.api, host.host_ns, host.ovs, host.name
    try:
        assert host.registered()
        # The operator's part: the physical interface in the physical bridge (the
        # agent makes br-physnet1). Its other end is a machine on physnet1.
        assert wait_for(lambda: "br-physnet1" in ovs.vsctl("list-br").split(), within=20)
        outside = topo.namespace("phys")
        with Kernel(host_ns) as kernel:
            kernel.add_veth("ph-" + topo.prefix[2:8], "eth0", peer_namespace=outside)
            kernel.set_link("ph-" + topo.prefix[2:8], up=True)
        ovs.vsctl("add-port", "br-physnet1", "ph-" + topo.prefix[2:8])

        # A machine on physnet1's VLAN (no 8021q here, so the bridge's access port
        # tags its frames: they leave br-physnet1 toward br-int with VLAN `vid`).
        vid = random.randint(100, 3000)
        outside_vlan = topo.namespace("physv")
        with Kernel(host_ns) as kernel:
            kernel.add_veth("pv-" + topo.prefix[2:8], "eth0", peer_namespace=outside_vlan)
            kernel.set_link("pv-" + topo.prefix[2:8], up=True)
        ovs.vsctl("add-port", "br-physnet1", "pv-" + topo.prefix[2:8], f"tag={vid}")

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
        vlan_net = api.network(name="ovs-vlan", **{
            "provider:network_type": "vlan", "provider:physical_network": "physnet1",
            "provider:segmentation_id": vid})
        vlan_cidr = f"10.{octet}.9.0/24"
        sub_v = api.subnet(vlan_net["id"], vlan_cidr)
        prefix = cidr.rsplit(".", 1)[0]
        ports = [api.port(net_a["id"], fixed_ips=[{"subnet_id": sub_a["id"],
                                                   "ip_address": f"{prefix}.10"}]),
                 api.port(net_a["id"], fixed_ips=[{"subnet_id": sub_a["id"],
                                                   "ip_address": f"{prefix}.11"}]),
                 api.port(net_b["id"], fixed_ips=[{"subnet_id": sub_b["id"],
                                                   "ip_address": f"{prefix}.12"}]),
                 api.port(flat["id"], fixed_ips=[{"subnet_id": sub_f["id"],
                                                  "ip_address": f"{flat_cidr[:-4]}10"}]),
                 api.port(vlan_net["id"], fixed_ips=[{"subnet_id": sub_v["id"],
                                                      "ip_address": f"{vlan_cidr[:-4]}10"}])]
        vms = []
        for i, port in enumerate(ports):
            vm = f"{topo.prefix}vm-{port['id'][:6]}"
            topo.namespaces.append(vm)
            if i == 0:  # the CLI once; the others the same way without a process each
                vif("plug", port["id"], "--url", ovs_server.url, "--host", name,
                    "--host-netns", host_ns, "--netns", vm, "--mode", "ovs",
                    "--ovsdb", ovs.db)
            else:
                bind(api, port, name)
                vif_mod.plug(vif_mod.Vif(
                    port_id=port["id"], mac=port["mac_address"], namespace=vm,
                    host_namespace=host_ns,
                    addresses=[port["fixed_ips"][0]["ip_address"] + "/24"],
                    ovs=vif_mod.OvsPlug(ovs.db)))
            vms.append(vm)

        def statuses() -> list[str]:
            return [api.get(f"ports/{p['id']}").json()["port"]["status"] for p in ports]
        assert wait_for(lambda: statuses() == ["ACTIVE"] * 5, within=30), statuses()
        bound = api.get(f"ports/{ports[0]['id']}").json()["port"]
        assert bound["binding:vif_type"] == "ovs"
        assert bound["binding:vif_details"] == {
            "bound_drivers": {"0": "openvswitch"}, "port_filter": True,
            "ovs_hybrid_plug": False, "datapath_type": "netdev",
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
        # The VLAN provider network: local VLAN <-> VLAN `vid` at the patch ports.
        with Kernel(outside_vlan) as kernel:
            kernel.add_address("eth0", f"{vlan_cidr[:-4]}1", 24)
            kernel.set_link("eth0", up=True)
        assert ping(vms[4], f"{vlan_cidr[:-4]}1", within=10), "VLAN network not through"
        assert any(f"dl_vlan={vid}" in f for f in ovs.flows("br-int"))

        # A restart finds its flows again by cookie: nothing changes, and a ping
        # running through it loses nothing.
        before = {b: sorted(ovs.flows(b)) for b in ("br-int", "br-tun", "br-physnet1")}
        pinger = subprocess.Popen(["ip", "netns", "exec", vms[0], "ping", "-i", "0.1",
                                   f"{prefix}.11"], stdout=subprocess.PIPE, text=True)
        try:
            agent = host.restart()
            assert wait_for(lambda: agent.devices == 5, within=20)
        finally:
            pinger.send_signal(signal.SIGINT)
            out, _ = pinger.communicate(timeout=10)
        after = {b: sorted(ovs.flows(b)) for b in ("br-int", "br-tun", "br-physnet1")}
        assert after == before
        sent, received = re.search(r"(\d+) packets transmitted, (\d+) received",
                                   out).groups()
        assert int(sent) > 0 and sent == received, out

        # Unplugged: the port goes DOWN.
        vif("unplug", ports[1]["id"], "--host-netns", host_ns, "--netns", vms[1],
            "--mode", "ovs", "--ovsdb", ovs.db)
        assert wait_for(lambda: statuses()[1] == "DOWN", within=20), statuses()
    finally:
        host.close()


def underlay_bridge(ovs: OvsHost, host_ns: str, address: str) -> None:
    """The operator's part for userspace tunnels: the underlay interface in an OVS
    bridge whose internal port carries the VTEP address. The userspace datapath
    sends VXLAN through its own routing table (learned from the kernel's routes of
    ovs-vswitchd's namespace) and ARP, both via that bridge; `ovs/route/add` makes
    the route explicit rather than relying on the cache having caught up."""
    with Kernel(host_ns) as kernel:
        kernel.delete_address("ul0", address, 24)
    ovs.vsctl("add-br", "br-ul", "--", "set", "bridge", "br-ul", "datapath_type=netdev",
              "--", "add-port", "br-ul", "ul0")
    with Kernel(host_ns) as kernel:
        assert wait_for(lambda: kernel.exists("br-ul"), within=10)
        kernel.add_address("br-ul", address, 24)
        kernel.set_link("br-ul", up=True)
    network = address.rsplit(".", 1)[0] + ".0/24"
    ovs.appctl("ovs/route/add", network, "br-ul")


def test_ovs_agents_vxlan_between_two_hosts(ovs_server: ServerProcess, topo: Topology,
                                           tmp_path: Path) -> None:
    api = Api(ovs_server.url)
    underlay = (f"198.51.{random.randint(100, 200)}.1", "")
    underlay = (underlay[0], underlay[0][:-1] + "2")
    host_ns = topo.hosts(*underlay)
    names = [f"{topo.prefix}c{i}" for i in range(2)]
    switches = [OvsHost(tmp_path / f"ovs{i}", ns).start() for i, ns in enumerate(host_ns)]
    agents: list[OpenvswitchAgent] = []
    rpc = None
    try:
        for ovs, ns, ip in zip(switches, host_ns, underlay, strict=True):
            underlay_bridge(ovs, ns, ip)
        for name, ovs, ip in zip(names, switches, underlay, strict=True):
            conf = agent_conf(name, ovs)
            conf.set_override("local_ip", ip, group="ovs")
            conf.set_override("bridge_mappings", [], group="ovs")
            rpc = rpc or transport.get_transport(conf)
            agents.append(OpenvswitchAgent(conf, transport=rpc,
                                           server=ovs_server.rpc_name).start())
        assert wait_for(lambda: len([a for a in api.get("agents").json()["agents"]
                                     if a["host"] in names and a["alive"]]) == 2,
                        within=30)
        net = api.network(name="ovs-2h")
        cidr = f"10.{random.randint(10, 250)}.9.0/24"
        api.subnet(net["id"], cidr)
        ports = [api.port(net["id"]) for _ in names]
        vms = []
        for port, name, ns, ovs in zip(ports, names, host_ns, switches, strict=True):
            vm = f"{topo.prefix}vm-{port['id'][:6]}"
            topo.namespaces.append(vm)
            vif("plug", port["id"], "--url", ovs_server.url, "--host", name,
                "--host-netns", ns, "--netns", vm, "--mode", "ovs", "--ovsdb", ovs.db)
            vms.append(vm)

        def statuses() -> list[str]:
            return [api.get(f"ports/{p['id']}").json()["port"]["status"] for p in ports]
        assert wait_for(lambda: statuses() == ["ACTIVE"] * 2, within=30), statuses()
        # Each br-tun has a VXLAN port to the other host (from the peers the server
        # sends once the other port is bound there).
        tunnel = "vxlan-" + "".join(f"{int(o):02x}" for o in underlay[1].split("."))
        assert wait_for(lambda: tunnel in switches[0].vsctl("list-ports", "br-tun"),
                        within=20)
        ip2 = ports[1]["fixed_ips"][0]["ip_address"]
        assert ping(vms[0], ip2, within=15), "VMs on two hosts cannot ping over VXLAN"
        # l2population: host a knows VM 2's MAC behind the tunnel (table 20).
        assert any(ports[1]["mac_address"] in f for f in switches[0].flows("br-tun"))
    finally:
        for agent in agents:
            agent.stop()
        if rpc is not None:
            rpc.cleanup()
        for ovs in switches:
            ovs.stop()


class _VmProcs:
    """What test_firewall's process helpers need: VM namespaces by name, and the
    processes started in them (killed at the end)."""

    def __init__(self) -> None:
        self.vms: dict[str, str] = {}
        self.servers: list[subprocess.Popen] = []

    def close(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait(5)


def test_ovs_agent_openflow_firewall(ovs_server: ServerProcess, topo: Topology,
                                     tmp_path: Path) -> None:
    """firewall_driver = openvswitch through the real agent: the agent's table 60
    and the firewall's tables meet; an allowed ping passes, a TCP port with no rule
    is refused, a removed rule cuts the connection it had allowed."""
    from dataplane.test_firewall import ECHO_CODE, Session, _start

    host = OvsAgentHost(ovs_server, topo, tmp_path, "fw", bridge_mappings=[])
    api, host_ns, ovs, name, agent = host.api, host.host_ns, host.ovs, host.name, host.agent
    procs = _VmProcs()
    try:
        group = api.create("security_group", name="ovs-fw")
        for extra in ({"protocol": "icmp"},
                      {"protocol": "tcp", "port_range_min": 2222, "port_range_max": 2222}):
            api.create("security_group_rule", security_group_id=group["id"],
                       direction="ingress", ethertype="IPv4", **extra)
        open_rule = api.create("security_group_rule", security_group_id=group["id"],
                               direction="ingress", ethertype="IPv4", protocol="tcp",
                               port_range_min=2223, port_range_max=2223)
        net = api.network(name="ovs-fw")
        cidr = f"10.{random.randint(10, 250)}.{random.randint(0, 250)}.0/24"
        sub = api.subnet(net["id"], cidr)
        prefix = cidr.rsplit(".", 1)[0]
        ports = [api.port(net["id"], security_groups=[group["id"]], fixed_ips=[
            {"subnet_id": sub["id"], "ip_address": f"{prefix}.{10 + i}"}]) for i in range(2)]
        for i, port in enumerate(ports):
            vm = f"{topo.prefix}vm-{port['id'][:6]}"
            topo.namespaces.append(vm)
            bind(api, port, name)
            vif_mod.plug(vif_mod.Vif(
                port_id=port["id"], mac=port["mac_address"], namespace=vm,
                host_namespace=host_ns, addresses=[f"{prefix}.{10 + i}/24"],
                ovs=vif_mod.OvsPlug(ovs.db)))
            procs.vms["ab"[i]] = vm
        assert wait_for(lambda: agent.devices == 2, within=30)
        bound = api.get(f"ports/{ports[0]['id']}").json()["port"]
        assert bound["binding:vif_details"]["port_filter"] is True
        # The firewall's flows are on br-int beside the agent's.
        assert wait_for(lambda: any("table=82" in f for f in ovs.flows("br-int")),
                        within=10)

        b_ip = f"{prefix}.11"
        assert ping(procs.vms["a"], b_ip, within=10), "an allowed ping is dropped"
        for port_number in (2222, 2223, 2224):
            echo = _start(procs, "b", ECHO_CODE, b_ip, str(port_number))  # type: ignore[arg-type]
            assert echo.stdout is not None and echo.stdout.readline() == "ready\n"
        kept = Session(procs, "a", b_ip, 2222)  # type: ignore[arg-type]
        cut = Session(procs, "a", b_ip, 2223)  # type: ignore[arg-type]
        assert kept.exchange() and cut.exchange()
        # No rule for 2224: the connection is never made.
        refused = subprocess.run(
            ["ip", "netns", "exec", procs.vms["a"], sys.executable, "-c",
             "import socket,sys; s=socket.socket(); s.settimeout(1.5)\n"
             "try: s.connect((sys.argv[1], 2224))\nexcept OSError: sys.exit(1)",
             b_ip], timeout=30, check=False)
        assert refused.returncode == 1, "a TCP port without a rule is reachable"

        # The rule for 2223 goes: its open connection is cut, the other lives on.
        assert api.delete(f"security-group-rules/{open_rule['id']}").status_code == 204
        assert wait_for(lambda: not cut.exchange(), within=10)
        assert kept.exchange()
    finally:
        procs.close()
        host.close()


def test_dhcp_agent_on_br_int(ovs_server: ServerProcess, tmp_path: Path,
                              request: pytest.FixtureRequest) -> None:
    """interface_driver = openvswitch: the DHCP agent's tap becomes a port of br-int
    with its iface-id, the OVS agent tags it, and a VM on OVS gets its lease
    (through the OpenFlow firewall: network:dhcp ports are accepted in 71/81)."""
    if shutil.which("dnsmasq") is None or shutil.which("dhclient") is None:
        pytest.skip("needs dnsmasq and dhclient (isc-dhcp-client)")
    from dataplane.test_dhcp_agent import agent_conf as dhcp_agent_conf
    from neutrino.agent.dhcp import config as dhcp_config
    from neutrino.agent.dhcp import reconciler as dhcp_reconciler
    from neutrino.agent.dhcp.agent import DhcpAgent
    dhcp_env = request.getfixturevalue("env")
    api = Api(ovs_server.url)
    ovs = OvsHost(tmp_path / "ovs", dhcp_env.host).start()
    name = f"{dhcp_env.topo.prefix}dh"
    conf = agent_conf(name, ovs)
    conf.set_override("firewall_driver", "openvswitch", group="securitygroup")
    conf.set_override("bridge_mappings", [], group="ovs")
    dhcp_conf = dhcp_agent_conf(dhcp_config.register_opts, name, dhcp_confs=dhcp_env.state_dir,
                                interface_driver="openvswitch",
                                **{"ovs.ovsdb_connection": ovs.db})
    rpc = transport.get_transport(conf)
    agents: list = []
    try:
        agents.append(OpenvswitchAgent(conf, transport=rpc,
                                       server=ovs_server.rpc_name).start())
        agents.append(DhcpAgent(dhcp_conf, transport=rpc, host_namespace=dhcp_env.host,
                                server=ovs_server.rpc_name).start())
        net = api.network(name="ovs-dhcp")
        dhcp_env.networks.add(net["id"])
        cidr = f"10.{random.randint(10, 250)}.{random.randint(0, 250)}.0/24"
        api.subnet(net["id"], cidr)
        port = api.port(net["id"])

        def dhcp_ports() -> list[dict]:
            return api.get("ports", params={"network_id": net["id"],
                                            "device_owner": "network:dhcp"}
                           ).json()["ports"]
        assert wait_for(lambda: [p["status"] for p in dhcp_ports()] == ["ACTIVE"], 30), \
            dhcp_ports()
        dhcp_port = dhcp_ports()[0]
        assert dhcp_port["binding:vif_type"] == "ovs"
        assert dhcp_port["id"] in ovs.vsctl("--columns=external_ids", "list", "Interface",
                                            "tap" + dhcp_port["id"][:11])

        vm = f"{dhcp_env.topo.prefix}vm-{port['id'][:6]}"
        dhcp_env.topo.namespaces.append(vm)
        bind(api, port, name)
        vif_mod.plug(vif_mod.Vif(port_id=port["id"], mac=port["mac_address"],
                                 namespace=vm, host_namespace=dhcp_env.host,
                                 ovs=vif_mod.OvsPlug(ovs.db)))
        lease = dhcp_env.dhclient(vm, timeout=20)
        assert lease is not None, "the VM got no lease"
        assert lease["fixed-address"] == port["fixed_ips"][0]["ip_address"]
    finally:
        for agent in reversed(agents):
            agent.stop()
        rpc.cleanup()
        ovs.stop()
        # The agent served every network of the module's server, not only this
        # test's: remove each namespace it made (marked with its host), with the
        # dnsmasq inside.
        mine = dhcp_reconciler.OWNER_ALIAS.format(name)
        for namespace in privileged.namespaces():
            if namespace.startswith("qdhcp-") and \
                    privileged.namespace_alias(namespace) == mine:
                privileged.delete_namespace(namespace)
