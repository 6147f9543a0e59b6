"""Issue 7's end-to-end scenarios on real namespaces, driven only through the API.

Two "hosts" (namespaces on one underlay), a Linux bridge agent on each, the DHCP
agent on host 0, a real neutrino-server on RabbitMQ (a vhost of its own: the
agents' topics are shared by every server on a broker). A project creates a VXLAN
network with a subnet and three ports; each is plugged with ``neutrino-vif
--ip-config none`` into a VM namespace (a and b on host 0, c on host 1) and the
VM's address comes from a real ``dhclient``.

Scenario 1 checks the addresses, the pings across hosts and the ports' status.
Scenario 2 (security groups) reuses the same world (module scoped, to save the
set-up) and changes only API resources and the VMs' own interfaces; the `scene`
fixture puts every port and VM back as it was after each test.

The agents run in this test process (one thread set per host, their kernel work
in the host's namespace) because the broker listens on the root namespace's
loopback. Everything made goes away at the end, also on failure: the namespaces
(with their links, bridges, iptables and ipsets), dnsmasq and dhclient, the TCP/UDP
servers, the vhost and the server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from oslo_config import cfg

from backends import unavailable
from dataplane import vhost
from dataplane.test_dhcp_agent import DHCLIENT_CONF, Env, agent_conf, parse_lease
from dataplane.test_firewall import CLIENT_CODE, SERVER_CODE
from dataplane.test_linuxbridge_e2e import UNDERLAY, vif
from dataplane.topology import Topology, ping, ping_once, random_mac, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.dhcp import config as dhcp_config
from neutrino.agent.dhcp import render as dhcp_render
from neutrino.agent.dhcp.agent import DhcpAgent
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.contract import bus as transport
from rpc_helpers import require_rabbit, server_on_rabbit, unique
from server import Api, ServerProcess

pytestmark = pytest.mark.skipif(shutil.which("dnsmasq") is None
                                or shutil.which("dhclient") is None
                                or shutil.which("ping") is None,
                                reason="needs dnsmasq, dhclient and ping")

CIDR, PREFIXLEN, GATEWAY = "10.77.0.0/24", 24, "10.77.0.1"
SPOOFED_IP = "10.77.0.240"          # in the subnet, nobody's
VIP = "10.77.0.250"                 # the allowed address pair
PORT, OTHER_PORT = 7001, 7002       # where the VMs' TCP/UDP servers listen
# An API change reaches the dataplane (notification, resync, iptables-restore)
# within this many seconds; issue 7 expects about 2 (measured: 1.0-1.5 s, with
# the 1 s of a failing attempt included, on a busy 2-core machine).
APPLY_WITHIN = 3.0

# dhclient's hook reduced to what a guest does with its lease: address, MTU and
# default route on its interface. Never the stock dhclient-script: it would rewrite
# the machine's own /etc/resolv.conf.
DHCLIENT_SCRIPT = """#!/bin/sh
case "$reason" in
PREINIT) ip link set dev "$interface" up ;;
BOUND|RENEW|REBIND|REBOOT)
    ip -4 addr flush dev "$interface"
    ip -4 addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
    if [ -n "$new_interface_mtu" ]; then
        ip link set dev "$interface" mtu "$new_interface_mtu"
    fi
    for router in $new_routers; do
        ip -4 route replace default via "$router" dev "$interface"
        break
    done ;;
esac
exit 0
"""


@dataclass
class Vm:
    name: str
    host: int                      # index of its host
    port: dict
    namespace: str = ""
    lease: dict | None = None

    @property
    def ip(self) -> str:
        return self.port["fixed_ips"][0]["ip_address"]

    @property
    def mac(self) -> str:
        return self.port["mac_address"]


@dataclass
class World:
    server: ServerProcess
    bus_url: str
    topo: Topology
    env: Env
    api: Api = field(init=False)                  # admin
    project: Api = field(init=False)              # the project owning everything
    hosts: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    agents: list = field(default_factory=list)
    rpc: object = None
    net: dict = field(default_factory=dict)
    vms: dict[str, Vm] = field(default_factory=dict)
    default_sg: str = ""
    servers: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api = Api(self.server.url)
        self.project = self.api.as_project(uuid.uuid4().hex)

    # -- set-up and tear-down ----------------------------------------------------

    def conf(self, register: Callable[[cfg.ConfigOpts], None], host: int,
             **overrides: object) -> cfg.ConfigOpts:
        return agent_conf(register, self.names[host], transport_url=self.bus_url,
                          **overrides)

    def start(self) -> None:
        self.hosts = self.topo.hosts(*UNDERLAY)
        self.names = [f"{self.topo.prefix}compute-{i}" for i in range(len(self.hosts))]
        self.rpc = transport.get_transport(self.conf(lb_config.register_opts, 0))
        for i, (ns, ip) in enumerate(zip(self.hosts, UNDERLAY, strict=True)):
            self.agents.append(LinuxBridgeAgent(
                self.conf(lb_config.register_opts, i, **{"vxlan.local_ip": ip}),
                transport=self.rpc, namespace=ns, server=self.server.rpc_name).start())
        self.agents.append(DhcpAgent(
            self.conf(dhcp_config.register_opts, 0, dhcp_confs=self.env.state_dir),
            transport=self.rpc, host_namespace=self.hosts[0],
            server=self.server.rpc_name, own_all_namespaces=False).start())
        assert wait_for(lambda: len(self.alive_agents()) == 3, 30), self.alive_agents()

        self.net = self.project.network(name="scenarios")
        self.env.networks.add(self.net["id"])
        self.project.subnet(self.net["id"], CIDR, gateway_ip=GATEWAY)
        for name, host in (("a", 0), ("b", 0), ("c", 1)):
            port = self.project.port(self.net["id"], name=f"vm-{name}")
            self.vms[name] = Vm(name, host, port)
        self.default_sg = self.vms["a"].port["security_groups"][0]
        for vm in self.vms.values():
            vm.namespace = f"{self.topo.prefix}vm-{vm.name}"
            self.topo.namespaces.append(vm.namespace)  # cleaned up with the rest
            vif("plug", vm.port["id"], "--url", self.server.url,
                "--host", self.names[vm.host], "--host-netns", self.hosts[vm.host],
                "--netns", vm.namespace, "--ip-config", "none")
        for vm in self.vms.values():
            vm.lease = self.dhclient(vm.namespace)

    def alive_agents(self) -> list[tuple[str, str]]:
        return [(a["host"], a["agent_type"]) for a in self.api.get("agents").json()["agents"]
                if a["host"] in self.names and a["alive"]]

    def dhclient(self, namespace: str, timeout: int = 30) -> dict | None:
        """A real DHCP exchange that configures the VM's eth0 (DHCLIENT_SCRIPT);
        the lease dhclient wrote, or None. Its process is stopped at the end."""
        name = uuid.uuid4().hex[:8]
        conf, lease, pid_file, script = (os.path.join(self.env.work, name + suffix)
                                         for suffix in (".conf", ".lease", ".pid", ".sh"))
        with open(conf, "w") as handle:
            handle.write(DHCLIENT_CONF.format(timeout=timeout))
        with open(script, "w") as handle:
            handle.write(DHCLIENT_SCRIPT)
        os.chmod(script, 0o755)
        self.env.dhclients.append(pid_file)
        subprocess.run(["ip", "netns", "exec", namespace, "dhclient", "-1", "-v",
                        "-cf", conf, "-sf", script, "-pf", pid_file, "-lf", lease, "eth0"],
                       capture_output=True, timeout=timeout + 30, check=False)
        found = parse_lease(lease)
        self.env.stop_dhclient(pid_file, bound=found is not None)
        return found

    def close(self) -> None:
        for proc in self.servers:
            kill(proc)
        if self.net:
            # Through the API, as an operator would: the agents take their part
            # down (the DHCP agent its namespace and dnsmasq); what they leave,
            # the namespaces' removal and Env.cleanup take.
            for vm in self.vms.values():
                self.api.delete(f"ports/{vm.port['id']}")
            self.api.delete(f"networks/{self.net['id']}")
            wait_for(lambda: dhcp_render.namespace_name(self.net["id"])
                     not in privileged.namespaces(), 20)
        for agent in self.agents:
            agent.stop()
        if self.rpc is not None:
            self.rpc.cleanup()

    # -- the API -------------------------------------------------------------------

    def group(self, name: str, *rules: dict) -> str:
        """A new security group of the project (with its default egress rules)."""
        sg = self.project.create("security_group", name=name)
        for rule in rules:
            self.rule(sg["id"], **rule)
        return sg["id"]

    def rule(self, group: str, **attrs: object) -> str:
        attrs = {"direction": "ingress", "ethertype": "IPv4", **attrs}
        return self.project.create("security_group_rule", security_group_id=group,
                                   **attrs)["id"]

    def delete_rule(self, rule: str) -> None:
        response = self.project.delete(f"security-group-rules/{rule}")
        assert response.status_code == 204, response.text

    def update(self, vm: str, **attrs: object) -> dict:
        response = self.project.put(f"ports/{self.vms[vm].port['id']}", {"port": attrs})
        assert response.status_code == 200, response.text
        return response.json()["port"]

    # -- the VMs -------------------------------------------------------------------

    def run(self, vm: str, *cmd: str, check: bool = True) -> str:
        return subprocess.run(["ip", "netns", "exec", self.vms[vm].namespace, *cmd],
                              capture_output=True, text=True, timeout=30,
                              check=check).stdout

    def serve(self, vm: str) -> None:
        """TCP and UDP servers on PORT and OTHER_PORT in the VM, on any address."""
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.vms[vm].namespace, sys.executable, "-c",
             SERVER_CODE, "0.0.0.0", str(PORT), str(OTHER_PORT)],
            stdout=subprocess.PIPE, text=True)
        self.servers.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    def stop_servers(self) -> None:
        while self.servers:
            kill(self.servers.pop())

    def reach(self, src: str, proto: str, dst: str, port: int = PORT) -> bool:
        """One attempt: ping (proto "icmp") or a TCP/UDP exchange with a server,
        from VM `src` to VM `dst`'s address (or to an address given as is)."""
        address = self.vms[dst].ip if dst in self.vms else dst
        if proto == "icmp":
            return ping_once(self.vms[src].namespace, address)
        result = subprocess.run(
            ["ip", "netns", "exec", self.vms[src].namespace, sys.executable, "-c",
             CLIENT_CODE, proto, address, str(port), "1"],
            capture_output=True, timeout=30, check=False)
        return result.returncode == 0

    def ping_from(self, src: str, source: str, dst: str) -> bool:
        """One ping from VM `src` sent from its address `source`."""
        result = subprocess.run(
            ["ip", "netns", "exec", self.vms[src].namespace, "ping", "-c", "1", "-W", "1",
             "-I", source, self.vms[dst].ip], capture_output=True, timeout=15, check=False)
        return result.returncode == 0

    def echo_requests(self, vm: str) -> int:
        """ICMP echo requests the VM's kernel has received (Icmp InEchos)."""
        lines = [line.split() for line in self.run(vm, "cat", "/proc/net/snmp").splitlines()
                 if line.startswith("Icmp:")]
        return int(lines[1][lines[0].index("InEchos")])

    def pin_neighbour(self, src: str, dst: str) -> None:
        """`src` knows `dst`'s MAC without ARP: a spoofed packet is really sent
        (ARP from a spoofed address would be dropped first)."""
        self.run(src, "ip", "neigh", "replace", self.vms[dst].ip, "lladdr",
                 self.vms[dst].mac, "dev", "eth0", "nud", "permanent")

    def reset_vm(self, vm: str) -> None:
        """The VM's interface as DHCP left it: its MAC, its address, its route."""
        v = self.vms[vm]
        self.run(vm, "ip", "link", "set", "eth0", "address", v.mac)
        self.run(vm, "ip", "-4", "addr", "flush", "dev", "eth0")
        self.run(vm, "ip", "-4", "addr", "add", f"{v.ip}/{PREFIXLEN}", "dev", "eth0")
        self.run(vm, "ip", "-4", "route", "replace", "default", "via", GATEWAY)
        self.run(vm, "ip", "neigh", "flush", "dev", "eth0", check=False)


def kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(5)


def eventually(check: Callable[[], bool], within: float = APPLY_WITHIN) -> bool:
    return wait_for(check, within)


def blocked(check: Callable[[], bool], within: float = APPLY_WITHIN) -> bool:
    """`check` fails within `within` s, and once more right after (a single lost
    packet is not a closed door)."""
    return wait_for(lambda: not check(), within) and not check()


@pytest.fixture(scope="module")
def world(root: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require_rabbit()
    if vhost.available() is not None:
        unavailable(vhost.available())
    state = tmp_path_factory.mktemp("scenarios")
    with vhost.private_vhost("scenarios") as url, \
            server_on_rabbit(url, "sqlite", state, unique("scenarios")) as server:
        topo = Topology()
        env = made = None
        try:
            env = Env(topo)
            made = World(server, url, topo, env)
            made.start()
            yield made
        finally:
            if made is not None:
                made.close()
            if env is not None:
                env.cleanup()
            topo.cleanup()


@pytest.fixture
def scene(world: World) -> Iterator[World]:
    """The world for one security-group test, put back afterwards: every port in
    the default group only, port security on, no address pairs; every VM's
    interface as DHCP configured it; the test's groups and servers gone."""
    groups_before = {g["id"] for g in world.project.get("security-groups").json()
                     ["security_groups"]}
    try:
        yield world
    finally:
        world.stop_servers()
        for name in world.vms:
            world.update(name, security_groups=[world.default_sg],
                         port_security_enabled=True, allowed_address_pairs=[])
            world.reset_vm(name)
        for group in world.project.get("security-groups").json()["security_groups"]:
            if group["id"] not in groups_before:
                world.project.delete(f"security-groups/{group['id']}")


# -- scenario 1 -------------------------------------------------------------------------


def test_vms_get_their_addresses_by_dhcp_and_ping_across_hosts(world: World) -> None:
    network = world.api.get(f"networks/{world.net['id']}").json()["network"]
    assert network["provider:network_type"] == "vxlan"
    for vm in world.vms.values():
        assert vm.lease is not None, f"VM {vm.name} got no lease"
        assert vm.lease["fixed-address"] == vm.ip
        assert vm.lease["routers"] == GATEWAY
        addresses = world.run(vm.name, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
        assert re.findall(r"inet (\S+)", addresses) == [f"{vm.ip}/{PREFIXLEN}"]
    assert len({vm.ip for vm in world.vms.values()}) == 3

    # Two VMs on host 0, one on host 1: every pair, both ways.
    for src in world.vms.values():
        for dst in world.vms.values():
            if src is not dst:
                assert ping(src.namespace, dst.ip, within=15), f"{src.name} -> {dst.name}"

    def statuses() -> dict[str, str]:
        return {vm.name: world.api.get(f"ports/{vm.port['id']}").json()["port"]["status"]
                for vm in world.vms.values()}
    assert wait_for(lambda: set(statuses().values()) == {"ACTIVE"}, 30), statuses()
    for vm in world.vms.values():
        port = world.api.get(f"ports/{vm.port['id']}").json()["port"]
        assert port["binding:host_id"] == world.names[vm.host]


# -- scenario 2: security groups --------------------------------------------------------


def test_rules_added_and_removed_open_and_close_icmp_tcp_udp(scene: World) -> None:
    w = scene
    icmp_only = w.group("icmp-only", {"protocol": "icmp"})
    w.serve("b")
    w.update("b", security_groups=[icmp_only])
    # c, on the other host, was allowed everything as a fellow member of default.
    assert blocked(lambda: w.reach("c", "tcp", "b"), within=15)
    assert eventually(lambda: w.reach("c", "icmp", "b"))
    assert not w.reach("c", "udp", "b")

    for proto in ("tcp", "udp"):
        rule = w.rule(icmp_only, protocol=proto, port_range_min=PORT,
                      port_range_max=PORT)
        assert eventually(lambda p=proto: w.reach("c", p, "b")), \
            f"{proto} {PORT} still closed {APPLY_WITHIN} s after its rule was added"
        assert not w.reach("c", proto, "b", OTHER_PORT)  # only that port
        w.delete_rule(rule)
        assert blocked(lambda p=proto: w.reach("c", p, "b")), \
            f"{proto} {PORT} still open {APPLY_WITHIN} s after its rule was removed"
    assert w.reach("c", "icmp", "b")


def test_remote_group_rule_follows_membership(scene: World) -> None:
    w = scene
    members = w.group("members")
    guarded = w.group("guarded", {"protocol": "icmp", "remote_group_id": members},
                      {"protocol": "tcp", "port_range_min": PORT, "port_range_max": PORT,
                       "remote_group_id": members})
    w.serve("b")
    w.update("b", security_groups=[guarded])
    assert blocked(lambda: w.reach("c", "icmp", "b"), within=15)
    assert not w.reach("c", "tcp", "b")

    w.update("c", security_groups=[w.default_sg, members])      # c joins
    assert eventually(lambda: w.reach("c", "icmp", "b"))
    assert eventually(lambda: w.reach("c", "tcp", "b"))
    assert not w.reach("a", "icmp", "b")                         # a is no member

    w.update("c", security_groups=[w.default_sg])                # c leaves
    assert blocked(lambda: w.reach("c", "icmp", "b"))
    assert not w.reach("c", "tcp", "b")


def test_spoofed_ip_or_mac_gets_nothing_through(scene: World) -> None:
    w = scene
    open_to_all = w.group("open", {"remote_ip_prefix": "0.0.0.0/0"})
    w.update("b", security_groups=[open_to_all])
    assert eventually(lambda: w.reach("a", "icmp", "b"), within=15)
    w.pin_neighbour("a", "b")

    # a takes another address of the subnet as its own.
    w.run("a", "ip", "-4", "addr", "flush", "dev", "eth0")
    w.run("a", "ip", "-4", "addr", "add", f"{SPOOFED_IP}/{PREFIXLEN}", "dev", "eth0")
    received = w.echo_requests("b")
    assert not any(w.reach("a", "icmp", "b") for _ in range(3))
    assert w.echo_requests("b") == received, "a spoofed source address got through"
    w.reset_vm("a")
    w.pin_neighbour("a", "b")
    assert eventually(lambda: w.reach("a", "icmp", "b"))      # its own address: fine

    # a keeps its address but sends from another MAC.
    w.run("a", "ip", "link", "set", "eth0", "address", random_mac())
    received = w.echo_requests("b")
    assert not any(w.reach("a", "icmp", "b") for _ in range(3))
    assert w.echo_requests("b") == received, "a spoofed MAC got through"
    w.reset_vm("a")
    assert eventually(lambda: w.reach("a", "icmp", "b"))


def test_allowed_address_pair_lets_the_vip_through(scene: World) -> None:
    w = scene
    open_to_all = w.group("open", {"remote_ip_prefix": "0.0.0.0/0"})
    w.update("b", security_groups=[open_to_all])
    assert eventually(lambda: w.reach("a", "icmp", "b"), within=15)
    # a carries the VIP as a second address; c (a fellow member of default, which
    # lets its members in) pings it.
    w.run("a", "ip", "-4", "addr", "add", f"{VIP}/{PREFIXLEN}", "dev", "eth0")
    w.pin_neighbour("a", "b")
    received = w.echo_requests("b")
    assert not w.ping_from("a", VIP, "b")
    assert w.echo_requests("b") == received, "the VIP got out without its pair"
    assert not w.reach("c", "icmp", VIP)

    port = w.update("a", allowed_address_pairs=[{"ip_address": f"{VIP}/32"}])
    assert port["allowed_address_pairs"] == [{"ip_address": f"{VIP}/32",
                                              "mac_address": w.vms["a"].mac}]
    assert eventually(lambda: w.ping_from("a", VIP, "b"))        # from the VIP
    assert eventually(lambda: w.reach("c", "icmp", VIP))        # to the VIP

    w.update("a", allowed_address_pairs=[])
    assert blocked(lambda: w.ping_from("a", VIP, "b"))
    assert w.reach("a", "icmp", "b")                             # a's own address


def test_port_security_off_lets_everything_through(scene: World) -> None:
    w = scene
    closed = w.group("closed")                                   # egress rules only
    w.serve("b")
    w.update("b", security_groups=[closed])
    assert blocked(lambda: w.reach("c", "icmp", "b"), within=15)
    assert not w.reach("c", "tcp", "b")
    assert not w.reach("c", "udp", "b")
    assert not w.reach("a", "icmp", "b")

    port = w.update("b", security_groups=[], port_security_enabled=False)
    assert port["port_security_enabled"] is False
    for src, proto in (("c", "icmp"), ("c", "tcp"), ("c", "udp"), ("a", "icmp"),
                       ("a", "tcp")):
        assert eventually(lambda s=src, p=proto: w.reach(s, p, "b")), (src, proto)
    assert w.reach("c", "udp", "b", OTHER_PORT)
    # Without port security b may even use another MAC.
    w.run("b", "ip", "link", "set", "eth0", "address", random_mac())
    w.run("c", "ip", "neigh", "flush", "dev", "eth0")
    assert eventually(lambda: w.reach("c", "icmp", "b"))
