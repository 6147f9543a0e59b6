"""A world for the L3 agent's end-to-end tests and bench: one network node that is
also the compute host, an "outside" beyond the external network, a real
neutrino-server on RabbitMQ.

* host: a namespace with a Linux bridge agent (VXLAN for project networks; the flat
  provider network ``public`` mapped to ``ext0``) and the L3 agent, both in this
  process (the broker listens on the root namespace's loopback), their kernel work
  in the host's namespace; routers are ``qrouter-<id>`` namespaces whose taps sit in
  the host namespace.
* outside: a namespace at the far end of ``ext0`` holding the external subnet's
  gateway address (EXT_GATEWAY) and an "internet" address (INTERNET, on its
  loopback): what a real uplink would be.
* VMs: namespaces plugged with ``neutrino-vif`` (static addressing, default route
  via the router), their ports in a security group open to all.

Everything goes at the end, also on failure: routers and networks through the API
(the agents take down what they built), then every namespace of the test's prefix
and the router namespaces of the routers it made.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dataplane.test_dhcp_agent import agent_conf
from dataplane.test_linuxbridge_e2e import vif
from dataplane.topology import Topology, ping_once, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.l3 import config as l3_config
from neutrino.agent.l3 import plan as l3_plan
from neutrino.agent.l3.agent import L3Agent
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.agent.metadata.proxies import MetadataProxies
from neutrino.contract import bus as transport
from rpc_helpers import RABBIT
from server import Api, ServerProcess

UNDERLAY = "198.51.100.1"
EXT_CIDR, EXT_GATEWAY = "172.24.4.0/24", "172.24.4.1"
INTERNET = "192.0.2.10"
PHYSNET, EXT_IFACE = "public", "ext0"
PORT = 7100

# A TCP server: on each connection it says "<tag> <peer address>\n", then echoes
# lines until the peer closes.
WHO_SERVER = r"""
import socket, sys, threading
tag, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port)); s.listen(64)
def serve(c, addr):
    with c:
        c.sendall(f"{tag} {addr[0]}\n".encode())
        f = c.makefile("rb")
        for line in f:
            c.sendall(line)
print("ready", flush=True)
while True:
    c, addr = s.accept()
    threading.Thread(target=serve, args=(c, addr), daemon=True).start()
"""

# A TCP client: connects, prints the server's first line, then for each line on
# stdin sends it and prints the echo, or "timeout".
CONVERSATION = r"""
import socket, sys
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port), timeout=timeout)
f = s.makefile("rb")
try:
    print(f.readline().decode().strip(), flush=True)
except OSError:
    print("timeout", flush=True); sys.exit(1)
for line in sys.stdin:
    try:
        s.sendall(line.encode())
        print(f.readline().decode().strip() or "closed", flush=True)
    except OSError:
        print("timeout", flush=True)
"""


def run_in(namespace: str, *cmd: str, check: bool = True) -> str:
    return subprocess.run(["ip", "netns", "exec", namespace, *cmd], capture_output=True,
                          text=True, timeout=30, check=check).stdout


WHO_CLIENT = r"""
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    print(s.makefile("rb").readline().decode().strip())
except OSError:
    sys.exit(1)
"""


def who(namespace: str, address: str, port: int = PORT, timeout: float = 1.0
        ) -> str | None:
    """One connection from `namespace`: the server's "<tag> <peer>" line, or None."""
    result = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c",
                             WHO_CLIENT, address, str(port), str(timeout)],
                            capture_output=True, text=True, timeout=30, check=False)
    return (result.stdout.strip() or None) if result.returncode == 0 else None


def who_within(namespace: str, address: str, within: float = 15.0, port: int = PORT
               ) -> str | None:
    """The first answer of `who` within `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        answer = who(namespace, address, port)
        if answer or time.monotonic() > deadline:
            return answer


class Conversation:
    """An open TCP connection from a namespace, driven line by line."""

    def __init__(self, namespace: str, address: str, port: int = PORT,
                 timeout: float = 2.0) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", CONVERSATION,
             address, str(port), str(timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.greeting = self.proc.stdout.readline().strip()

    def say(self, text: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip() or "closed"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


@dataclass
class Vm:
    name: str
    port: dict
    namespace: str

    @property
    def ip(self) -> str:
        return self.port["fixed_ips"][0]["ip_address"]


@dataclass
class L3World:
    server: ServerProcess
    topo: Topology
    l3_options: dict[str, object] = field(default_factory=dict)
    # The L3 agent's MetadataProxies hook (None: the real proxies, under state_path).
    metadata_proxies: Any = None
    bus_url: str = RABBIT            # where the agents reach the server
    l2_options: dict[str, object] = field(default_factory=dict)
    # Another L2 agent than Linux bridge (ovs_l3_world.py: Open vSwitch): starts it
    # for the world (the host namespace made, ext0 there) and returns it; its
    # agent_type; extra ``neutrino-vif plug`` arguments; what to stop at the end,
    # after the agents.
    make_l2: Callable[[L3World], Any] | None = None
    l2_type: str = "Linux bridge agent"
    vif_args: tuple[str, ...] = ()
    on_close: list[Callable[[], None]] = field(default_factory=list)
    api: Api = field(init=False)
    host: str = ""                  # the host namespace
    name: str = ""                  # its host name (agents' `host`)
    outside: str = ""
    rpc: Any = None
    l2: Any = None
    l3: Any = None
    ext: dict = field(default_factory=dict)
    ext_subnet: dict = field(default_factory=dict)
    routers: list[str] = field(default_factory=list)       # every router made
    servers: list[subprocess.Popen] = field(default_factory=list)
    state_path: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="neutrino-l3-"))

    def __post_init__(self) -> None:
        self.api = Api(self.server.url)

    # -- set-up and tear-down ------------------------------------------------------

    def start(self) -> L3World:
        self.host = self.topo.hosts(UNDERLAY)[0]
        self.name = f"{self.topo.prefix}network-0"
        self.outside = self.topo.namespace("outside")
        with Kernel(self.host) as host:
            host.add_veth(EXT_IFACE, "eth0", peer_namespace=self.outside)
            host.set_link(EXT_IFACE, up=True)
        with Kernel(self.outside) as outside:
            outside.add_address("eth0", EXT_GATEWAY, 24)
            outside.set_link("eth0", up=True)
            outside.add_address("lo", INTERNET, 32)
        if self.make_l2 is not None:
            self.l2 = self.make_l2(self)
            self.rpc = self.l2.transport
        else:
            l2_conf = agent_conf(lb_config.register_opts, self.name,
                                 **{"transport_url": self.bus_url,
                                    "vxlan.local_ip": UNDERLAY,
                                    "linux_bridge.physical_interface_mappings":
                                        [f"{PHYSNET}:{EXT_IFACE}"], **self.l2_options})
            self.rpc = transport.get_transport(l2_conf)
            self.l2 = LinuxBridgeAgent(l2_conf, transport=self.rpc, namespace=self.host,
                                       server=self.server.rpc_name).start()
        self.l3 = self.new_l3_agent().start()
        assert wait_for(lambda: self.alive() == {self.l2_type, "L3 agent"}, 30), \
            self.alive()
        self.ext = self.api.network(name="public", **{
            "router:external": True, "provider:network_type": "flat",
            "provider:physical_network": PHYSNET})
        self.ext_subnet = self.api.subnet(self.ext["id"], EXT_CIDR, gateway_ip=EXT_GATEWAY,
                                          enable_dhcp=False)
        return self

    def l3_conf(self) -> Any:
        return agent_conf(l3_config.register_opts, self.name, transport_url=self.bus_url,
                          **{"state_path": self.state_path, **self.l3_options})

    def new_l3_agent(self) -> L3Agent:
        return L3Agent(self.l3_conf(), transport=self.rpc, host_namespace=self.host,
                       server=self.server.rpc_name, own_all_namespaces=False,
                       metadata_proxies=self.metadata_proxies)

    def alive(self) -> set[str]:
        return {a["agent_type"] for a in self.api.get("agents").json()["agents"]
                if a["host"] == self.name and a["alive"]}

    def close(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait(5)
        try:
            for router_id in self.routers:
                self.delete_router(router_id)
        finally:
            for agent in (self.l3, self.l2):
                if agent is not None:
                    agent.stop()
            if self.rpc is not None:
                self.rpc.cleanup()
            for stop in self.on_close:
                stop()
            # Proxies the agent did not stop (a failed test), then their namespaces.
            if self.l3 is not None:
                MetadataProxies(l3_config.metadata_proxy_dir(self.l3.conf), "-").remove_stale(())
            for router_id in self.routers:
                privileged.delete_namespace(l3_plan.namespace_name(router_id))
            shutil.rmtree(self.state_path, ignore_errors=True)

    # -- the API ---------------------------------------------------------------------

    def project(self) -> Api:
        return self.api.as_project(uuid.uuid4().hex)

    def network(self, api: Api, cidr: str, **subnet: object) -> tuple[dict, dict]:
        net = api.network(name="private")
        return net, api.subnet(net["id"], cidr, **subnet)

    def router(self, api: Api, *subnets: dict, gateway: bool = True, **attrs: object
               ) -> dict:
        if gateway:
            attrs["external_gateway_info"] = {"network_id": self.ext["id"],
                                              **attrs.pop("gateway_info", {})}  # type: ignore[dict-item]
        router = api.create("router", name="r", **attrs)
        self.routers.append(router["id"])
        for subnet in subnets:
            response = api.put(f"routers/{router['id']}/add_router_interface",
                               {"subnet_id": subnet["id"]})
            assert response.status_code == 200, response.text
        return api.get(f"routers/{router['id']}").json()["router"]

    def gateway_ip(self, router: dict) -> str:
        info = self.api.get(f"routers/{router['id']}").json()["router"][
            "external_gateway_info"]
        return info["external_fixed_ips"][0]["ip_address"]

    def open_group(self, api: Api) -> str:
        group = api.create("security_group", name="open")
        for protocol in ("icmp", "tcp"):
            api.create("security_group_rule", security_group_id=group["id"],
                       direction="ingress", ethertype="IPv4", protocol=protocol,
                       remote_ip_prefix="0.0.0.0/0")
        return group["id"]

    def vm(self, api: Api, net: dict, group: str, tag: str, **port: object) -> Vm:
        """A port plugged into a VM namespace that runs WHO_SERVER (tag `tag`)."""
        created = api.port(net["id"], security_groups=[group], **port)
        namespace = f"{self.topo.prefix}vm-{created['id'][:6]}"
        self.topo.namespaces.append(namespace)
        vif("plug", created["id"], "--url", self.server.url, "--host", self.name,
            "--host-netns", self.host, "--netns", namespace, *self.vif_args)
        vm = Vm(tag, created, namespace)
        self.serve(namespace, tag)
        return vm

    def serve(self, namespace: str, tag: str, port: int = PORT) -> None:
        proc = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c",
                                 WHO_SERVER, tag, "0.0.0.0", str(port)],
                                stdout=subprocess.PIPE, text=True)
        self.servers.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    def floatingip(self, api: Api, vm: Vm | None = None) -> dict:
        attrs = {"port_id": vm.port["id"]} if vm is not None else {}
        return api.create("floatingip", floating_network_id=self.ext["id"], **attrs)

    def set_fip(self, api: Api, fip: dict, vm: Vm | None) -> dict:
        response = api.put(f"floatingips/{fip['id']}",
                           {"floatingip": {"port_id": vm.port["id"] if vm else None}})
        assert response.status_code == 200, response.text
        return response.json()["floatingip"]

    def status(self, kind: str, resource_id: str) -> str:
        return self.api.get(f"{kind}s/{resource_id}").json()[kind]["status"]

    def router_ports(self, router_id: str) -> list[dict]:
        return self.api.get("ports", params={"device_id": router_id}).json()["ports"]

    def delete_router(self, router_id: str) -> None:
        """The router and what hangs on it, through the API."""
        api = self.api
        for fip in api.get("floatingips", params={"router_id": router_id}
                           ).json()["floatingips"]:
            # (a floating IP with port forwardings is deleted once they are)
            for pf in fip.get("port_forwardings") or []:
                api.delete(f"floatingips/{fip['id']}/port_forwardings/{pf['id']}")
            api.delete(f"floatingips/{fip['id']}")
        for port in self.router_ports(router_id):
            if port["device_owner"] == "network:router_interface":
                api.put(f"routers/{router_id}/remove_router_interface",
                        {"port_id": port["id"]})
        api.delete(f"routers/{router_id}")

    # -- what the host shows ------------------------------------------------------------

    def namespace_of(self, router: dict) -> str:
        return l3_plan.namespace_name(router["id"])

    def router_kernel(self, router: dict, within: float = 15) -> Kernel:
        """The router's namespace, once its agent has made it (opening a namespace
        never makes it: privileged.Kernel)."""
        namespace = self.namespace_of(router)
        assert wait_for(lambda: privileged.is_namespace(namespace), within), \
            f"{namespace} not made within {within} s"
        return Kernel(namespace)

    def wait_namespace_gone(self, router_id: str, within: float = 15) -> bool:
        return wait_for(lambda: l3_plan.namespace_name(router_id)
                        not in privileged.namespaces(), within)


def reachable(namespace: str, address: str, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while True:
        if ping_once(namespace, address):
            return True
        if time.monotonic() > deadline:
            return False


@contextmanager
def l3_world(server: ServerProcess, metadata_proxies: Any = None, **l3_options: object
             ) -> Iterator[L3World]:
    topo = Topology()
    world = L3World(server, topo, l3_options=dict(l3_options),
                    metadata_proxies=metadata_proxies)
    try:
        yield world.start()
    finally:
        try:
            world.close()
        finally:
            topo.cleanup()
