"""The security-group firewall on real namespaces: a host namespace with a bridge
(made by the Linux bridge agent's reconciler from a "local" network) and "VM"
namespaces on veth taps; hand-written "l2" desired states applied with
`Firewall.apply`, traffic checked with ping and tiny Python TCP/UDP servers.

Everything happens inside the test's own namespaces (Topology): the host's own
iptables and ipsets are never touched, and our chains and sets go with the
namespaces whatever happens.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from dataplane.test_linuxbridge_e2e import UNDERLAY, agent_conf, vif
from dataplane.topology import Topology, ping, ping_once, random_mac, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.firewall import arp, render
from neutrino.agent.firewall.driver import Firewall
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.agent.linuxbridge.plan import Settings, tap_name
from neutrino.agent.linuxbridge.reconciler import Reconciler
from neutrino.contract import bus as transport
from server import Api, ServerProcess

NETWORK = "f1000000-0000-4000-8000-000000000001"

SERVER_CODE = r"""
import socket, sys, threading
def tcp(port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.sendall(b"ok"); c.close()
def udp(port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                      socket.SOCK_DGRAM)
    s.bind((host, port))
    while True:
        data, addr = s.recvfrom(100); s.sendto(b"ok", addr)
host = sys.argv[1]
for port in map(int, sys.argv[2:]):
    threading.Thread(target=tcp, args=(port,), daemon=True).start()
    threading.Thread(target=udp, args=(port,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

CLIENT_CODE = r"""
import socket, sys
proto, host, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(family, kind)
s.settimeout(timeout)
try:
    if proto == "tcp":
        s.connect((host, port)); ok = s.recv(10) == b"ok"
    else:
        s.sendto(b"hi", (host, port)); ok = s.recvfrom(10)[0] == b"ok"
except OSError:
    ok = False
sys.exit(0 if ok else 1)
"""


class Lab:
    """One host namespace with a bridge, VMs on it, the firewall of the host and
    the servers the test started."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.host = topo.namespace("h0")
        self.kernel = Kernel(self.host)
        self.reconciler = Reconciler(self.kernel, Settings())
        self.firewall = Firewall(self.host)
        self.ports: dict[str, dict] = {}   # name -> port
        self.vms: dict[str, str] = {}      # name -> namespace
        self.servers: list[subprocess.Popen] = []

    def vm(self, name: str, ip: str, groups: tuple[str, ...] = (), **extra: object
           ) -> dict:
        port_id = str(uuid.uuid4())
        mac = random_mac()
        self.vms[name] = self.topo.vm(self.host, port_id, mac, f"{ip}/24")
        self.ports[name] = {
            "id": port_id, "device": tap_name(port_id), "network_id": NETWORK,
            "mac_address": mac, "admin_state_up": True, "status": "DOWN",
            "device_owner": "compute:nova", "revision_number": 1,
            "fixed_ips": [{"subnet_id": "s", "ip_address": ip}],
            "allowed_address_pairs": [], "port_security_enabled": True,
            "security_groups": list(groups), **extra}
        return self.ports[name]

    def desired(self, groups: dict[str, dict], remote_groups: dict | None = None,
                address_groups: dict | None = None,
                ports: list[str] | None = None) -> dict:
        names = list(self.ports) if ports is None else ports
        return {"host": self.host, "ports": [self.ports[n] for n in names],
                "networks": [{"id": NETWORK, "revision_number": 1, "mtu": 1500,
                              "network_type": "local", "physical_network": None,
                              "segmentation_id": None, "peers": []}],
                "security_groups": {gid: {"stateful": g.get("stateful", True),
                                          "revision_number": 1, "rules": g["rules"]}
                                    for gid, g in groups.items()},
                "remote_groups": remote_groups or {},
                "address_groups": address_groups or {}}

    def apply(self, desired: dict):
        """What the agent does on every sync: L2 first, then the firewall."""
        result = self.reconciler.reconcile(desired)
        assert not result.failed, result.failed
        return self.firewall.apply(desired)

    def serve(self, vm: str, ip: str, *ports: int) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.vms[vm], sys.executable, "-c", SERVER_CODE, ip,
             *map(str, ports)], stdout=subprocess.PIPE, text=True)
        self.servers.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    def reach(self, vm: str, proto: str, ip: str, port: int, timeout: float = 1.0
              ) -> bool:
        result = subprocess.run(
            ["ip", "netns", "exec", self.vms[vm], sys.executable, "-c", CLIENT_CODE,
             proto, ip, str(port), str(timeout)], capture_output=True, timeout=30,
            check=False)
        return result.returncode == 0

    def reaches(self, vm: str, proto: str, ip: str, port: int, within: float = 8.0
                ) -> bool:
        """Reachable at some point within `within` s (a fresh path learns MACs)."""
        deadline = time.monotonic() + within
        while not self.reach(vm, proto, ip, port):
            if time.monotonic() > deadline:
                return False
        return True

    def ours(self) -> tuple[str, str, str]:
        """Our chains (iptables and ip6tables, rules as saved) and our sets."""
        def chains(ipv6: bool) -> str:
            text = privileged.iptables_save(ipv6=ipv6, namespace=self.host)
            return "\n".join(line for line in text.splitlines()
                             if "neutrino-" in line and not line.startswith("#"))

        sets = privileged.ipset_save(self.host)
        ours = sorted(line for line in sets.splitlines()
                      if render.is_our_set(line.split()[1]))
        return chains(False), chains(True), "\n".join(ours)

    def close(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait(5)
        self.kernel.close()


@pytest.fixture
def lab(topo: Topology) -> Iterator[Lab]:
    lab = Lab(topo)
    try:
        yield lab
    finally:
        lab.close()


def rule(direction: str = "ingress", protocol: str | None = None,
         ports: tuple[int, int] | None = None, ethertype: str = "IPv4",
         **extra: object) -> dict:
    return {"id": str(uuid.uuid4()), "direction": direction, "ethertype": ethertype,
            "protocol": protocol,
            "port_range_min": ports[0] if ports else None,
            "port_range_max": ports[1] if ports else None,
            "remote_ip_prefix": None, "remote_group_id": None,
            "remote_address_group_id": None, **extra}


EGRESS_ANY = [rule("egress"), rule("egress", ethertype="IPv6")]
CLIENT = {"rules": EGRESS_ANY}


def test_rules_allow_listed_traffic_and_drop_the_rest(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    server = {"rules": [*EGRESS_ANY, rule(protocol="icmp"),
                        rule(protocol="tcp", ports=(2222, 2222),
                             remote_ip_prefix="0.0.0.0/0"),
                        rule(protocol="udp", ports=(5000, 5000))]}
    lab.apply(lab.desired({"client": CLIENT, "server": server}))
    lab.serve("b", "10.0.0.2", 2222, 2223, 5000, 5001)

    assert ping(lab.vms["a"], "10.0.0.2")
    assert lab.reaches("a", "tcp", "10.0.0.2", 2222)
    assert not lab.reach("a", "tcp", "10.0.0.2", 2223)
    assert lab.reaches("a", "udp", "10.0.0.2", 5000)
    assert not lab.reach("a", "udp", "10.0.0.2", 5001)
    # a has no ingress rule: nothing new gets in, replies to its own traffic do.
    assert not ping_once(lab.vms["b"], "10.0.0.1")

    # Removing a rule takes effect at the next apply; the others stay.
    server["rules"] = [r for r in server["rules"] if r["protocol"] != "icmp"]
    result = lab.apply(lab.desired({"client": CLIENT, "server": server}))
    assert result.chains_written == 1  # only b's ingress chain changed
    assert not ping_once(lab.vms["a"], "10.0.0.2")
    assert lab.reaches("a", "tcp", "10.0.0.2", 2222)


ECHO_CODE = r"""
import socket, sys, threading
def echo(c):
    while data := c.recv(100):
        c.sendall(data)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
"""

SESSION_CODE = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=8)
s.settimeout(2)
print("connected", flush=True)
for line in sys.stdin:
    try:
        s.sendall(line.encode()); ok = s.recv(100) == line.encode()
    except OSError:
        ok = False
    print("ok" if ok else "lost", flush=True)
"""


class Session:
    """One TCP connection held open from a VM: each `exchange` sends a line on it
    and says whether it came back (within 2 s)."""

    def __init__(self, lab: Lab, vm: str, ip: str, port: int) -> None:
        self.proc = _start(lab, vm, SESSION_CODE, ip, str(port), stdin=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "connected\n"

    def exchange(self) -> bool:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("ping\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline() == "ok\n"


def _start(lab: Lab, vm: str, code: str, *args: str, stdin: bool = False
           ) -> subprocess.Popen:
    """A Python process in a VM; killed by pid when the lab closes."""
    proc = subprocess.Popen(["ip", "netns", "exec", lab.vms[vm], sys.executable, "-c",
                             code, *args], stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.PIPE if stdin else None)
    lab.servers.append(proc)
    return proc


def test_removed_rule_cuts_the_connections_it_allowed(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    server = {"rules": [*EGRESS_ANY, rule(protocol="tcp", ports=(2222, 2222)),
                        rule(protocol="tcp", ports=(2223, 2223))]}
    groups = {"client": CLIENT, "server": server}
    assert lab.apply(lab.desired(groups)).conntrack_deleted == 0
    for port in (2222, 2223):
        echo = _start(lab, "b", ECHO_CODE, "10.0.0.2", str(port))
        assert echo.stdout is not None and echo.stdout.readline() == "ready\n"
    cut, kept = Session(lab, "a", "10.0.0.2", 2222), Session(lab, "a", "10.0.0.2", 2223)
    assert cut.exchange() and kept.exchange()

    # The rule for 2222 goes: its open connection is cut (the next packet is no
    # longer ESTABLISHED and no rule lets it in), the one to 2223 lives on.
    server["rules"] = [r for r in server["rules"] if r["port_range_min"] != 2222]
    result = lab.apply(lab.desired(groups))
    assert result.conntrack_deleted == 1
    assert not cut.exchange()
    assert kept.exchange()
    assert lab.apply(lab.desired(groups)).conntrack_deleted == 0  # nothing changed


def test_stateless_group_needs_rules_both_ways(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    server = {"stateful": False, "rules": [rule(protocol="tcp", ports=(2222, 2222))]}
    # The client is stateless too, so replies need an ingress rule there as well.
    client = {"stateful": False, "rules": [*EGRESS_ANY, rule(protocol="tcp")]}
    lab.apply(lab.desired({"client": client, "server": server}))
    lab.serve("b", "10.0.0.2", 2222)
    # The SYN gets in, the SYN-ACK may not leave b: no egress rule.
    assert not lab.reach("a", "tcp", "10.0.0.2", 2222, timeout=2)
    server["rules"].append(rule("egress", protocol="tcp"))
    lab.apply(lab.desired({"client": client, "server": server}))
    assert lab.reaches("a", "tcp", "10.0.0.2", 2222)


def test_remote_group_follows_membership(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    lab.vm("c", "10.0.0.3", ("client",))
    server = {"rules": [*EGRESS_ANY, rule(protocol="icmp", remote_group_id="members")]}
    groups = {"client": CLIENT, "server": server}
    lab.apply(lab.desired(groups, remote_groups={"members": {"IPv4": ["10.0.0.1"]}}))
    assert ping(lab.vms["a"], "10.0.0.2")
    assert not ping_once(lab.vms["c"], "10.0.0.2")

    result = lab.apply(lab.desired(groups,
                                   remote_groups={"members": {"IPv4": ["10.0.0.3"]}}))
    # Membership is the set's content: no rule changes, one member in, one out.
    assert (result.chains_written, result.sets_written) == (0, 0)
    assert (result.members_added, result.members_deleted) == (1, 1)
    assert ping(lab.vms["c"], "10.0.0.2")
    assert not ping_once(lab.vms["a"], "10.0.0.2")


def test_address_group(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    server = {"rules": [*EGRESS_ANY, rule(protocol="tcp", remote_address_group_id="ag")]}
    groups = {"client": CLIENT, "server": server}
    lab.apply(lab.desired(groups, address_groups={"ag": {"IPv4": ["10.0.0.0/30"]}}))
    lab.serve("b", "10.0.0.2", 2222)
    assert lab.reaches("a", "tcp", "10.0.0.2", 2222)
    lab.apply(lab.desired(groups, address_groups={"ag": {"IPv4": ["192.0.2.0/24"]}}))
    assert not lab.reach("a", "tcp", "10.0.0.2", 2222)


def test_spoofed_source_ip_or_mac_dropped_address_pair_allowed(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    groups = {"client": CLIENT, "server": {"rules": [rule(protocol="icmp")]}}
    lab.apply(lab.desired(groups))
    vm_a = lab.vms["a"]
    with Kernel(vm_a) as guest:
        guest.add_address("eth0", "10.0.0.100", 24)   # the VIP a will carry
    assert ping(vm_a, "10.0.0.2")
    assert not _ping_from(vm_a, "10.0.0.100", "10.0.0.2")

    # The VIP as an allowed address pair: now a may send from it.
    lab.ports["a"]["allowed_address_pairs"] = [{"ip_address": "10.0.0.100",
                                                "mac_address": None}]
    lab.apply(lab.desired(groups))
    assert _ping_from(vm_a, "10.0.0.100", "10.0.0.2", within=8)

    # Another MAC on a's interface: spoofed, dropped (its IP is right).
    with Kernel(vm_a) as guest:
        guest.set_link("eth0", mac=random_mac())
    assert not ping_once(vm_a, "10.0.0.2")


def test_port_security_off_lets_everything_through(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", (), port_security_enabled=False)
    lab.apply(lab.desired({"client": CLIENT}))
    # A host whose FORWARD policy is DROP (as Docker sets it) still forwards what
    # the firewall allows, and the traffic of ports without port security.
    privileged.execute(["iptables", "-P", "FORWARD", "DROP"], lab.host)
    lab.serve("b", "10.0.0.2", 7001)
    assert ping(lab.vms["a"], "10.0.0.2")
    assert lab.reaches("a", "tcp", "10.0.0.2", 7001)
    assert lab.reaches("a", "udp", "10.0.0.2", 7001)
    # a is still filtered: b cannot open anything towards it.
    assert not ping_once(lab.vms["b"], "10.0.0.1")
    tables = privileged.iptables_save(namespace=lab.host)
    assert render.port_chain(render.INGRESS_PREFIX, lab.ports["b"]["id"]) not in tables


def test_ipv6_neighbour_discovery_and_rules(lab: Lab) -> None:
    a = lab.vm("a", "10.0.0.1", ("client",))
    b = lab.vm("b", "10.0.0.2", ("server",))
    for name, port, address in (("a", a, "2001:db8::1"), ("b", b, "2001:db8::2")):
        port["fixed_ips"].append({"subnet_id": "s6", "ip_address": address})
        subprocess.run(["ip", "netns", "exec", lab.vms[name], "ip", "-6", "addr", "add",
                        f"{address}/64", "dev", "eth0", "nodad"], check=True)
    server = {"rules": [*EGRESS_ANY, rule(protocol="icmp", ethertype="IPv6")]}
    groups = {"client": CLIENT, "server": server}
    lab.apply(lab.desired(groups))
    # Neighbour discovery gets through (the groups allow no ND), and ICMPv6 echo.
    assert ping(lab.vms["a"], "2001:db8::2")
    server["rules"] = EGRESS_ANY
    lab.apply(lab.desired(groups))
    assert not ping_once(lab.vms["a"], "2001:db8::2")


def test_reapply_is_idempotent_and_stale_ports_are_removed(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    server = {"rules": [*EGRESS_ANY, rule(protocol="tcp", remote_group_id="client"),
                        rule(protocol="udp", ethertype="IPv6", remote_group_id="client"),
                        rule(protocol="vrrp"), rule(protocol="47"),
                        rule(protocol="icmp", ports=(8, 0)),
                        rule(protocol="udp", remote_address_group_id="ag")]}
    groups = {"client": CLIENT, "server": server}
    remote = {"client": {"IPv4": ["10.0.0.1", "10.9.0.0/16"], "IPv6": ["2001:db8::1"]}}
    address = {"ag": {"IPv4": ["192.0.2.0/24"], "IPv6": []}}
    first = lab.apply(lab.desired(groups, remote, address))
    assert first.changed and first.sets_written == 3
    before = lab.ours()
    for _ in range(2):
        again = lab.apply(lab.desired(groups, remote, address))
        assert not again.changed, again
        assert lab.ours() == before
    v4, _, sets = before
    for line in v4.splitlines():  # no duplicate rule anywhere
        assert line.startswith(":") or v4.splitlines().count(line) == 1
    assert "NIPv4client" in sets and "NIPv6client" in sets and "NAGv4ag" in sets

    # b's port goes away (and with it the only rules using the sets).
    b_id = lab.ports["b"]["id"]
    result = lab.apply(lab.desired(groups, remote, address, ports=["a"]))
    # Its three chains and its group's two (no other port is in "server").
    assert result.chains_deleted == (3 + 2) * 2 and result.sets_deleted == 3
    v4, v6, sets = lab.ours()
    for text in (v4, v6):
        assert b_id[:10] not in text
        assert render.port_chain(render.INGRESS_PREFIX, lab.ports["a"]["id"]) in text
    assert sets == ""

    # Nothing filtered any more; then everything of ours removed.
    lab.apply(lab.desired({}, ports=[]))
    lab.firewall.remove_all()
    assert lab.ours() == ("", "", "")


# -- ARP and MAC anti-spoofing (nft bridge table) ---------------------------------------

ARP_CODE = r"""
import socket, sys
mac = lambda text: bytes.fromhex(text.replace(":", ""))
src = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for spec in sys.argv[2:]:  # sender MAC,sender IP,target IP: one ARP request each
    sha, spa, tpa = spec.split(",")
    s.send(b"\xff" * 6 + mac(src) + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01"
           + mac(sha) + socket.inet_aton(spa) + b"\x00" * 6 + socket.inet_aton(tpa))
"""


def _send_arp(namespace: str, source_mac: str, *requests: tuple[str, str, str]) -> None:
    """ARP requests (sender MAC, sender IP, target IP) sent in order from the VM's
    eth0 in frames from `source_mac`: a receiver that owns the target IP learns
    sender IP -> sender MAC, which is how ARP caches get poisoned."""
    subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", ARP_CODE,
                    source_mac, *(",".join(r) for r in requests)], check=True, timeout=15)


def _neighbour(namespace: str, address: str) -> str | None:
    """The MAC `namespace` holds for `address` (None: no usable entry)."""
    out = subprocess.run(["ip", "netns", "exec", namespace, "ip", "neigh", "show",
                          address, "dev", "eth0"], capture_output=True, text=True,
                         check=True, timeout=15).stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else None


def test_arp_spoofing_dropped_unless_port_security_is_off(lab: Lab) -> None:
    a = lab.vm("a", "10.0.0.1", allowed_address_pairs=[
        {"ip_address": "10.0.0.50", "mac_address": None}])
    lab.vm("b", "10.0.0.2")
    lab.vm("c", "10.0.0.3")
    assert lab.apply(lab.desired({})).arp_written
    mac, forged = a["mac_address"], random_mac()
    _send_arp(lab.vms["a"], mac,
              (forged, "10.0.0.1", "10.0.0.3"),   # a's own IP, another sender MAC
              (mac, "10.0.0.2", "10.0.0.3"),      # b's IP: poisoning
              (mac, "10.0.0.50", "10.0.0.3"))     # an allowed address pair: fine
    # Frames of one sender arrive in order: once the last is learned, the others
    # would have been too.
    assert wait_for(lambda: _neighbour(lab.vms["c"], "10.0.0.50") == mac, within=5)
    assert _neighbour(lab.vms["c"], "10.0.0.1") != forged
    assert _neighbour(lab.vms["c"], "10.0.0.2") is None

    a["port_security_enabled"] = False
    lab.apply(lab.desired({}))
    _send_arp(lab.vms["a"], mac, (mac, "10.0.0.2", "10.0.0.3"))
    assert wait_for(lambda: _neighbour(lab.vms["c"], "10.0.0.2") == mac, within=5)


def test_arp_table_rewritten_only_on_change_and_removed(lab: Lab) -> None:
    a = lab.vm("a", "10.0.0.1")
    b = lab.vm("b", "10.0.0.2", port_security_enabled=False)

    def table() -> str | None:
        if privileged.nft_table_comment(arp.FAMILY, arp.TABLE, lab.host) is None:
            return None
        return privileged.execute(["nft", "list", "table", arp.FAMILY, arp.TABLE],
                                  lab.host)

    assert lab.apply(lab.desired({})).arp_written
    again = lab.apply(lab.desired({}))
    assert not again.changed, again
    text = table()
    assert text is not None and a["id"] in text and b["id"] not in text

    a["fixed_ips"][0]["ip_address"] = "10.0.0.9"
    result = lab.apply(lab.desired({}))
    assert result.arp_written
    text = table()
    assert text is not None and "10.0.0.9" in text and "10.0.0.1" not in text

    result = lab.apply(lab.desired({}, ports=["b"]))  # no filtered port left
    assert result.arp_deleted and table() is None
    lab.apply(lab.desired({}))
    lab.firewall.remove_all()
    assert table() is None


def _ping_from(namespace: str, source: str, address: str, within: float = 0) -> bool:
    deadline = time.monotonic() + within
    while True:
        result = subprocess.run(["ip", "netns", "exec", namespace, "ping", "-c", "1",
                                 "-W", "1", "-I", source, address],
                                capture_output=True, timeout=15, check=False)
        if result.returncode == 0:
            return True
        if time.monotonic() >= deadline:
            return False


# -- end to end: API changes reach the firewall ------------------------------------------

def test_security_group_changes_through_the_api_reach_the_dataplane(
        server: ServerProcess, topo: Topology) -> None:
    """A real server on RabbitMQ and a Linux bridge agent in a host namespace:
    rules and port security changed through the API open and close traffic."""
    api = Api(server.url)
    (host,) = topo.hosts(UNDERLAY[0])
    name = f"{topo.prefix}compute-0"
    conf = agent_conf(name, UNDERLAY[0])
    rpc = transport.get_transport(conf)
    agent = LinuxBridgeAgent(conf, transport=rpc, namespace=host,
                             server=server.rpc_name).start()
    try:
        assert agent.firewall is not None  # on by default ([securitygroup])
        net = api.network(name="fw-e2e")
        api.subnet(net["id"], "203.0.113.0/24")
        closed = _created(api.post("security-groups", {"security_group": {
            "name": "closed"}}), "security_group")  # egress rules only
        client = api.port(net["id"])                           # the default group
        target = api.port(net["id"], security_groups=[closed["id"]])
        vms = []
        for port in (client, target):
            vm = f"{topo.prefix}vm-{port['id'][:6]}"
            topo.namespaces.append(vm)
            vif("plug", port["id"], "--url", server.url, "--host", name,
                "--host-netns", host, "--netns", vm)
            vms.append(vm)
        target_ip = target["fixed_ips"][0]["ip_address"]
        client_ip = client["fixed_ips"][0]["ip_address"]
        # The agent has plugged both ports: the target answers nobody yet, but
        # the client may reach it once a rule allows it.
        assert wait_for(lambda: agent.devices == 2, within=30)
        assert not ping(vms[0], target_ip, within=3)

        icmp = _created(api.post("security-group-rules", {"security_group_rule": {
            "security_group_id": closed["id"], "direction": "ingress",
            "ethertype": "IPv4", "protocol": "icmp"}}), "security_group_rule")
        assert ping(vms[0], target_ip, within=15)
        # The default group lets in only its own members: the target is not one.
        assert not ping_once(vms[1], client_ip)

        assert api.delete(f"security-group-rules/{icmp['id']}").status_code == 204
        assert wait_for(lambda: not ping_once(vms[0], target_ip), within=15)

        response = api.put(f"ports/{target['id']}", {"port": {
            "security_groups": [], "port_security_enabled": False}})
        assert response.status_code == 200, response.text
        assert ping(vms[0], target_ip, within=15)
    finally:
        agent.stop()
        rpc.cleanup()


def test_security_group_log_writes_denied_and_allowed_pings(
        server: ServerProcess, topo: Topology, tmp_path) -> None:
    """Security group logging end to end: a log (event ALL) on a group makes the
    agent's firewall log its member's packets to the NFLOG group, and the agent's
    reader writes upstream's line to local_output_log_base: a denied ping as DROP,
    once a rule allows it as ACCEPT, each with the port's and the log's ids."""
    api = Api(server.url)
    (host,) = topo.hosts(UNDERLAY[0])
    name = f"{topo.prefix}compute-0"
    conf = agent_conf(name, UNDERLAY[0])
    log_file = tmp_path / "security-group.log"
    conf.set_override("local_output_log_base", str(log_file), group="network_log")
    rpc = transport.get_transport(conf)
    agent = LinuxBridgeAgent(conf, transport=rpc, namespace=host,
                             server=server.rpc_name).start()
    try:
        net = api.network(name="log-e2e")
        cidr = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.0/24"
        api.subnet(net["id"], cidr)
        closed = _created(api.post("security-groups", {"security_group": {
            "name": "logged"}}), "security_group")  # egress rules only
        client = api.port(net["id"])
        target = api.port(net["id"], security_groups=[closed["id"]])
        vms = []
        for port in (client, target):
            vm = f"{topo.prefix}vm-{port['id'][:6]}"
            topo.namespaces.append(vm)
            vif("plug", port["id"], "--url", server.url, "--host", name,
                "--host-netns", host, "--netns", vm)
            vms.append(vm)
        target_ip = target["fixed_ips"][0]["ip_address"]
        client_ip = client["fixed_ips"][0]["ip_address"]
        assert wait_for(lambda: agent.devices == 2, within=30)

        log = _created(api.post("log/logs", {"log": {
            "resource_type": "security_group", "resource_id": closed["id"]}}), "log")
        head = (f"project_id={log['project_id']}, log_resource_ids=['{log['id']}'], "
                f"port={target['id']}, pkt=ipv4 src={client_ip} dst={target_ip} "
                "proto=icmp type=8 code=0")

        def logged(action: str) -> bool:
            text = log_file.read_text() if log_file.exists() else ""
            return f"action={action}, {head}" in text
        # The log reaches the agent (network_update), which adds the log rules and
        # starts reading: the denied pings are written.
        assert wait_for(lambda: not ping_once(vms[0], target_ip) and logged("DROP"),
                        within=20)
        _created(api.post("security-group-rules", {"security_group_rule": {
            "security_group_id": closed["id"], "direction": "ingress",
            "ethertype": "IPv4", "protocol": "icmp"}}), "security_group_rule")
        assert ping(vms[0], target_ip, within=15)
        assert wait_for(lambda: logged("ACCEPT"), within=5)
        lines = log_file.read_text().splitlines()
        # Lines start with a timestamp; the client's port is covered by no log.
        assert all(line[:4].isdigit() and " action=" in line for line in lines)
        assert not any(client["id"] in line for line in lines)
    finally:
        agent.stop()
        rpc.cleanup()


def _created(response, resource: str) -> dict:
    assert response.status_code == 201, response.text
    return response.json()[resource]


def test_any_rendered_state_loads_and_reapplies_without_changes(topo: Topology) -> None:
    """Random desired states (the unit tests' strategy): the kernel accepts every
    rule, and reads back exactly what was rendered, so a second apply writes
    nothing; the next state replaces the previous one completely."""
    from hypothesis import HealthCheck, given, settings

    from unit.agent.test_firewall_render import states

    host = topo.namespace("h0")
    firewall = Firewall(host)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(states())
    def check(desired: dict) -> None:
        firewall.apply(desired)
        again = firewall.apply(desired)
        assert not again.changed, (again, _differences(host, desired))
        ruleset = render.render(desired)
        for version in (4, 6):
            text = privileged.iptables_save(ipv6=version == 6, namespace=host)
            chains = {line[1:].split()[0] for line in text.splitlines()
                      if line.startswith(":neutrino-")}
            assert chains == set(ruleset.chains[version])
        sets = privileged.ipset_save(host)
        assert {line.split()[1] for line in sets.splitlines()
                if line.startswith("create ")} == set(ruleset.ipsets)
        table = arp.render(desired)
        assert privileged.nft_table_comment(arp.FAMILY, arp.TABLE, host) == (
            table.comment if table else None)

    check()


def _differences(host: str, desired: dict) -> list[tuple[str, list[str], list[str]]]:
    """(chain, kernel's rules, rendered rules) of the chains that differ."""
    from neutrino.agent.firewall.driver import parse_iptables_save

    out = []
    ruleset = render.render(desired)
    for version in (4, 6):
        have = parse_iptables_save(privileged.iptables_save(ipv6=version == 6,
                                                            namespace=host))
        for name, rules in ruleset.chains[version].items():
            want = [render.canonical(r) for r in rules]
            if have.chains.get(name) != want:
                out.append((name, have.chains.get(name) or [], want))
    return out
