"""neutrino-linuxbridge-agent killed with SIGKILL, the world changed while it is
down, the agent started again: the host ends exactly as desired, with no duplicate
or stale device, bridge member, FDB entry or firewall chain.

The agent runs as a real process inside a host namespace (``ip netns exec``). It
reaches RabbitMQ, which listens on the root namespace's loopback only, through a
forwarder listening on 127.0.0.1:5672 inside the host namespace (forwarder.py). The
server and the agent use a RabbitMQ vhost of their own (vhost.py), so no other
server on the shared broker answers this agent. A second host ("far") has no
agent process: its state reports are sent by the test, so ports bound there are
this host's VXLAN peers.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from oslo_config import cfg

from backends import database, unavailable
from dataplane import vhost
from dataplane.forwarder import Forwarder
from dataplane.test_linuxbridge_agent import wait_for
from dataplane.topology import Topology, ping
from neutrino.agent import vif as vif_mod
from neutrino.agent.common.privileged import ZERO_MAC, Kernel
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.agent import agent_state
from neutrino.contract import bus as transport
from neutrino.contract.bus import StateReporter
from rpc_helpers import rabbit_answers
from server import BIN, Api, ServerProcess

AGENT = str(BIN / "neutrino-linuxbridge-agent")
LOCAL_IP, FAR_IP = "198.51.100.1", "198.51.100.2"


@pytest.fixture(scope="module")
def bus_url(root: None) -> Iterator[str]:
    if not rabbit_answers():
        unavailable("RabbitMQ not reachable at 127.0.0.1:5672; start it (make services)")
    if vhost.available() is not None:
        unavailable(vhost.available())
    with vhost.private_vhost("crash") as url:
        yield url


@pytest.fixture(scope="module")
def server(bus_url: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("crash")
    extra = f"transport_url = {bus_url}\n"
    with database("sqlite", state) as url, ServerProcess(state, url, extra_conf=extra) as proc:
        yield proc


class AgentProcess:
    def __init__(self, host_ns: str, name: str, bus_url: str, work: Path) -> None:
        self.host_ns = host_ns
        self.config = work / "linuxbridge_agent.ini"
        self.config.write_text(
            f"[DEFAULT]\nhost = {name}\ntransport_url = {bus_url}\n"
            "rpc_response_timeout = 20\n"
            f"[vxlan]\nlocal_ip = {LOCAL_IP}\n"
            "[AGENT]\npolling_interval = 0.2\nreport_interval = 1\n"
            "resync_interval = 600\n")
        self.log = work / "agent.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> AgentProcess:
        with open(self.log, "ab") as out:
            # `ip netns exec` execs the agent: the pid is the agent's own.
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.host_ns, AGENT, "--config-file",
                 str(self.config)], stdout=out, stderr=subprocess.STDOUT)
        return self

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bus(url: str) -> object:
    conf = cfg.ConfigOpts()
    lb_config.register_opts(conf)
    conf(args=[])
    conf.set_override("transport_url", url)
    return transport.get_transport(conf)


def report_far_host(reporter: StateReporter, name: str) -> None:
    """The far host's Linux bridge agent, as far as the server can tell."""
    settings = lb_config.Settings(local_ip=FAR_IP, enable_vxlan=True, l2_population=True,
                                  interface_mappings={}, vxlan_port=4789)
    assert reporter.report(agent_state(name, settings, 0, start_flag=False)) in (
        "new", "alive", "revived")


def fdb_lines(host_ns: str, device: str) -> list[str]:
    """Permanent entries with a destination, as `bridge fdb` lists them (a
    duplicate would show twice)."""
    out = subprocess.run(["ip", "netns", "exec", host_ns, "bridge", "fdb", "show",
                          "dev", device], capture_output=True, text=True,
                         check=True).stdout
    return sorted(" ".join(line.split()[:3]) for line in out.splitlines()
                  if " dst " in line)


def our_chains(host_ns: str) -> set[str]:
    out = subprocess.run(["ip", "netns", "exec", host_ns, "iptables-save", "-t",
                          "filter"], capture_output=True, text=True, check=True).stdout
    return {line[1:].split()[0] for line in out.splitlines()
            if line.startswith(":neutrino-")}


def port_chains(port_id: str) -> set[str]:
    return {f"neutrino-{kind}{port_id[:10]}" for kind in "ios"}


def test_killed_agent_restarts_into_exactly_the_desired_state(
        server: ServerProcess, bus_url: str, topo: Topology, tmp_path: Path) -> None:
    api = Api(server.url)
    (host_ns,) = topo.hosts(LOCAL_IP)
    name = f"{topo.prefix}near"
    far = f"{topo.prefix}far"
    forwarder = Forwarder(host_ns, 5672).start()
    agent = AgentProcess(host_ns, name, bus_url, tmp_path)
    rpc = bus(bus_url)
    reporter = StateReporter(rpc, far, timeout=20)
    kernel = Kernel(host_ns)

    def vm(port: dict) -> str:
        namespace = f"{topo.prefix}vm-{port['id'][:6]}"
        address = port["fixed_ips"][0]["ip_address"] + "/24"
        # The VM as neutrino-vif plugs it (tap in the host namespace, port's MAC).
        topo.namespaces.append(namespace)
        vif_mod.plug(vif_mod.Vif(port_id=port["id"], mac=port["mac_address"],
                                 namespace=namespace, host_namespace=host_ns,
                                 addresses=[address], mtu=1450))
        return namespace

    def bind(port: dict, host: str) -> dict:
        response = api.put(f"ports/{port['id']}",
                           {"port": {"binding:host_id": host,
                                     "device_owner": "compute:nova"}})
        assert response.status_code == 200, response.text
        return response.json()["port"]

    def status(port: dict) -> str:
        return api.get(f"ports/{port['id']}").json()["port"]["status"]

    try:
        agent.start()
        assert wait_for(lambda: any(a["host"] == name and a["alive"] for a in
                                    api.get("agents").json()["agents"]), within=60), \
            agent.log.read_text()[-3000:]
        report_far_host(reporter, far)

        net1 = api.network(name="crash-1")
        net2 = api.network(name="crash-2")
        api.subnet(net1["id"], "10.61.0.0/24")
        api.subnet(net2["id"], "10.62.0.0/24")
        p1, p2 = (bind(api.port(net1["id"]), name) for _ in range(2))
        p3 = bind(api.port(net2["id"]), name)
        q1 = bind(api.port(net1["id"]), far)
        vms = {p["id"]: vm(p) for p in (p1, p2, p3)}
        assert wait_for(lambda: [status(p) for p in (p1, p2, p3)] == ["ACTIVE"] * 3,
                        within=30), agent.log.read_text()[-3000:]
        assert ping(vms[p1["id"]], p2["fixed_ips"][0]["ip_address"], within=15)
        vx1 = f"vxlan-{net1['provider:segmentation_id']}"
        vx2 = f"vxlan-{net2['provider:segmentation_id']}"
        br1, br2 = "brq" + net1["id"][:11], "brq" + net2["id"][:11]
        assert wait_for(lambda: fdb_lines(host_ns, vx1) == sorted(
            [f"{ZERO_MAC} dst {FAR_IP}", f"{q1['mac_address']} dst {FAR_IP}"]),
            within=15), \
            fdb_lines(host_ns, vx1)
        assert wait_for(lambda: all(port_chains(p["id"]) <= our_chains(host_ns)
                                    for p in (p1, p2, p3)), within=15)

        # Crash. Then, while nobody watches this host: a port deleted (its VM still
        # plugged: the hypervisor has not cleaned up yet), the only port of net2 and
        # net2 itself deleted, the far port replaced by another, a new port bound
        # here and its VM plugged.
        agent.kill9()
        assert api.delete(f"ports/{p2['id']}").status_code == 204
        assert api.delete(f"ports/{p3['id']}").status_code == 204
        assert api.delete(f"networks/{net2['id']}").status_code == 204
        assert api.delete(f"ports/{q1['id']}").status_code == 204
        report_far_host(reporter, far)
        q2 = bind(api.port(net1["id"]), far)
        p4 = bind(api.port(net1["id"]), name)
        vms[p4["id"]] = vm(p4)
        # Nothing changed on the host meanwhile: nobody to change it.
        assert kernel.exists(br2) and kernel.exists(vx2)

        agent.start()
        assert wait_for(lambda: status(p4) == "ACTIVE", within=30), \
            agent.log.read_text()[-3000:]

        def settled() -> bool:
            links = kernel.links()
            return (not kernel.exists(br2) and not kernel.exists(vx2)
                    and links[f"tap{p2['id'][:11]}"].master is None
                    and our_chains(host_ns) >= port_chains(p4["id"])
                    and not our_chains(host_ns) & port_chains(p2["id"]))
        assert wait_for(settled, within=30), agent.log.read_text()[-3000:]

        links = kernel.links()
        bridges = sorted(n for n, link in links.items() if link.kind == "bridge")
        assert bridges == [br1]
        assert sorted(n for n, link in links.items() if link.kind == "vxlan") == [vx1]
        assert sorted(n for n, link in links.items() if link.master == br1) == sorted(
            [vx1, f"tap{p1['id'][:11]}", f"tap{p4['id'][:11]}"])
        assert fdb_lines(host_ns, vx1) == sorted(
            [f"{ZERO_MAC} dst {FAR_IP}", f"{q2['mac_address']} dst {FAR_IP}"])
        chains = our_chains(host_ns)
        for gone in (p2, p3):
            assert not chains & port_chains(gone["id"]), chains
        assert port_chains(p1["id"]) | port_chains(p4["id"]) <= chains
        assert [status(p) for p in (p1, p4)] == ["ACTIVE", "ACTIVE"]
        assert ping(vms[p1["id"]], p4["fixed_ips"][0]["ip_address"], within=15)
        assert len([a for a in api.get("agents").json()["agents"]
                    if a["host"] == name]) == 1
    finally:
        agent.stop()
        forwarder.stop()
        kernel.close()
        rpc.cleanup()
