"""The OpenFlow firewall (``firewall_driver = openvswitch``) on a real Open vSwitch:
a private ovsdb-server and ovs-vswitchd (userspace datapath) in a host namespace,
br-int with "VM" namespaces on veth taps as access ports of local VLAN 5, and the
agent's side of the seam installed here by hand (tables 0, 60 and 94). The
behaviours are test_firewall.py's, for the Linux bridge firewall: the same rules
give the same traffic.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplane import ovs_switch
from dataplane.ovs_switch import Switch
from dataplane.test_firewall import (
    CLIENT_CODE,
    ECHO_CODE,
    EGRESS_ANY,
    SERVER_CODE,
    Session,
    _neighbour,
    _ping_from,
    _send_arp,
    _start,
    rule,
)
from dataplane.topology import Topology, ping, ping_once, random_mac, wait_for
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.linuxbridge.plan import tap_name
from neutrino.agent.ovs import plan
from neutrino.agent.ovs.firewall import flows
from neutrino.agent.ovs.firewall.driver import OvsFirewall
from neutrino.agent.ovs.firewall.flows import Binding

NETWORK = "f2000000-0000-4000-8000-000000000001"
VLAN = 5
BRIDGE = "br-int"
AGENT_COOKIE = "0xa6e7"   # the flows standing in for the agent's


class Lab:
    """One host namespace with a private switch, VMs on br-int, the firewall."""

    def __init__(self, topo: Topology, root: Path) -> None:
        self.topo = topo
        self.host = topo.namespace("h0")
        self.switch = Switch(root, self.host)
        self.ports: dict[str, dict] = {}
        self.vms: dict[str, str] = {}
        self.bindings: dict[str, Binding] = {}
        self.servers: list[subprocess.Popen] = []
        self.firewall = self.new_firewall()

    def new_firewall(self, settle: bool = True) -> OvsFirewall:
        return OvsFirewall(self.switch.target(BRIDGE),
                           vswitchd=str(self.switch.vswitchd_ctl), settle=settle)

    def start(self) -> Lab:
        self.switch.start()
        self.switch.vsctl("add-br", BRIDGE, "--", "set", "Bridge", BRIDGE,
                          "datapath_type=netdev", "fail_mode=secure")
        self.agent_flows(f"table=0,priority=0 actions=resubmit(,{flows.DISPATCH})",
                         f"table={flows.DISPATCH},priority=1 "
                         f"actions=resubmit(,{flows.NORMAL})",
                         f"table={flows.NORMAL},priority=1 actions=NORMAL")
        return self

    def agent_flows(self, *lines: str) -> None:
        text = "".join(f"cookie={AGENT_COOKIE},{line}\n" for line in lines)
        self.switch.ofctl("add-flows", self.switch.target(BRIDGE), "-", stdin=text)

    def vm(self, name: str, ip: str, groups: tuple[str, ...] = (), **extra: object
           ) -> dict:
        port_id, mac = str(uuid.uuid4()), random_mac()
        self.vms[name] = self.topo.vm(self.host, port_id, mac, f"{ip}/24", mtu=1500)
        ovs_switch.checksum_in_software(self.vms[name])
        tap, ofport = tap_name(port_id), 10 + len(self.ports)
        self.switch.vsctl("add-port", BRIDGE, tap, f"tag={VLAN}", "--", "set",
                          "Interface", tap, f"ofport_request={ofport}")
        self.bindings[port_id] = Binding(ofport, VLAN)
        self.ports[name] = {
            "id": port_id, "device": tap, "network_id": NETWORK, "mac_address": mac,
            "admin_state_up": True, "status": "DOWN", "device_owner": "compute:nova",
            "revision_number": 1, "fixed_ips": [{"subnet_id": "s", "ip_address": ip}],
            "allowed_address_pairs": [], "port_security_enabled": True,
            "security_groups": list(groups), **extra}
        # The agent's table 60 (the seam): exactly the agent's flows.
        self.agent_flows(*(f"table=60,priority={priority},{match} actions={actions}"
                           for priority, match, actions in plan.transient_flows(
                               ofport, VLAN, flows.port_macs(self.ports[name]))))
        return self.ports[name]

    def remote_vm(self, name: str, ip: str) -> None:
        """A VM of "another host": an access port of VLAN 5 on br-phys, patched to
        br-int, so its frames reach br-int tagged, as from br-tun or br-ex, and
        take the agent's table 60 `dl_vlan,dl_dst` path into the firewall."""
        self.switch.vsctl(
            "add-br", "br-phys", "--", "set", "Bridge", "br-phys", "datapath_type=netdev",
            "--", "add-port", BRIDGE, "int-phys", "--", "set", "Interface", "int-phys",
            "type=patch", "options:peer=phys-int", "--", "add-port", "br-phys",
            "phys-int", "--", "set", "Interface", "phys-int", "type=patch",
            "options:peer=int-phys")
        port_id = str(uuid.uuid4())
        self.vms[name] = self.topo.vm(self.host, port_id, random_mac(), f"{ip}/24",
                                      mtu=1500)
        ovs_switch.checksum_in_software(self.vms[name])
        self.switch.vsctl("add-port", "br-phys", tap_name(port_id), f"tag={VLAN}")

    def desired(self, groups: dict[str, dict], remote_groups: dict | None = None,
                address_groups: dict | None = None, ports: list[str] | None = None
                ) -> dict:
        names = list(self.ports) if ports is None else ports
        return {"host": self.host, "ports": [self.ports[n] for n in names],
                "networks": [{"id": NETWORK, "revision_number": 1, "mtu": 1500,
                              "network_type": "vlan", "physical_network": "physnet",
                              "segmentation_id": 100, "peers": []}],
                "security_groups": {gid: {"stateful": g.get("stateful", True),
                                          "revision_number": 1, "rules": g["rules"]}
                                    for gid, g in groups.items()},
                "remote_groups": remote_groups or {},
                "address_groups": address_groups or {}}

    def apply(self, desired: dict):
        return self.firewall.apply(desired, self.bindings)

    def serve(self, vm: str, ip: str, *ports: int) -> None:
        proc = _start(self, vm, SERVER_CODE, ip, *map(str, ports))
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
        deadline = time.monotonic() + within
        while not self.reach(vm, proto, ip, port):
            if time.monotonic() > deadline:
                return False
        return True

    def ours(self) -> str:
        """Our flows as the switch holds them (statistics left out)."""
        text = self.switch.ofctl("--no-stats", "dump-flows", self.switch.target(BRIDGE),
                                 f"cookie=0x{flows.COOKIE_BASE:x}/0x{flows.COOKIE_MASK:x}")
        return "\n".join(sorted(line for line in text.splitlines() if "cookie=" in line))

    def close(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait(5)
        self.switch.stop()


@pytest.fixture
def lab(topo: Topology, tmp_path: Path) -> Iterator[Lab]:
    if (reason := ovs_switch.available()) is not None:
        from backends import unavailable
        unavailable(reason)
    lab = Lab(topo, tmp_path / "ovs")
    try:
        yield lab.start()
    finally:
        lab.close()


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

    # Removing a rule rewrites b's flows only; the other rules stay.
    server["rules"] = [r for r in server["rules"] if r["protocol"] != "icmp"]
    result = lab.apply(lab.desired({"client": CLIENT, "server": server}))
    assert (result.cookies_written, result.cookies_deleted) == (1, 0)
    assert not ping_once(lab.vms["a"], "10.0.0.2")
    assert lab.reaches("a", "tcp", "10.0.0.2", 2222)


def test_removed_rule_cuts_the_connections_it_allowed(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    server = {"rules": [*EGRESS_ANY, rule(protocol="tcp", ports=(2222, 2222)),
                        rule(protocol="tcp", ports=(2223, 2223))]}
    groups = {"client": CLIENT, "server": server}
    lab.apply(lab.desired(groups))
    for port in (2222, 2223):
        echo = _start(lab, "b", ECHO_CODE, "10.0.0.2", str(port))
        assert echo.stdout is not None and echo.stdout.readline() == "ready\n"
    cut = Session(lab, "a", "10.0.0.2", 2222)  # type: ignore[arg-type]
    kept = Session(lab, "a", "10.0.0.2", 2223)  # type: ignore[arg-type]
    assert cut.exchange() and kept.exchange()

    # The rule for 2222 goes: the connection's next packet finds no rule, its
    # conntrack entry is marked and dropped; the one to 2223 lives on.
    server["rules"] = [r for r in server["rules"] if r["port_range_min"] != 2222]
    lab.apply(lab.desired(groups))
    assert not cut.exchange()
    assert kept.exchange()
    assert not lab.apply(lab.desired(groups)).changed


PROBE_CODE = r"""
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
while True:
    s = socket.socket(); s.settimeout(0.02)
    try:
        s.connect((host, port)); break
    except OSError:
        s.close(); time.sleep(0.005)
print(time.time(), flush=True)
"""


def test_rule_change_takes_effect_within_a_second(lab: Lab) -> None:
    """From the apply of a new rule to the first connection it lets through (a
    client retrying every 5 ms; the figure in docs/agents.md); the rule's removal
    then cuts the connection."""
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    server = {"rules": list(EGRESS_ANY)}
    groups = {"client": CLIENT, "server": server}
    lab.apply(lab.desired(groups))
    echo = _start(lab, "b", ECHO_CODE, "10.0.0.2", "2222")
    assert echo.stdout is not None and echo.stdout.readline() == "ready\n"
    probe = _start(lab, "a", PROBE_CODE, "10.0.0.2", "2222")
    assert probe.stdout is not None and probe.stdout.readline() == "ready\n"
    server["rules"] = [*EGRESS_ANY, rule(protocol="tcp", ports=(2222, 2222))]
    start = time.time()
    lab.apply(lab.desired(groups))
    opened = float(probe.stdout.readline()) - start
    session = Session(lab, "a", "10.0.0.2", 2222)  # type: ignore[arg-type]
    assert session.exchange()
    server["rules"] = list(EGRESS_ANY)
    lab.apply(lab.desired(groups))
    assert not session.exchange()
    print(f"\nrule added -> in effect {opened * 1000:.0f} ms")
    assert opened < 1.0


UDP_SESSION_CODE = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 40000)); s.settimeout(1)
print("ready", flush=True)
for line in sys.stdin:
    s.sendto(b"hi", (sys.argv[1], int(sys.argv[2])))
    try:
        ok = s.recvfrom(10)[0] == b"ok"
    except OSError:
        ok = False
    print("ok" if ok else "lost", flush=True)
"""


def test_connection_cut_by_a_removed_rule_recovers_when_it_returns(lab: Lab) -> None:
    """One UDP flow (fixed ports: one conntrack entry throughout, as a ping that
    keeps its id): cut when its rule goes, let through again when it is back."""
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    allow = rule(protocol="udp", ports=(5000, 5000))
    server = {"rules": [*EGRESS_ANY, allow]}
    groups = {"client": CLIENT, "server": server}
    lab.apply(lab.desired(groups))
    lab.serve("b", "10.0.0.2", 5000)
    proc = _start(lab, "a", UDP_SESSION_CODE, "10.0.0.2", "5000", stdin=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"

    def exchange() -> bool:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("x\n")
        proc.stdin.flush()
        return proc.stdout.readline() == "ok\n"

    assert wait_for(exchange, within=8)
    server["rules"] = list(EGRESS_ANY)
    lab.apply(lab.desired(groups))
    assert not exchange()
    server["rules"] = [*EGRESS_ANY, allow]
    lab.apply(lab.desired(groups))
    assert exchange()


def test_stateless_group_needs_rules_both_ways(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    server = {"stateful": False, "rules": [rule(protocol="tcp", ports=(2222, 2222))]}
    client = {"stateful": False, "rules": [*EGRESS_ANY, rule(protocol="tcp")]}
    lab.apply(lab.desired({"client": client, "server": server}))
    lab.serve("b", "10.0.0.2", 2222)
    # The SYN gets in, the SYN-ACK may not leave b: no egress rule.
    assert not lab.reach("a", "tcp", "10.0.0.2", 2222, timeout=2)
    server["rules"].append(rule("egress", protocol="tcp"))
    lab.apply(lab.desired({"client": client, "server": server}))
    assert lab.reaches("a", "tcp", "10.0.0.2", 2222)
    # No conntrack for stateless ports: their flows never call ct().
    text = lab.ours()
    for name in ("a", "b"):
        ofport = lab.bindings[lab.ports[name]["id"]].ofport
        assert not [line for line in text.splitlines()
                    if f"reg5={ofport}," in line and "ct(" in line and "table=92" not in line]


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
    # Only the group's member flows (clause 1/2 of b's conjunction) are rewritten.
    assert (result.cookies_written, result.cookies_deleted) == (1, 0)
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
        guest.add_address("eth0", "10.0.0.100", 24)
    assert ping(vm_a, "10.0.0.2")
    assert not _ping_from(vm_a, "10.0.0.100", "10.0.0.2")

    lab.ports["a"]["allowed_address_pairs"] = [{"ip_address": "10.0.0.100",
                                                "mac_address": None}]
    lab.apply(lab.desired(groups))
    assert _ping_from(vm_a, "10.0.0.100", "10.0.0.2", within=8)

    with Kernel(vm_a) as guest:
        guest.set_link("eth0", mac=random_mac())
    assert not ping_once(vm_a, "10.0.0.2")


def test_arp_spoofing_dropped_unless_port_security_is_off(lab: Lab) -> None:
    a = lab.vm("a", "10.0.0.1", allowed_address_pairs=[
        {"ip_address": "10.0.0.50", "mac_address": None}])
    lab.vm("b", "10.0.0.2")
    lab.vm("c", "10.0.0.3")
    lab.apply(lab.desired({}))
    mac, forged = a["mac_address"], random_mac()
    _send_arp(lab.vms["a"], mac,
              (forged, "10.0.0.1", "10.0.0.3"),   # a's own IP, another sender MAC
              (mac, "10.0.0.2", "10.0.0.3"),      # b's IP: poisoning
              (mac, "10.0.0.50", "10.0.0.3"))     # an allowed address pair: fine
    assert wait_for(lambda: _neighbour(lab.vms["c"], "10.0.0.50") == mac, within=5)
    assert _neighbour(lab.vms["c"], "10.0.0.1") != forged
    assert _neighbour(lab.vms["c"], "10.0.0.2") is None

    a["port_security_enabled"] = False
    lab.apply(lab.desired({}))
    _send_arp(lab.vms["a"], mac, (mac, "10.0.0.2", "10.0.0.3"))
    assert wait_for(lambda: _neighbour(lab.vms["c"], "10.0.0.2") == mac, within=5)


def test_port_security_off_lets_everything_through(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", (), port_security_enabled=False)
    lab.apply(lab.desired({"client": CLIENT}))
    lab.serve("b", "10.0.0.2", 7001)
    assert ping(lab.vms["a"], "10.0.0.2")
    assert lab.reaches("a", "tcp", "10.0.0.2", 7001)
    assert lab.reaches("a", "udp", "10.0.0.2", 7001)
    assert not ping_once(lab.vms["b"], "10.0.0.1")   # a is still filtered


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
    assert ping(lab.vms["a"], "2001:db8::2")
    server["rules"] = EGRESS_ANY
    lab.apply(lab.desired(groups))
    assert not ping_once(lab.vms["a"], "2001:db8::2")


def test_reapply_is_idempotent_and_leaves_other_flows_alone(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    server = {"rules": [*EGRESS_ANY, rule(protocol="tcp", ports=(1000, 1999),
                                          remote_group_id="client"),
                        rule(protocol="udp", ethertype="IPv6", remote_group_id="client"),
                        rule(protocol="vrrp"), rule(protocol="47"),
                        rule(protocol="icmp", ports=(8, 0))]}
    groups = {"client": CLIENT, "server": server}
    remote = {"client": {"IPv4": ["10.0.0.1", "10.9.0.0/16"], "IPv6": ["2001:db8::1"]}}
    assert lab.apply(lab.desired(groups, remote)).changed
    before = lab.ours()
    agent = lab.switch.ofctl("--no-stats", "dump-flows", lab.switch.target(BRIDGE),
                             f"cookie={AGENT_COOKIE}/-1")
    assert not lab.apply(lab.desired(groups, remote)).changed
    # A restarted agent's firewall reads the bridge back (diff-flows): every flow
    # is as it wants it (the rules above in all their forms compare equal), so it
    # writes nothing.
    again = lab.new_firewall()
    assert not again.apply(lab.desired(groups, remote), lab.bindings).changed
    assert lab.ours() == before
    # b's flows lost meanwhile: a restarted firewall rewrites b's, and only b's.
    b_ofport = lab.bindings[lab.ports["b"]["id"]].ofport
    lab.switch.ofctl("del-flows", lab.switch.target(BRIDGE),
                     f"cookie={flows.port_cookie(b_ofport):#x}/-1")
    assert lab.ours() != before
    result = lab.new_firewall().apply(lab.desired(groups, remote), lab.bindings)
    assert (result.cookies_written, result.cookies_deleted) == (1, 0)
    assert lab.ours() == before

    # b goes, and with it the only users of the remote groups' member flows.
    result = again.apply(lab.desired(groups, remote, ports=["a"]), lab.bindings)
    assert (result.cookies_written, result.cookies_deleted) == (0, 3)
    assert f"reg5={b_ofport}" not in lab.ours()
    again.remove_all()
    assert lab.ours() == ""
    assert lab.switch.ofctl("--no-stats", "dump-flows", lab.switch.target(BRIDGE),
                            f"cookie={AGENT_COOKIE}/-1") == agent


def test_any_rendered_state_loads(lab: Lab) -> None:
    """Random desired states (the unit tests' strategy): the switch accepts every
    flow (a flow it refuses fails the whole bundle), the next state replaces the
    previous one, and a restarted firewall finds every flow as it wants it (OVS
    reads each rendered flow back equal): it writes nothing."""
    from hypothesis import HealthCheck, given, settings

    from unit.agent.test_firewall_render import states

    firewall = lab.new_firewall(settle=False)  # no traffic here: no need to wait

    @settings(max_examples=10, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(states())
    def check(desired: dict) -> None:
        bindings = {p["id"]: Binding(100 + i, 1 + i % 3)
                    for i, p in enumerate(desired["ports"])}
        firewall.apply(desired, bindings)
        loaded = lab.ours()
        assert len(loaded.splitlines()) == sum(map(len, flows.render(desired,
                                                                     bindings).values()))
        assert not lab.new_firewall(settle=False).apply(desired, bindings).changed
        assert lab.ours() == loaded

    check()


def test_traffic_from_another_host_through_a_patch_port(lab: Lab) -> None:
    """Frames arriving tagged (another host's VM behind a patch port) take the
    seam's `dl_vlan,dl_dst` flow: filtered by the port's ingress rules, with the
    replies to the port's own connections let in."""
    lab.vm("b", "10.0.0.2", ("server",))
    lab.remote_vm("r", "10.0.0.9")
    server = {"rules": [*EGRESS_ANY, rule(protocol="icmp"),
                        rule(protocol="tcp", ports=(2222, 2222))]}
    groups = {"server": server}
    lab.apply(lab.desired(groups))
    lab.serve("b", "10.0.0.2", 2222, 2223)
    lab.serve("r", "10.0.0.9", 7000)
    assert ping(lab.vms["r"], "10.0.0.2")
    assert lab.reaches("r", "tcp", "10.0.0.2", 2222)
    assert not lab.reach("r", "tcp", "10.0.0.2", 2223)
    assert lab.reaches("b", "tcp", "10.0.0.9", 7000)   # b's own connection's replies
    server["rules"] = [r for r in server["rules"] if r["protocol"] != "icmp"]
    lab.apply(lab.desired(groups))
    assert not ping_once(lab.vms["r"], "10.0.0.2")
