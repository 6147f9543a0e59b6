"""Router HA end to end (issue 12, l3-ha): two network nodes and a compute node on
one machine, a real server on RabbitMQ, a HA router on both network nodes'
L3 agents; keepalived elects one, the floating IP answers through it; the active
node is cut off (its underlay and its external link go down) and the floating IP
answers again through the other. The failover time is measured and printed.

Hosts are namespaces joined by an underlay switch (topology.py); the external
network is a flat ``public`` on each network node's ``ext0``, whose far ends sit
in a bridge of the "outside" namespace holding the external gateway address.

Two L3 agents on one machine would both name the router's namespace
``qrouter-<id>``: each runs in a process of its own with a private mount of
/run/netns (``unshare --mount``), where it sees its host's namespace and makes
its own router namespace, as on a machine of its own. The Linux bridge agents run
in this process, their kernel work in their host namespaces.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dataplane.test_dhcp_agent import agent_conf
from dataplane.test_linuxbridge_e2e import vif
from dataplane.topology import PING_CODE, Topology, wait_for
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.contract import bus as transport
from rpc_helpers import RABBIT
from server import Api, ServerProcess

UNDERLAY = ("198.51.100.21", "198.51.100.22", "198.51.100.23")  # net-0, net-1, compute
EXT_CIDR, EXT_GATEWAY, INTERNET = "172.24.4.0/24", "172.24.4.1", "192.0.2.10"
PHYSNET = "public"
ADVERT_INT = 1

# An L3 agent in a process of its own (argv[1]: JSON with its options, its host
# namespace and the server's rpc name); stops on SIGTERM.
RUNNER = r"""
import json, logging, signal, sys, threading
from oslo_config import cfg
from neutrino.agent.l3 import config as l3_config
from neutrino.agent.l3.agent import L3Agent
from neutrino.agent.l3.proxies import NoMetadataProxies
spec = json.loads(sys.argv[1])
logging.basicConfig(filename=spec["log"], level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(name)s %(message)s")
conf = cfg.ConfigOpts()
l3_config.register_opts(conf)
conf(args=[])
for key, value in spec["options"].items():
    group, _, name = key.rpartition(".")
    conf.set_override(name, value, group=group or None)
agent = L3Agent(conf, host_namespace=spec["host_namespace"], server=spec["server"],
                own_all_namespaces=False, metadata_proxies=NoMetadataProxies()).start()
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *args: done.set())
print("started", flush=True)
done.wait()
agent.stop()
"""

# The private /run/netns: the host's namespace bound in again, nothing else.
PRIVATE_NETNS = """set -e
mkdir -p "$1"
touch "$1/host"
mount --bind "/run/netns/$2" "$1/host"
mount -t tmpfs neutrino-test /run/netns
touch "/run/netns/$2"
mount --bind "$1/host" "/run/netns/$2"
shift 2
exec "$@"
"""


@dataclass
class L3Process:
    name: str
    host_namespace: str
    state: Path
    proc: subprocess.Popen | None = None

    def start(self, server: ServerProcess, zone: str) -> L3Process:
        self.state.mkdir(parents=True, exist_ok=True)
        spec = {"log": str(self.state / "agent.log"), "host_namespace": self.host_namespace,
                "server": server.rpc_name, "options": {
                    "transport_url": RABBIT, "host": self.name,
                    "state_path": str(self.state), "rpc_response_timeout": 20,
                    "AGENT.polling_interval": 0.2, "AGENT.report_interval": 2,
                    "AGENT.resync_interval": 30, "enable_metadata_proxy": False,
                    "ha_vrrp_advert_int": ADVERT_INT, "AGENT.availability_zone": zone}}
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", PRIVATE_NETNS,
             "sh", str(self.state / "netns"), self.host_namespace,
             sys.executable, "-c", RUNNER, json.dumps(spec)],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "started", self.log()
        return self

    def log(self) -> str:
        try:
            return (self.state / "agent.log").read_text()[-4000:]
        except OSError:
            return ""

    def keepalived_pids(self) -> list[int]:
        pids = []
        for pid_file in (self.state / "ha_confs").glob("*/keepalived*.pid"):
            try:
                pids.append(int(pid_file.read_text().strip()))
            except (OSError, ValueError):
                continue
        return pids

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # keepalived outlives the agent (as upstream's): ours go by their pid files,
        # and with them the last hold on the agent's router namespaces.
        for pid in self.keepalived_pids():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
            except OSError:
                continue
            if "keepalived" in cmdline and str(self.state) in cmdline:
                os.kill(pid, signal.SIGKILL)


@dataclass
class HaWorld:
    server: ServerProcess
    topo: Topology
    api: Api = field(init=False)
    hosts: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    outside: str = ""
    rpc: Any = None
    l2: list[Any] = field(default_factory=list)
    l3: list[L3Process] = field(default_factory=list)
    state: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="neutrino-ha-")))
    routers: list[str] = field(default_factory=list)
    # The HA router is hinted to this zone: other sessions' L3 agents on the shared
    # broker report to every server, and must not get it.
    zone: str = field(default_factory=lambda: f"az-{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        self.api = Api(self.server.url)

    def start(self) -> HaWorld:
        self.hosts = self.topo.hosts(*UNDERLAY)
        self.names = [f"{self.topo.prefix}{role}" for role in ("net-0", "net-1", "compute")]
        self.outside = self.topo.namespace("outside")
        with Kernel(self.outside) as outside:
            outside.add_bridge("extbr")
            outside.set_link("extbr", up=True)
            outside.add_address("extbr", EXT_GATEWAY, 24)
            outside.add_address("lo", INTERNET, 32)
        for i in (0, 1):
            with Kernel(self.hosts[i]) as host:
                host.add_veth("ext0", f"e{i}", peer_namespace=self.outside)
                host.set_link("ext0", up=True)
            with Kernel(self.outside) as outside:
                outside.set_link(f"e{i}", master="extbr")
                outside.set_link(f"e{i}", up=True)
        for i, (host, name) in enumerate(zip(self.hosts, self.names, strict=True)):
            mappings = [f"{PHYSNET}:ext0"] if i < 2 else []
            conf = agent_conf(lb_config.register_opts, name, **{
                "vxlan.local_ip": UNDERLAY[i],
                "linux_bridge.physical_interface_mappings": mappings})
            if self.rpc is None:
                self.rpc = transport.get_transport(conf)
            self.l2.append(LinuxBridgeAgent(conf, transport=self.rpc, namespace=host,
                                            server=self.server.rpc_name).start())
        for i in (0, 1):
            self.l3.append(L3Process(self.names[i], self.hosts[i],
                                     self.state / f"l3-{i}").start(self.server, self.zone))
        assert wait_for(self._all_alive, 60), self.api.get("agents").json()
        return self

    def _all_alive(self) -> bool:
        alive = {(a["host"], a["agent_type"]) for a in self.api.get("agents").json()["agents"]
                 if a["alive"]}
        return all((n, "Linux bridge agent") in alive for n in self.names) and all(
            (n, "L3 agent") in alive for n in self.names[:2])

    def close(self) -> None:
        try:
            for router_id in self.routers:
                self.delete_router(router_id)
            # The agents take their routers down (keepalived included).
            wait_for(lambda: not any(p.keepalived_pids() for p in self.l3), 20)
        finally:
            for process in self.l3:
                process.stop()
            for agent in self.l2:
                agent.stop()
            if self.rpc is not None:
                self.rpc.cleanup()
            shutil.rmtree(self.state, ignore_errors=True)

    def delete_router(self, router_id: str) -> None:
        api = self.api
        for fip in api.get("floatingips", params={"router_id": router_id}
                           ).json()["floatingips"]:
            api.delete(f"floatingips/{fip['id']}")
        for port in api.get("ports", params={"device_id": router_id}).json()["ports"]:
            if port["device_owner"] == "network:router_interface":
                api.put(f"routers/{router_id}/remove_router_interface",
                        {"port_id": port["id"]})
        api.delete(f"routers/{router_id}")

    def ha_states(self, router_id: str) -> dict[str, str]:
        agents = self.api.get(f"routers/{router_id}/l3-agents").json()["agents"]
        return {a["host"]: a["ha_state"] for a in agents}

    def cut_off(self, index: int) -> None:
        """The node loses its underlay and its external link (as a dead switch port
        or cable would): its agents and keepalived keep running, isolated."""
        with Kernel(self.topo.prefix + "sw") as switch:
            switch.set_link(f"sw-h{index}", up=False)
        with Kernel(self.outside) as outside:
            outside.set_link(f"e{index}", up=False)


def ping_fast(namespace: str, address: str, timeout: float = 0.3) -> bool:
    """One ICMP echo over a raw socket (sub-second timeout, unlike ping -W)."""
    result = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c",
                             PING_CODE, address, str(timeout)],
                            capture_output=True, timeout=timeout + 10, check=False)
    return result.returncode == 0


def first_answer(namespace: str, address: str, within: float) -> float | None:
    """Seconds until `address` answers a ping from `namespace` (None: not within)."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if ping_fast(namespace, address):
            return time.monotonic() - start
    return None


@pytest.fixture
def world(server: ServerProcess, topo: Topology) -> Iterator[HaWorld]:
    if shutil.which("keepalived") is None:
        pytest.fail("keepalived is missing: `make venv` as root installs it")
    made = HaWorld(server, topo)
    try:
        yield made.start()
    except BaseException:
        for process in made.l3:
            sys.stderr.write(f"--- {process.name}\n{process.log()}\n")
        raise
    finally:
        made.close()


def test_ha_router_fails_over_to_the_standby(world: HaWorld,
                                             record_property: Any) -> None:
    api, admin = world.api, world.api.as_project(uuid.uuid4().hex, ["admin"])
    ext = api.network(name="public", **{"router:external": True,
                                        "provider:network_type": "flat",
                                        "provider:physical_network": PHYSNET})
    api.subnet(ext["id"], EXT_CIDR, gateway_ip=EXT_GATEWAY, enable_dhcp=False)
    net = admin.network(name="private")
    subnet = admin.subnet(net["id"], "10.61.0.0/24")
    router = admin.create("router", name="ha", ha=True,
                          availability_zone_hints=[world.zone],
                          external_gateway_info={"network_id": ext["id"]})
    world.routers.append(router["id"])
    assert router["ha"] is True
    assert admin.put(f"routers/{router['id']}/add_router_interface",
                     {"subnet_id": subnet["id"]}).status_code == 200
    assert set(world.ha_states(router["id"])) == set(world.names[:2])
    group = admin.create("security_group", name="open")
    admin.create("security_group_rule", security_group_id=group["id"],
                 direction="ingress", ethertype="IPv4", protocol="icmp",
                 remote_ip_prefix="0.0.0.0/0")
    port = admin.port(net["id"], security_groups=[group["id"]])
    vm = world.topo.prefix + "vm"
    world.topo.namespaces.append(vm)
    vif("plug", port["id"], "--url", world.server.url, "--host", world.names[2],
        "--host-netns", world.hosts[2], "--netns", vm)
    fip = admin.create("floatingip", floating_network_id=ext["id"], port_id=port["id"])
    address = fip["floating_ip_address"]

    # keepalived elects one of the two; the floating IP answers through it.
    def one_active() -> bool:
        return sorted(world.ha_states(router["id"]).values()) == ["active", "standby"]
    assert wait_for(one_active, 60), world.ha_states(router["id"])
    first = first_answer(world.outside, address, 60)
    assert first is not None, "the floating IP never answered"
    assert first_answer(vm, INTERNET, 20) is not None  # SNAT out as well
    states = world.ha_states(router["id"])
    active = [h for h, s in states.items() if s == "active"][0]
    index = world.names.index(active)
    standby = world.names[1 - index]

    # Cut the active node off: the floating IP answers again through the standby.
    world.cut_off(index)
    took = first_answer(world.outside, address, 90)
    assert took is not None, f"no answer after the failover; states " \
                             f"{world.ha_states(router['id'])}"
    assert world.ha_states(router["id"])[standby] == "active"
    assert first_answer(vm, INTERNET, 20) is not None
    record_property("ha_failover_seconds", round(took, 2))
    print(f"\nHA failover: the floating IP answered again {took:.2f} s after the "
          f"active node ({active}) was cut off (advert_int {ADVERT_INT} s)")
