"""A trunk on the Open vSwitch agent (userspace datapath), end to end: a real
neutrino-server on RabbitMQ, a private ovs-vswitchd in a host namespace, the agent
in this process with the OpenFlow firewall on (agent/ovs/trunk.py).

The hypervisor's part is done here as Nova/os-vif does it: the trunk bridge
``tbr-<trunk>`` made and the VM's tap plugged into it. The VM's namespace has no
8021q either, so the guest's VLAN handling is a tiny VM-side OVS bridge of the
same switch (``vb-``): its uplink is the VM's tap's veth peer, and the VM
namespace has a veth per network on it: eth0 on the bridge's VLAN 0 (untagged:
the parent's network) and eth1 an access port of the sub-port's segmentation id
(its frames leave on the tap tagged, as a guest's ``eth0.<vid>`` would send them).

Shown: the parent, the sub-port and the trunk go ACTIVE; the VM pings a peer on the
parent's network untagged and one on the sub-port's network through the VLAN; a
VM on a third network reaches neither; a restart changes no flow; removing the
sub-port removes exactly its patch pair (the parent still works), deleting the
trunk (refused while its parent is bound, as upstream's OVS trunk driver: the
VM's port unbound first) its parent's pair."""

from __future__ import annotations

import random
from pathlib import Path

from dataplane.ovs_agent_host import OvsAgentHost, bind
from dataplane.ovs_host import OvsHost
from dataplane.topology import Topology, ping, wait_for
from neutrino.agent import vif as vif_mod
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.ovs import trunk as ovs_trunk
from server import Api, ServerProcess


def ovs_ports(ovs: OvsHost, bridge: str) -> set[str]:
    return set(ovs.vsctl("list-ports", bridge).split())


def plug_peer(api: Api, ovs: OvsHost, topo: Topology, host_ns: str, host: str,
              port: dict, *extra: str) -> str:
    bind(api, port, host)
    vm = f"{topo.prefix}vm-{port['id'][:6]}"
    topo.namespaces.append(vm)
    addresses = [port["fixed_ips"][0]["ip_address"] + "/24", *extra]
    vif_mod.plug(vif_mod.Vif(port_id=port["id"], mac=port["mac_address"], namespace=vm,
                             host_namespace=host_ns, addresses=addresses,
                             ovs=vif_mod.OvsPlug(ovs.db)))
    return vm


def plug_trunk_vm(ovs: OvsHost, topo: Topology, host_ns: str, tbr: str, parent: dict,
                  sub: dict, vid: int) -> str:
    """The VM of the trunk: see the module's doc for the VM-side bridge."""
    sfx = topo.prefix[2:8]
    vm = topo.namespace("tvm")
    tap, uplink = vif_mod.tap_name(parent["id"]), f"vu-{sfx}"
    vmbr = f"vb-{sfx}"
    with Kernel(host_ns) as kernel:
        kernel.add_veth(tap, uplink)
        kernel.add_veth(f"va-{sfx}", "eth0", peer_namespace=vm)
        kernel.add_veth(f"vs-{sfx}", "eth1", peer_namespace=vm)
        for link in (tap, uplink, f"va-{sfx}", f"vs-{sfx}"):
            kernel.set_link(link, up=True)
    with Kernel(vm) as kernel:
        for ifname, port in (("eth0", parent), ("eth1", sub)):
            kernel.set_link(ifname, mac=port["mac_address"], mtu=1400)
            kernel.add_address(ifname, port["fixed_ips"][0]["ip_address"], 24)
            kernel.set_link(ifname, up=True)
        kernel.set_link("lo", up=True)
    for ifname in ("eth0", "eth1"):
        vif_mod.checksum_in_software(vm, ifname)
    # os-vif's part: the trunk bridge and the VM's tap in it.
    ovs.vsctl("--may-exist", "add-br", tbr, "--", "set", "bridge", tbr,
              "datapath_type=netdev")
    ovs.vsctl("add-port", tbr, tap, "--", "set", "Interface", tap,
              f"external_ids:iface-id={parent['id']}",
              f"external_ids:attached-mac={parent['mac_address']}",
              "external_ids:iface-status=active")
    # The guest's VLAN handling.
    ovs.vsctl("add-br", vmbr, "--", "set", "bridge", vmbr, "datapath_type=netdev",
              "--", "add-port", vmbr, uplink,
              "--", "add-port", vmbr, f"va-{sfx}", "trunks=0",
              "--", "add-port", vmbr, f"vs-{sfx}", f"tag={vid}")
    return vm


def test_ovs_trunk_parent_and_sub_port(ovs_server: ServerProcess,
                                       topo: Topology, tmp_path: Path) -> None:
    host = OvsAgentHost(ovs_server, topo, tmp_path, "compute")
    api, host_ns, ovs, name = host.api, host.host_ns, host.ovs, host.name
    try:
        assert host.registered(trunk_supported=True)
        octet = random.randint(10, 250)
        cidr_p, cidr_s = f"10.{octet}.1", f"10.{octet}.2"
        net_p, net_s, net_x = (api.network(name=f"trunk-{n}") for n in "psx")
        sub_p = api.subnet(net_p["id"], f"{cidr_p}.0/24")
        sub_s = api.subnet(net_s["id"], f"{cidr_s}.0/24")
        sub_x = api.subnet(net_x["id"], f"{cidr_s}.0/24")  # the sub-port's addresses

        def port(net: dict, subnet: dict, prefix: str, host: int, **attrs: object) -> dict:
            return api.port(net["id"], fixed_ips=[{"subnet_id": subnet["id"],
                                                   "ip_address": f"{prefix}.{host}"}],
                            **attrs)
        parent, sub = port(net_p, sub_p, cidr_p, 10), port(net_s, sub_s, cidr_s, 10)
        peer_p, peer_s = port(net_p, sub_p, cidr_p, 11), port(net_s, sub_s, cidr_s, 11)
        # No port security: the outsider may try the parent's addresses too.
        other = port(net_x, sub_x, cidr_s, 12, port_security_enabled=False,
                     security_groups=[])
        vid = random.randint(100, 4000)
        response = api.post("trunks", {"trunk": {"port_id": parent["id"], "sub_ports": [
            {"port_id": sub["id"], "segmentation_type": "vlan", "segmentation_id": vid}]}})
        assert response.status_code == 201, response.text
        trunk = response.json()["trunk"]
        tbr = ovs_trunk.trunk_bridge(trunk["id"])

        vm_p = plug_peer(api, ovs, topo, host_ns, name, peer_p)
        vm_s = plug_peer(api, ovs, topo, host_ns, name, peer_s)
        vm_x = plug_peer(api, ovs, topo, host_ns, name, other, f"{cidr_p}.12/24")
        bind(api, parent, name)  # the sub-port follows the parent's host
        # Where Nova/os-vif plug the VM: the trunk bridge, as the binding says.
        bound = api.get(f"ports/{parent['id']}").json()["port"]
        assert bound["binding:vif_details"]["bridge_name"] == tbr
        vm = plug_trunk_vm(ovs, topo, host_ns, tbr, parent, sub, vid)

        ports = [parent, sub, peer_p, peer_s, other]

        def statuses() -> list[str]:
            return [api.get(f"ports/{p['id']}").json()["port"]["status"] for p in ports]
        assert wait_for(lambda: statuses() == ["ACTIVE"] * 5, within=30), statuses()
        assert wait_for(lambda: api.get(f"trunks/{trunk['id']}").json()["trunk"]["status"]
                        == "ACTIVE", within=10)
        sub_pair = {ovs_trunk.int_port("sp", sub["id"]), ovs_trunk.trunk_port("sp", sub["id"])}
        parent_pair = {ovs_trunk.int_port("tp", trunk["id"]),
                       ovs_trunk.trunk_port("tp", trunk["id"])}
        assert ovs_ports(ovs, tbr) >= {vif_mod.tap_name(parent["id"])} | {
            n for n in sub_pair | parent_pair if n[2] == "t"}

        assert ping(vm, f"{cidr_p}.11", within=10), "parent's network (untagged)"
        assert ping(vm, f"{cidr_s}.11", within=10), "sub-port's network (VLAN)"
        assert ping(vm_s, f"{cidr_s}.10", within=5)
        assert ping(vm_p, f"{cidr_p}.10", within=5)
        assert not ping(vm_x, f"{cidr_s}.10", within=2), "third network reaches sub-port"
        assert not ping(vm_x, f"{cidr_p}.10", within=1), "third network reaches parent"

        # A restart finds the patch pairs and flows again: nothing changes.
        before = {b: sorted(ovs.flows(b)) for b in ("br-int", tbr)}
        agent = host.restart()
        assert wait_for(lambda: agent.devices == 5, within=20)
        assert {b: sorted(ovs.flows(b)) for b in ("br-int", tbr)} == before

        # The sub-port removed: exactly its pair goes; the parent still works.
        int_before = ovs_ports(ovs, "br-int")
        spi = ovs_trunk.int_port("sp", sub["id"])
        ofport = ovs.vsctl("get", "Interface", spi, "ofport").strip()
        assert any(f"in_port={ofport} " in f or f"in_port={ofport}," in f
                   for f in ovs.flows("br-int"))
        response = api.put(f"trunks/{trunk['id']}/remove_subports",
                           {"sub_ports": [{"port_id": sub["id"]}]})
        assert response.status_code == 200, response.text
        assert wait_for(lambda: not (sub_pair & (ovs_ports(ovs, tbr)
                                                 | ovs_ports(ovs, "br-int"))), within=15)
        assert ovs_ports(ovs, "br-int") == int_before - sub_pair
        # Its flows (the agent's and the firewall's) go at the end of that sync.
        assert wait_for(lambda: not any(f"in_port={ofport} " in f or f"in_port={ofport},"
                                        in f for f in ovs.flows("br-int")), within=10), \
            "the sub-port's flows stay"
        assert not ping(vm, f"{cidr_s}.11", within=2)
        assert ping(vm, f"{cidr_p}.11", within=5)

        # Not while the parent is bound (upstream's OVS trunk driver cannot untrunk
        # a bound port); the VM deleted (Nova unbinds the parent), it can go, and
        # the parent's pair with it.
        response = api.delete(f"trunks/{trunk['id']}")
        assert response.status_code == 409, response.text
        bind(api, parent, "")
        response = api.delete(f"trunks/{trunk['id']}")
        assert response.status_code == 204, response.text
        assert wait_for(lambda: not (parent_pair & (ovs_ports(ovs, tbr)
                                                    | ovs_ports(ovs, "br-int"))), within=15)
        assert ovs_ports(ovs, "br-int") == int_before - sub_pair - parent_pair
    finally:
        host.close()
