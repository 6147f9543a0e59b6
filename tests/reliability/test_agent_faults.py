"""Agents under faults: the broker restarting while they run, and kill -9 of the
agents in the middle of changes. Real agent processes (Linux bridge and DHCP) in a
host namespace, a real server, RabbitMQ on a vhost of the test's own
(agent_world.py).

Afterwards the host must be exactly what the server says: every port bound here
and plugged ACTIVE in its bridge with its firewall chains, nothing of a deleted port
or network left (bridge member, chains, namespace, dnsmasq, files), each served
network's dnsmasq hosts file equal to its ports, one dnsmasq per network and one
process per agent. The agents' periodic resync is set far beyond the test, so what
converges does so because the agents noticed, not because time passed.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from agent_world import (
    LOCAL_IP,
    RECONNECT,
    AgentProcess,
    agent_configs,
    bridge_members,
    bridges,
    desired_entries,
    dnsmasqs,
    hosts_entries,
    our_chains,
    plug_vm,
    port_chains,
    state_dir,
    vm_namespace,
)
from faults_fixtures import TcpProxy, kill9, log_lines, wait_for

from backends import database, unavailable
from dataplane import vhost
from dataplane.forwarder import Forwarder
from dataplane.topology import Topology
from neutrino.agent.common import privileged
from neutrino.agent.common.rpc import NotificationListener
from neutrino.agent.dhcp.reconciler import OWNER_ALIAS
from neutrino.contract import topics
from rpc_helpers import new_transport, rabbit_answers
from server import Api, ServerProcess

CONVERGE = 60  # seconds at most (a few on a loaded 2-core machine)
BROKER = ("127.0.0.1", 5672)


@dataclass
class World:
    server: ServerProcess
    api: Api
    bus_url: str                 # straight to the broker (the test's own clients)
    server_proxy: TcpProxy       # between the server and the broker
    agents_proxy: TcpProxy       # between the agents and the broker
    host: str                    # the agents' [DEFAULT] host
    host_ns: str
    prefix: str
    dhcp_dir: str
    agents: dict[str, AgentProcess]
    namespaces: list[str] = field(default_factory=list)  # VMs

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{agent.tail()}" for name, agent in self.agents.items())

    def alive(self) -> dict[str, str]:
        """agent type → heartbeat_timestamp of this host's alive agents."""
        return {a["agent_type"]: a["heartbeat_timestamp"]
                for a in self.api.get("agents").json()["agents"]
                if a["host"] == self.host and a["alive"]}

    def network(self, name: str, cidr: str) -> str:
        """A network with a subnet (DHCP on): its id."""
        network_id = self.api.network(name=name)["id"]
        self.api.subnet(network_id, cidr)
        return network_id

    def remove(self, network_id: str) -> None:
        """A test's network and its ports deleted, for the next test's host."""
        for port in self.api.get("ports", params={"network_id": network_id}
                                 ).json()["ports"]:
            if not port["device_owner"].startswith("network:"):
                self.api.delete(f"ports/{port['id']}")
        self.api.delete(f"networks/{network_id}")

    def bind(self, network_id: str, plug: bool = True) -> dict:
        """A VM's port bound to this host, and its VM plugged."""
        port = self.api.port(network_id, **{"binding:host_id": self.host,
                                            "device_owner": "compute:nova"})
        if plug:
            self.plug(port)
        return port

    def plug(self, port: dict) -> None:
        plug_vm(self.host_ns, self.prefix, port, self.namespaces)

    def unplug(self, port: dict) -> None:
        """The VM gone: its namespace deleted, its tap with it."""
        namespace = vm_namespace(self.prefix, port)
        privileged.delete_namespace(namespace)
        self.namespaces.remove(namespace)

    def status(self, port: dict) -> str:
        return self.api.get(f"ports/{port['id']}").json()["port"]["status"]

    def dhcp_ports(self, network_id: str) -> list[dict]:
        return self.api.get("ports", params={"network_id": network_id,
                                             "device_owner": "network:dhcp"}).json()["ports"]


class Witness:
    """A listener of the test's own on agents' fanout topics (as an agent listens,
    host "witness"), straight to the broker: which notification methods went out."""

    def __init__(self, url: str, topic_names: list[str]) -> None:
        self.transport = new_transport(url)
        self.reasons: list[str] = []
        self.listener = NotificationListener(self.transport, "witness",
                                             self._heard, topic_names)

    def _heard(self, reason: str, urgent: bool = False) -> None:
        if reason.startswith("notification "):
            self.reasons.append(reason)

    def methods(self) -> set[str]:
        return {reason.split(" ", 1)[1] for reason in self.reasons}

    def __enter__(self) -> Witness:
        self.listener.start()  # its queues are declared when start() returns
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.listener.stop()
        self.transport.cleanup()


def require_services() -> None:
    if os.geteuid() != 0:
        unavailable("agent fault tests need root (network namespaces, agents)")
    if not rabbit_answers():
        unavailable("RabbitMQ not reachable at 127.0.0.1:5672; start it (make services)")
    if vhost.available() is not None:
        unavailable(vhost.available())
    if shutil.which("dnsmasq") is None:
        unavailable("agent fault tests need dnsmasq")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require_services()
    work = tmp_path_factory.mktemp("agent-faults")
    agent_state = state_dir()
    topo = Topology()
    host = f"{topo.prefix}h"
    agents: dict[str, AgentProcess] = {}
    # One proxy for the server, one for the agents: the test cuts and restores
    # them in the order it needs.
    server_proxy, agents_proxy = TcpProxy(BROKER), TcpProxy(BROKER)
    forwarder: Forwarder | None = None
    try:
        with vhost.private_vhost("faults") as direct_url:
            def via(proxy: TcpProxy) -> str:
                return direct_url.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
            with database("sqlite", work) as db, ServerProcess(
                    work, db, extra_conf=f"transport_url = {via(server_proxy)}\n"
                    + RECONNECT) as server:
                (host_ns,) = topo.hosts(LOCAL_IP)
                forwarder = Forwarder(host_ns, agents_proxy.port).start()
                for binary, config in agent_configs(host, via(agents_proxy),
                                                    agent_state).items():
                    agents[binary] = AgentProcess(binary, host_ns, config, work).start()
                world = World(server, Api(server.url), direct_url, server_proxy,
                              agents_proxy, host, host_ns, topo.prefix,
                              os.path.join(agent_state, "dhcp"), agents, topo.namespaces)
                wait_for(lambda: set(world.alive()) == {"Linux bridge agent",
                                                        "DHCP agent"},
                         60, "both agents alive")
                try:
                    yield world
                finally:
                    # Before the server and the vhost go: nothing left to retry.
                    for agent in agents.values():
                        agent.terminate()
                    for agent in agents.values():
                        agent.stop()
                    # Its state goes with it: no clean stop needed (saves 10 s).
                    kill9(server)
    finally:
        for agent in agents.values():
            agent.stop()
        # dnsmasq outlives its agent by design (a restarted agent adopts it).
        for pids in dnsmasqs(os.path.join(agent_state, "dhcp")).values():
            privileged.stop_processes(pids)
        ours = OWNER_ALIAS.format(host)
        for namespace in privileged.namespaces():
            if namespace.startswith("qdhcp-") and privileged.namespace_alias(namespace) == ours:
                privileged.delete_namespace(namespace)
        if forwarder is not None:
            forwarder.stop()
        server_proxy.stop()
        agents_proxy.stop()
        topo.cleanup()
        shutil.rmtree(agent_state, ignore_errors=True)


def brq(network_id: str) -> str:
    return "brq" + network_id[:11]


def tap(port: dict) -> str:
    return "tap" + port["id"][:11]


def converged(world: World, networks: dict[str, list[dict]],
              unplugged: tuple[dict, ...] = ()) -> list[str]:
    """What differs between the host and `networks` (served network → its VM ports
    bound here and plugged) and the `unplugged` ports bound here (filtered already,
    nothing else); empty when the host is exactly that."""
    api, problems = world.api, []
    wanted_bridges = {brq(n) for n in networks}
    if bridges(world.host_ns) != wanted_bridges:
        problems.append(f"bridges {sorted(bridges(world.host_ns))}")
    running = dnsmasqs(world.dhcp_dir)
    if {n: len(p) for n, p in running.items()} != dict.fromkeys(networks, 1):
        problems.append(f"dnsmasq processes {running}")
    served = {d for d in os.listdir(world.dhcp_dir) if len(d) == 36} \
        if os.path.isdir(world.dhcp_dir) else set()
    if served != set(networks):
        problems.append(f"state directories {sorted(served)}")
    chains = {c for port in unplugged for c in port_chains(port["id"])}
    for network_id, ports in networks.items():
        dhcp = world.dhcp_ports(network_id)
        if [(p["status"], p["binding:host_id"]) for p in dhcp] != [("ACTIVE", world.host)]:
            problems.append(f"DHCP ports of {network_id}: {dhcp}")
            continue
        vni = api.get(f"networks/{network_id}").json()["network"][
            "provider:segmentation_id"]
        members = {f"vxlan-{vni}", tap(dhcp[0])} | {tap(p) for p in ports}
        if bridge_members(world.host_ns, brq(network_id)) != members:
            problems.append(f"members of {brq(network_id)}: "
                            f"{bridge_members(world.host_ns, brq(network_id))}")
        have, want = hosts_entries(world.dhcp_dir, network_id), desired_entries(api, network_id)
        if have != want:
            problems.append(f"hosts file of {network_id}: {sorted(have ^ want)} differ")
        statuses = {p["id"]: world.status(p) for p in ports}
        if set(statuses.values()) - {"ACTIVE"}:
            problems.append(f"port statuses {statuses}")
        for port in ports:
            chains |= port_chains(port["id"])
    if not chains <= our_chains(world.host_ns):
        problems.append(f"chains missing: {sorted(chains - our_chains(world.host_ns))}")
    # Chains of ports that are not ours to filter any more (DHCP ports have none).
    stale = {c for c in our_chains(world.host_ns) if len(c) == 20
             and c[:10] in ("neutrino-i", "neutrino-o", "neutrino-s")} - chains
    if stale:
        problems.append(f"stale chains {sorted(stale)}")
    return problems


def wait_converged(world: World, networks: dict[str, list[dict]], what: str,
                   unplugged: tuple[dict, ...] = ()) -> float:
    started = time.monotonic()
    last: list[str] = []

    def check() -> bool:
        nonlocal last
        last = converged(world, networks, unplugged)
        return not last
    try:
        wait_for(check, CONVERGE, what, interval=0.2)
    except AssertionError as error:
        raise AssertionError(f"{error}: {last}\n{world.logs()}") from None
    return time.monotonic() - started


def test_broker_restart_with_agents_running(world: World) -> None:
    api = world.api
    net = world.network("restart", "10.201.0.0/24")
    p1, p2 = world.bind(net), world.bind(net)
    wait_converged(world, {net: [p1, p2]}, "the network served before the restart")

    # The broker restarts: every connection reset, new ones refused. Meanwhile a
    # port deleted (its VM still plugged: the hypervisor has not cleaned up yet),
    # one bound here (its VM not plugged yet) and one not bound. Nothing happens on
    # the host that would wake the agents: only the lost notifications said it.
    # The API answers as usual.
    world.server_proxy.refuse()
    world.agents_proxy.refuse()
    try:
        assert api.delete(f"ports/{p1['id']}").status_code == 204
        p3 = world.bind(net, plug=False)
        api.port(net, name="not bound")
        frozen = world.alive()
        # It comes back without queues or exchanges (none is durable), and the
        # server reconnects first: it sends what it could not while the agents'
        # queues are not there yet. A witness of the test's own, on the same fanout
        # topics, shows it went out; the agents never see it.
        vhost.emptied(world.bus_url)
        with Witness(world.bus_url, [topics.DHCP_AGENT, topics.PORT_DELETE]) as witness:
            world.server_proxy.forward()
            # (Or given up on: lost all the same.)
            wait_for(lambda: {"port_create_end", "port_delete"} <= witness.methods()
                     or log_lines(world.server, "not sent"),
                     CONVERGE, "the server's notifications of the outage's changes")
    finally:
        world.server_proxy.forward()
        world.agents_proxy.forward()
    restored = time.monotonic()

    # Heartbeats resume: each agent reports again after the broker is back.
    wait_for(lambda: len(world.alive()) == 2 and all(
        beat > frozen[kind] for kind, beat in world.alive().items()),
        CONVERGE, "heartbeats after the restart")
    # The DHCP hosts file (part of convergence) has the two new ports and not p1.
    took = wait_converged(world, {net: [p2]}, "convergence after the restart",
                          unplugged=(p3,))
    members = bridge_members(world.host_ns, brq(net))
    assert tap(p1) not in members and not our_chains(world.host_ns) & port_chains(p1["id"])
    converged_after = time.monotonic() - restored
    # And the agents go on as before: p3's VM plugged now goes ACTIVE.
    world.plug(p3)
    wait_converged(world, {net: [p2, p3]}, "the port plugged after the restart")
    print(f"broker restart: converged {converged_after:.1f} s after the agents' "
          f"broker came back ({took:.1f} s after their heartbeats)")
    world.remove(net)


def test_agents_killed_during_changes_converge_exactly(world: World) -> None:
    api = world.api
    before = world.network("before", "10.202.0.0/24")
    vm_before = world.bind(before)
    wait_converged(world, {before: [vm_before]}, "the first network served")

    # A burst of changes: networks with subnets and ports. Both agents are killed
    # with SIGKILL as soon as the DHCP agent has begun on them (a namespace made):
    # it and the Linux bridge agent are at work.
    burst = [world.network(f"burst-{i}", f"10.{210 + i}.0.0/24") for i in range(2)]
    vms: dict[str, list[dict]] = {}
    for net in burst:
        vms[net] = [world.bind(net)]
        api.port(net, name="not bound")
    wait_for(lambda: any(privileged.namespace_exists(f"qdhcp-{n}") for n in burst),
             CONVERGE, "the DHCP agent at work on the burst")
    for agent in world.agents.values():
        agent.kill9()
    dnsmasq_at_kill = dnsmasqs(world.dhcp_dir)

    # While they are dead: the first network deleted with its port (the VM gone:
    # unplugged, as the hypervisor would), a port of the burst deleted (its VM still
    # plugged), another bound and plugged.
    world.unplug(vm_before)
    assert api.delete(f"ports/{vm_before['id']}").status_code == 204
    assert api.delete(f"networks/{before}").status_code == 204
    gone = vms[burst[0]].pop()
    assert api.delete(f"ports/{gone['id']}").status_code == 204
    vms[burst[1]].append(world.bind(burst[1]))

    for agent in world.agents.values():
        agent.start()
    took = wait_converged(world, vms, "convergence after the restart")
    assert not privileged.namespace_exists(f"qdhcp-{before}")
    assert tap(gone) not in bridge_members(world.host_ns, brq(burst[0]))
    # One agent process per agent: the restarted ones, nothing left of the killed
    # ones. A child of the live agent also shows its command line for the instant
    # between fork and exec (an `ip`, `iptables-save` it runs): not a second agent.
    for binary, agent in world.agents.items():
        config = str(agent.config)
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()
                and config in (privileged.process_cmdline(int(p)) or [])
                and parent_of(int(p)) != agent.pid]
        assert pids == [agent.pid], (binary, pids)
    kinds = [a["agent_type"] for a in api.get("agents").json()["agents"]
             if a["host"] == world.host]
    assert sorted(kinds) == ["DHCP agent", "Linux bridge agent"]
    print(f"kill -9: {len(dnsmasq_at_kill)} of 2 dnsmasq running at the kill; "
          f"converged {took:.1f} s after the restart")
    for net in burst:
        world.remove(net)


def parent_of(pid: int) -> int | None:
    """The parent's pid (None: the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            return int(stat.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None
