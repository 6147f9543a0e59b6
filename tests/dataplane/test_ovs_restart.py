"""The Open vSwitch agent restarted after changes made while it was down (issue 19):
a real neutrino-server on RabbitMQ, a private ovs-vswitchd (datapath netdev) in a
host namespace, the agent in this process with the OpenFlow firewall on.

VMs A and B ping each other every 50 ms while the agent is stopped; while it is
down a VM C is plugged (its port made and bound here), VM D is unplugged and its
port deleted, and VM E's security group gets the ICMP rule it lacked. Once the
agent is started again: A->B lost no echo over the whole window (A's and B's
local VLAN kept, neither the agent's flows of their ports nor the OpenFlow
firewall's even rewritten), C is reachable, D's
flows are gone, E answers pings. No DHCP agent here: addresses are static, as in
the other OVS tests."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from dataplane.ovs_agent_host import OvsAgentHost, bind
from dataplane.ovs_host import OvsHost
from dataplane.topology import Topology, ping, wait_for
from neutrino.agent import vif as vif_mod
from neutrino.agent.ovs.firewall import flows as fw_flows
from server import ServerProcess


class Pinger:
    """``ping -i 0.05`` from a namespace, its replies' sequence numbers collected as
    they come (a thread reads its line-buffered output)."""

    def __init__(self, namespace: str, address: str) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, "stdbuf", "-oL", "ping", "-n", "-i",
             "0.05", address], stdout=subprocess.PIPE, text=True)
        self.replies: set[int] = set()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            found = re.search(r"icmp_seq=(\d+)", line)
            if found:
                with self.lock:
                    self.replies.add(int(found.group(1)))

    def highest(self) -> int:
        with self.lock:
            return max(self.replies, default=0)

    def missing(self, upto: int) -> list[int]:
        """The echoes 1..`upto` that got no reply."""
        with self.lock:
            return sorted(set(range(1, upto + 1)) - self.replies)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)
        self.reader.join(10)


def port_flows(ovs: OvsHost, cookie: int, ofport: str) -> list[str]:
    """A port's flows of br-int, with their age: the agent's (its `cookie`,
    matching on the port's `ofport`) and the OpenFlow firewall's (the port's own
    cookie)."""
    out = ovs.ofctl("dump-flows", ovs.mgmt("br-int"))
    return [line.strip() for line in out.splitlines()
            if (f"cookie={cookie:#x}," in line and re.search(rf"in_port={ofport}\b", line))
            or f"cookie={fw_flows.port_cookie(int(ofport)):#x}," in line]


def without_stats(flow: str) -> str:
    return re.sub(r"(duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*, ?", "", flow)


def age(flow: str) -> float:
    found = re.search(r"duration=([\d.]+)s", flow)
    assert found, flow
    return float(found.group(1))


def test_restart_with_changes_meanwhile(ovs_server: ServerProcess, topo: Topology,
                                        tmp_path: Path) -> None:
    host = OvsAgentHost(ovs_server, topo, tmp_path, "rs", bridge_mappings=[])
    api, host_ns, ovs, name = host.api, host.host_ns, host.ovs, host.name
    pinger: Pinger | None = None
    try:
        assert host.registered()
        open_group = api.create("security_group", name="rs-open")
        api.create("security_group_rule", security_group_id=open_group["id"],
                   direction="ingress", ethertype="IPv4", protocol="icmp")
        closed_group = api.create("security_group", name="rs-closed")  # egress only
        net = api.network(name="ovs-restart")
        cidr = f"10.{random.randint(10, 250)}.{random.randint(0, 250)}.0/24"
        sub = api.subnet(net["id"], cidr)
        prefix = cidr.rsplit(".", 1)[0]
        ips = {vm: f"{prefix}.{10 + i}" for i, vm in enumerate("abcde")}

        def make_port(vm: str) -> dict:
            group = closed_group if vm == "e" else open_group
            return api.port(net["id"], security_groups=[group["id"]], fixed_ips=[
                {"subnet_id": sub["id"], "ip_address": ips[vm]}])

        vms: dict[str, str] = {}

        def plug(vm: str, port: dict) -> None:
            vms[vm] = f"{topo.prefix}vm-{port['id'][:6]}"
            topo.namespaces.append(vms[vm])
            bind(api, port, name)
            vif_mod.plug(vif_mod.Vif(
                port_id=port["id"], mac=port["mac_address"], namespace=vms[vm],
                host_namespace=host_ns, addresses=[ips[vm] + "/24"],
                ovs=vif_mod.OvsPlug(ovs.db)))

        ports = {vm: make_port(vm) for vm in "abde"}
        for vm, port in ports.items():
            plug(vm, port)

        def status(vm: str) -> str:
            return api.get(f"ports/{ports[vm]['id']}").json()["port"]["status"]
        assert wait_for(lambda: all(status(vm) == "ACTIVE" for vm in "abde"), within=30)
        assert ping(vms["a"], ips["b"], within=10), "A cannot ping B"
        assert ping(vms["a"], ips["d"], within=5), "A cannot ping D"
        assert not ping(vms["a"], ips["e"], within=1), "E answers without a rule"

        def tap(vm: str) -> str:
            return vif_mod.tap_name(ports[vm]["id"])

        def ofport(vm: str) -> str:
            return ovs.vsctl("get", "Interface", tap(vm), "ofport").strip()

        def tags() -> dict[str, str]:
            return {vm: ovs.vsctl("get", "Port", tap(vm), "tag").strip() for vm in "ab"}

        d_mac = ports["d"]["mac_address"].lower()
        assert any(d_mac in f for f in ovs.flows("br-int")), "D has no flows to lose"
        tags_before = tags()
        cookie = host.agent.settings.cookie
        ab_flows = {vm: port_flows(ovs, cookie, ofport(vm)) for vm in "ab"}
        assert all(len(f) > 5 for f in ab_flows.values()), ab_flows

        pinger = Pinger(vms["a"], ips["b"])
        assert wait_for(lambda: pinger.highest() >= 5, within=10), "the ping is not through"
        stopped = time.monotonic()
        agent, host.agent = host.agent, None
        agent.stop()

        # While the agent is down: C plugged, D unplugged and deleted (what Nova does
        # when VMs are made and deleted), E's group opened to ICMP.
        ports["c"] = make_port("c")
        plug("c", ports["c"])
        vif_mod.unplug(ports["d"]["id"], vms["d"], host_ns, vif_mod.OvsPlug(ovs.db))
        assert api.delete(f"ports/{ports['d']['id']}").status_code == 204
        api.create("security_group_rule", security_group_id=closed_group["id"],
                   direction="ingress", ethertype="IPv4", protocol="icmp")
        assert not ping(vms["a"], ips["e"], within=1), "E's rule in effect with no agent"

        agent = host.start_agent()
        assert wait_for(lambda: status("c") == "ACTIVE", within=30), status("c")
        assert wait_for(lambda: agent.devices == 4, within=20), agent.devices
        assert ping(vms["a"], ips["c"], within=10), "C is not reachable"
        assert ping(vms["c"], ips["b"], within=5), "C cannot reach B"
        assert ping(vms["a"], ips["e"], within=5), "E's new rule is not in effect"
        assert not any(d_mac in f for f in ovs.flows("br-int")), "D's flows stay"
        assert tap("d") not in ovs.vsctl("list-ports", "br-int").split()

        # The whole window (before the stop to after convergence) counted: every
        # echo up to the last one answered by now got its reply. The ones after it
        # may still be in flight when the ping is stopped.
        upto = pinger.highest()
        assert wait_for(lambda: pinger.highest() >= upto + 5, within=10)
        pinger.stop()
        assert upto > 20, upto
        assert pinger.missing(upto) == [], f"A->B lost {pinger.missing(upto)} of {upto}"
        # A and B untouched: the same local VLAN, and neither the agent's flows of
        # their ports nor the firewall's rewritten (older than the stop: no flush,
        # no delete and re-add).
        assert tags() == tags_before
        down_for = time.monotonic() - stopped
        for vm in "ab":
            now = port_flows(ovs, cookie, ofport(vm))
            assert sorted(map(without_stats, now)) == sorted(map(without_stats,
                                                                  ab_flows[vm]))
            assert all(age(f) >= down_for for f in now), (vm, down_for, now)
    finally:
        if pinger is not None:
            pinger.stop()
        host.close()
