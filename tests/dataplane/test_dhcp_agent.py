"""The DHCP agent's reconciler against the real kernel, dnsmasq and dhclient.

A test "host" is a namespace with a bridge (what the Linux bridge agent builds for
the network; the test puts the DHCP port's tap in it, as that agent would, the port
being bound to this host). The reconciler runs with hand-written desired states and
makes ``qdhcp-<net>`` and dnsmasq; a "VM" (a namespace with the port's MAC) runs a
real ``dhclient`` and the test reads what it got from the lease file.

``get_dhcp_port`` is a stand-in returning a port dict: what the server answers is
tested against the real server in tests/rpc/test_desired_state.py; here the
question is what the host does with the answer. (test_dhcp_agent_end_to_end at the
bottom runs the whole agent against a real server.)
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from oslo_config import cfg
from pyroute2 import netns

from dataplane.topology import Topology, random_mac, running, wait_for
from neutrino.agent import vif as vif_mod
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.dhcp import config as dhcp_config
from neutrino.agent.dhcp import render
from neutrino.agent.dhcp.agent import DhcpAgent
from neutrino.agent.dhcp.reconciler import Reconciler, dnsmasq_pid, stop_process
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.contract import bus as transport
from rpc_helpers import RABBIT
from server import BIN, Api, ServerProcess

BRIDGE = "br0"
MTU = 1450
DHCLIENT_CONF = """\
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
timeout {timeout};
initial-interval 1;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,
        domain-search, host-name, interface-mtu, rfc3442-classless-static-routes;
"""

pytestmark = pytest.mark.skipif(shutil.which("dnsmasq") is None
                                or shutil.which("dhclient") is None,
                                reason="needs dnsmasq and dhclient (isc-dhcp-client)")


def uid() -> str:
    return str(uuid.uuid4())


class Env:
    """One host with a bridge, a reconciler and cleanup of everything made."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.host = topo.namespace("host")
        with Kernel(self.host) as kernel:
            kernel.add_bridge(BRIDGE)
            kernel.set_link(BRIDGE, up=True)
        # World-traversable: dnsmasq re-reads its files as "nobody" on SIGHUP.
        self.state_dir = tempfile.mkdtemp(prefix="neutrino-dhcp-")
        os.chmod(self.state_dir, 0o755)
        self.work = tempfile.mkdtemp(prefix="neutrino-dhclient-")
        self.ports: dict[str, dict] = {}          # network -> DHCP port (the "server")
        self.released: list[str] = []
        self.networks: set[str] = set()
        self.dhclients: list[str] = []             # pid files
        self.reconciler = self.new_reconciler()

    def new_reconciler(self) -> Reconciler:
        # own_all_namespaces=False: other tests (and agents) on this machine have
        # qdhcp- namespaces of their own.
        return Reconciler(render.Settings(), self.state_dir,
                          get_dhcp_port=lambda net: copy.deepcopy(self.ports.get(net)),
                          release_dhcp_port=self.released.append,
                          host_namespace=self.host, own_all_namespaces=False)

    def reconcile(self, desired: dict, reconciler: Reconciler | None = None):
        for network in desired["networks"]:
            self.networks.add(network["id"])
        result = (reconciler or self.reconciler).reconcile(copy.deepcopy(desired))
        assert not result.failed, result.failed
        # The Linux bridge agent's part: the DHCP port's tap into the bridge.
        with Kernel(self.host) as kernel:
            for port in self.ports.values():
                tap = render.tap_name(port["id"])
                if kernel.exists(tap):
                    kernel.set_link(tap, master=BRIDGE)
        return result

    def pid(self, network_id: str) -> int | None:
        return dnsmasq_pid(os.path.join(self.state_dir, network_id, "pid"))

    def vm(self, mac: str) -> str:
        port_id = uid()
        namespace = self.topo.namespace("vm-" + port_id[:6])
        vif_mod.plug(vif_mod.Vif(port_id=port_id, mac=mac, namespace=namespace,
                                 host_namespace=self.host, mtu=MTU))
        with Kernel(self.host) as kernel:
            kernel.set_link(vif_mod.tap_name(port_id), master=BRIDGE)
        return namespace

    def dhclient(self, vm: str, timeout: int = 10) -> dict | None:
        """One real DHCP exchange from the VM: the lease dhclient wrote, or None."""
        name = uuid.uuid4().hex[:8]
        conf = os.path.join(self.work, name + ".conf")
        lease = os.path.join(self.work, name + ".lease")
        pid_file = os.path.join(self.work, name + ".pid")
        with open(conf, "w") as handle:
            handle.write(DHCLIENT_CONF.format(timeout=timeout))
        self.dhclients.append(pid_file)
        # -1: try once and exit when nothing answers; -sf /bin/true: do not touch
        # the interface (the lease file is all the test reads).
        subprocess.run(["ip", "netns", "exec", vm, "dhclient", "-1", "-v", "-cf", conf,
                        "-sf", "/bin/true", "-pf", pid_file, "-lf", lease, "eth0"],
                       capture_output=True, timeout=timeout + 30, check=False)
        found = parse_lease(lease)
        self.stop_dhclient(pid_file, bound=found is not None)
        return found

    def stop_dhclient(self, pid_file: str, bound: bool = False) -> None:
        """Stop a dhclient that got a lease and went to the background. Its child
        writes the pid file after the parent exits: wait for it."""
        if bound:
            wait_for(lambda: os.path.exists(pid_file), 5)
        for pid in self._dhclients_of(pid_file):
            stop_process(pid)

    @staticmethod
    def _dhclients_of(pid_file: str) -> list[int]:
        """Our dhclient processes: the one in the pid file, and any whose command
        line names that pid file (the pid file not written yet)."""
        pids = set()
        try:
            with open(pid_file) as handle:
                pids.add(int(handle.read().strip()))
        except (OSError, ValueError):
            pass
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                argv = privileged.process_cmdline(int(entry))
                if argv and pid_file in argv:
                    pids.add(int(entry))
        return [pid for pid in pids if (argv := privileged.process_cmdline(pid))
                and "dhclient" in argv[0] and pid_file in argv]

    def cleanup(self) -> None:
        for pid_file in self.dhclients:
            self.stop_dhclient(pid_file)
        for network_id in self.networks:
            pid = self.pid(network_id)
            if pid is not None:
                stop_process(pid)
            privileged.delete_namespace(render.namespace_name(network_id))
        shutil.rmtree(self.state_dir, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)


def parse_lease(path: str) -> dict | None:
    """The last lease of a dhclient lease file: fixed-address and options."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    blocks = re.findall(r"lease \{(.*?)\n\}", text, re.S)
    if not blocks:
        return None
    out: dict[str, str] = {}
    for line in blocks[-1].splitlines():
        line = line.strip().rstrip(";")
        if line.startswith("option "):
            _, key, value = line.split(" ", 2)
            out[key] = value.strip('"')
        elif line.startswith("fixed-address "):
            out["fixed-address"] = line.split(" ", 1)[1]
    return out


@pytest.fixture
def env(topo: Topology) -> Iterator[Env]:
    environment = Env(topo)
    try:
        yield environment
    finally:
        environment.cleanup()


def subnet(sid: str, cidr: str, gateway: str, ip_version: int = 4, **extra) -> dict:
    return {"id": sid, "cidr": cidr, "ip_version": ip_version, "gateway_ip": gateway,
            "enable_dhcp": True, "dns_nameservers": [], "host_routes": [],
            "allocation_pools": [], "ipv6_ra_mode": None, "ipv6_address_mode": None,
            "revision_number": 1, **extra}


def vm_port(mac: str, *ips: tuple[str, str], opts: list | None = None) -> dict:
    return {"id": uid(), "mac_address": mac, "device_owner": "compute:nova",
            "device_id": uid(), "revision_number": 1, "extra_dhcp_opts": opts or [],
            "fixed_ips": [{"subnet_id": s, "ip_address": a} for s, a in ips]}


class Scenario:
    """A network with one or two subnets, its DHCP port and one VM port."""

    def __init__(self, env: Env, second_subnet: bool = False) -> None:
        self.env = env
        self.net = uid()
        self.sub = uid()
        self.subnets = [subnet(self.sub, "10.20.0.0/24", "10.20.0.1",
                               dns_nameservers=["192.0.2.53"])]
        dhcp_ips = [{"subnet_id": self.sub, "ip_address": "10.20.0.2"}]
        if second_subnet:
            self.sub2 = uid()
            self.subnets.append(subnet(self.sub2, "10.30.0.0/24", "10.30.0.1"))
            dhcp_ips.append({"subnet_id": self.sub2, "ip_address": "10.30.0.2"})
        self.dhcp_port = {"id": uid(), "mac_address": random_mac(),
                          "device_owner": "network:dhcp", "device_id": "dhcp-x",
                          "revision_number": 1, "extra_dhcp_opts": [],
                          "fixed_ips": dhcp_ips}
        env.ports[self.net] = self.dhcp_port
        self.mac = random_mac()
        self.port = vm_port(self.mac, (self.sub, "10.20.0.5"))

    def desired(self) -> dict:
        return {"host": "h1", "networks": [{
            "id": self.net, "revision_number": 1, "mtu": MTU, "admin_state_up": True,
            "subnets": self.subnets, "ports": [self.port, self.dhcp_port],
            "dhcp_port": None}]}  # not yet: the agent asks get_dhcp_port


def test_vm_gets_exactly_its_address_and_options_unknown_mac_nothing(env: Env) -> None:
    s = Scenario(env)
    result = env.reconcile(s.desired())
    namespace = render.namespace_name(s.net)
    assert namespace in privileged.namespaces()
    pid = env.pid(s.net)
    assert pid is not None
    iface = render.interface_name(s.dhcp_port["id"])
    with Kernel(namespace) as kernel:
        link = kernel.links()[iface]
        assert (link.mac, link.mtu, link.up) == (s.dhcp_port["mac_address"], MTU, True)
        assert kernel.addresses(iface) == {"10.20.0.2/24"}
        assert kernel.links()["lo"].up
    argv = privileged.process_cmdline(pid)
    assert f"--interface={iface}" in argv
    assert f"--dhcp-range=set:subnet-{s.sub},10.20.0.0,static,255.255.255.0,86400s" in argv

    lease = env.dhclient(env.vm(s.mac))
    assert lease is not None, "the known MAC got no lease"
    assert lease["fixed-address"] == "10.20.0.5"
    assert lease["routers"] == "10.20.0.1"
    assert lease["domain-name-servers"] == "192.0.2.53"
    assert lease["interface-mtu"] == str(MTU)
    assert lease["subnet-mask"] == "255.255.255.0"
    assert lease["host-name"] == "host-10-20-0-5"

    assert env.dhclient(env.vm(random_mac()), timeout=6) is None, \
        "an unknown MAC must get nothing (static ranges)"

    # Converged: a second pass changes nothing and keeps the process.
    again = env.reconcile(s.desired() | {})
    assert result.actions and again.actions == []
    assert env.pid(s.net) == pid


def test_changed_port_address_reloads_the_same_dnsmasq(env: Env) -> None:
    s = Scenario(env)
    env.reconcile(s.desired())
    pid = env.pid(s.net)
    vm = env.vm(s.mac)
    assert env.dhclient(vm)["fixed-address"] == "10.20.0.5"

    s.port["fixed_ips"] = [{"subnet_id": s.sub, "ip_address": "10.20.0.77"}]
    s.port["extra_dhcp_opts"] = [{"opt_name": "domain-name", "opt_value": "vm.example",
                                  "ip_version": 4}]
    result = env.reconcile(s.desired())
    assert result.actions == [f"reload dnsmasq {pid} of {s.net}"]
    assert env.pid(s.net) == pid  # SIGHUP, not a restart
    lease = env.dhclient(vm)
    assert lease["fixed-address"] == "10.20.0.77"
    assert lease["domain-name"] == "vm.example"  # the port's own option, by its tag


def test_disabling_dhcp_on_a_subnet_stops_serving_it(env: Env) -> None:
    s = Scenario(env, second_subnet=True)
    env.reconcile(s.desired())
    pid = env.pid(s.net)
    vm = env.vm(s.mac)
    assert env.dhclient(vm)["fixed-address"] == "10.20.0.5"

    s.subnets[0]["enable_dhcp"] = False
    env.reconcile(s.desired())
    new_pid = env.pid(s.net)
    assert new_pid is not None and new_pid != pid  # the command line had to change
    argv = privileged.process_cmdline(new_pid)
    assert not any(s.sub in arg for arg in argv if arg.startswith("--dhcp-range"))
    assert any(s.sub2 in arg for arg in argv if arg.startswith("--dhcp-range"))
    assert privileged.process_cmdline(pid) is None
    assert env.dhclient(vm, timeout=6) is None

    # The last subnet with DHCP off: the network is no longer served at all.
    s.subnets[1]["enable_dhcp"] = False
    env.reconcile(s.desired())
    assert env.pid(s.net) is None
    assert render.namespace_name(s.net) not in privileged.namespaces()
    assert env.released == [s.net]


def test_removed_network_loses_process_namespace_files_and_port(env: Env) -> None:
    s = Scenario(env)
    env.reconcile(s.desired())
    pid = env.pid(s.net)
    tap = render.tap_name(s.dhcp_port["id"])
    with Kernel(env.host) as kernel:
        assert kernel.links()[tap].master == BRIDGE

    result = env.reconcile({"host": "h1", "networks": []})
    assert f"stop dnsmasq {pid} of {s.net}" in result.actions
    assert privileged.process_cmdline(pid) is None
    assert render.namespace_name(s.net) not in privileged.namespaces()
    with Kernel(env.host) as kernel:
        assert not kernel.exists(tap)
    assert not os.path.exists(os.path.join(env.state_dir, s.net))
    assert env.released == [s.net]
    assert env.reconcile({"host": "h1", "networks": []}).actions == []


def test_namespace_made_again_gets_a_dnsmasq_of_its_own(env: Env) -> None:
    """The namespace's name removed under a running dnsmasq (`ip netns delete`; the
    namespace lives on, unnamed, with the dnsmasq in it), then reconciled: a new
    namespace and a dnsmasq in it; the stray one stopped, not adopted."""
    s = Scenario(env)
    env.reconcile(s.desired())
    namespace = render.namespace_name(s.net)
    stray = env.pid(s.net)
    try:
        netns.remove(namespace)
        result = env.reconcile(s.desired())
        pid = env.pid(s.net)
        assert pid is not None and pid != stray, result.actions
        assert privileged.process_in_namespace(pid, namespace)
        assert privileged.process_cmdline(stray) is None
    finally:
        stop_process(stray)


def test_restarted_agent_adopts_restarts_dead_and_removes_stale(env: Env) -> None:
    s = Scenario(env)
    stale = Scenario(env)
    env.reconcile({"host": "h1", "networks": [*s.desired()["networks"],
                                              *stale.desired()["networks"]]})
    pid, stale_pid = env.pid(s.net), env.pid(stale.net)

    # A new agent (nothing in memory) whose desired state lost one network.
    fresh = env.new_reconciler()
    result = env.reconcile(s.desired(), fresh)
    assert env.pid(s.net) == pid  # adopted, not restarted
    assert f"reload dnsmasq {pid} of {s.net}" in result.actions  # once, to be sure
    assert privileged.process_cmdline(stale_pid) is None
    assert render.namespace_name(stale.net) not in privileged.namespaces()
    assert env.released == [stale.net]
    assert env.reconcile(s.desired(), fresh).actions == []

    # A dnsmasq that died is noticed and started again.
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: privileged.process_cmdline(pid) is None)
    assert fresh.dead() == [s.net]
    result = env.reconcile(s.desired(), fresh)
    assert result.actions == [f"start dnsmasq of {s.net}"]
    assert env.dhclient(env.vm(s.mac))["fixed-address"] == "10.20.0.5"


def parse_lease6(path: str) -> dict | None:
    """The last lease6 of a dhclient -6 lease file: its address and options."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    blocks = re.findall(r"lease6 \{(.*?)\n\}", text, re.S)
    if not blocks:
        return None
    out: dict[str, str] = {}
    for line in blocks[-1].splitlines():
        line = line.strip().rstrip(";").rstrip(" {")
        if line.startswith("iaaddr "):
            out["iaaddr"] = line.split(" ", 1)[1]
        elif line.startswith("option "):
            _, key, value = line.split(" ", 2)
            out[key] = value.strip('"')
    return out


def test_ipv6_stateful_vm_gets_its_address_and_dns(env: Env) -> None:
    s = Scenario(env)
    sub6 = uid()
    s.subnets = [subnet(sub6, "2001:db8:20::/64", "2001:db8:20::1", ip_version=6,
                        dns_nameservers=[], ipv6_address_mode="dhcpv6-stateful",
                        ipv6_ra_mode="dhcpv6-stateful")]
    s.dhcp_port["fixed_ips"] = [{"subnet_id": sub6, "ip_address": "2001:db8:20::2"}]
    s.port["fixed_ips"] = [{"subnet_id": sub6, "ip_address": "2001:db8:20::5"}]
    env.reconcile(s.desired())
    argv = privileged.process_cmdline(env.pid(s.net))
    assert f"--dhcp-range=set:subnet-{sub6},2001:db8:20::,static,64,86400s" in argv

    vm = env.vm(s.mac)
    # dhclient -6 needs the VM's link-local address past duplicate detection.
    assert wait_for(lambda: "fe80" in subprocess.run(
        ["ip", "netns", "exec", vm, "ip", "-6", "addr", "show", "dev", "eth0",
         "scope", "link", "-tentative"], capture_output=True, text=True).stdout)
    name = uuid.uuid4().hex[:8]
    conf = os.path.join(env.work, name + ".conf")
    lease_file = os.path.join(env.work, name + ".lease6")
    pid_file = os.path.join(env.work, name + ".pid")
    with open(conf, "w") as handle:
        handle.write("timeout 15;\ninitial-interval 1;\n"
                     "request dhcp6.name-servers, dhcp6.domain-search;\n")
    env.dhclients.append(pid_file)
    subprocess.run(["ip", "netns", "exec", vm, "dhclient", "-6", "-1", "-v", "-cf", conf,
                    "-sf", "/bin/true", "-pf", pid_file, "-lf", lease_file, "eth0"],
                   capture_output=True, timeout=60, check=False)
    lease = parse_lease6(lease_file)
    env.stop_dhclient(pid_file, bound=lease is not None)
    assert lease is not None, "no DHCPv6 lease"
    assert lease["iaaddr"] == "2001:db8:20::5"
    assert lease["dhcp6.name-servers"] == "2001:db8:20::2"  # dnsmasq itself
    assert lease["dhcp6.domain-search"] == "openstacklocal."


# -- end to end: a real server, the DHCP agent and the Linux bridge agent --------------


def agent_conf(register, host: str, **overrides: object) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    register(conf)
    conf(args=[])
    conf.set_override("transport_url", RABBIT)
    conf.set_override("host", host)
    conf.set_override("rpc_response_timeout", 20)
    conf.set_override("polling_interval", 0.2, group="AGENT")
    conf.set_override("report_interval", 2, group="AGENT")
    conf.set_override("resync_interval", 30, group="AGENT")
    for key, value in overrides.items():
        group, _, name = key.rpartition(".")
        conf.set_override(name, value, group=group or None)
    return conf


def test_dhcp_agent_end_to_end(server: ServerProcess, env: Env) -> None:
    """A network with a subnet is scheduled to the host's DHCP agent, which makes
    its port, namespace and dnsmasq; the L2 agent plugs the port; a VM plugged
    with neutrino-vif gets its port's address by DHCP; the network deleted, the
    agent takes everything down."""
    api = Api(server.url)
    host_ns = env.topo.hosts("198.51.100.1")[0]
    name = f"{env.topo.prefix}net-1"
    l2_conf = agent_conf(lb_config.register_opts, name, **{"vxlan.local_ip": "198.51.100.1"})
    dhcp_conf = agent_conf(dhcp_config.register_opts, name, dhcp_confs=env.state_dir)
    rpc = transport.get_transport(l2_conf)
    agents: list = []
    net = None
    try:
        agents.append(LinuxBridgeAgent(l2_conf, transport=rpc, namespace=host_ns,
                                       server=server.rpc_name).start())
        dhcp_agent = DhcpAgent(dhcp_conf, transport=rpc, host_namespace=host_ns,
                               server=server.rpc_name, own_all_namespaces=False).start()
        agents.append(dhcp_agent)

        def alive() -> set[str]:
            return {a["agent_type"] for a in api.get("agents").json()["agents"]
                    if a["host"] == name and a["alive"]}
        assert wait_for(lambda: alive() == {"Linux bridge agent", "DHCP agent"}, 30)

        net = api.network(name="dhcp-e2e")
        env.networks.add(net["id"])
        api.subnet(net["id"], "203.0.113.0/24", dns_nameservers=["192.0.2.53"])
        port = api.port(net["id"])
        ip = port["fixed_ips"][0]["ip_address"]

        def dhcp_ports() -> list[dict]:
            return api.get("ports", params={"network_id": net["id"],
                                            "device_owner": "network:dhcp"}
                           ).json()["ports"]
        assert wait_for(lambda: [p["status"] for p in dhcp_ports()] == ["ACTIVE"], 30), \
            dhcp_ports()
        dhcp_port = dhcp_ports()[0]
        assert dhcp_port["binding:host_id"] == name
        hosts = os.path.join(env.state_dir, net["id"], "host")
        assert wait_for(lambda: os.path.exists(hosts)
                        and port["mac_address"] in open(hosts).read(), 30)

        vm = f"{env.topo.prefix}vm-{port['id'][:6]}"
        env.topo.namespaces.append(vm)  # cleaned up with the rest
        result = subprocess.run(
            [str(BIN / "neutrino-vif"), "plug", port["id"], "--url", server.url,
             "--host", name, "--host-netns", host_ns, "--netns", vm, "--ip-config", "none"],
            capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        lease = env.dhclient(vm, timeout=20)
        assert lease is not None, "the VM got no lease"
        assert lease["fixed-address"] == ip
        assert lease["routers"] == "203.0.113.1"
        assert lease["domain-name-servers"] == "192.0.2.53"
        assert lease["interface-mtu"] == str(net["mtu"])

        def served() -> tuple[int, int]:
            configurations = next(
                a for a in api.get("agents").json()["agents"]
                if a["host"] == name and a["agent_type"] == "DHCP agent")["configurations"]
            return configurations["networks"], configurations["subnets"]
        assert wait_for(lambda: served() == (1, 1), 10), served()  # the next report

        pid = env.pid(net["id"])
        assert api.delete(f"ports/{port['id']}").status_code == 204
        assert api.delete(f"networks/{net['id']}").status_code == 204
        assert wait_for(lambda: render.namespace_name(net["id"])
                        not in privileged.namespaces(), 30)
        assert privileged.process_cmdline(pid) is None
    finally:
        for agent in agents:
            agent.stop()
        rpc.cleanup()


# -- the binary ------------------------------------------------------------------------


def test_binary_refuses_other_interface_drivers(root: None, tmp_path) -> None:
    config = tmp_path / "dhcp_agent.ini"
    config.write_text("[DEFAULT]\ninterface_driver = macvtap\n")
    result = subprocess.run([str(BIN / "neutrino-dhcp-agent"), "--config-file", str(config)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "interface_driver 'macvtap' is not supported" in result.stderr


def test_binary_runs_without_server_and_stops_on_sigterm(env: Env, tmp_path) -> None:
    config = tmp_path / "dhcp_agent.ini"
    config.write_text(f"[DEFAULT]\nhost = lonely\nrpc_response_timeout = 1\n"
                      f"dhcp_confs = {env.state_dir}\nenable_isolated_metadata = true\n"
                      "[AGENT]\npolling_interval = 0.2\nreport_interval = 1\n"
                      "availability_zone = az9\n")
    log = tmp_path / "agent.log"
    with running(["ip", "netns", "exec", env.host, str(BIN / "neutrino-dhcp-agent"),
                  "--config-file", str(config)], log) as proc:
        assert wait_for(lambda: "sync failed" in log.read_text(), 30), log.read_text()
        text = log.read_text()
        assert f"neutrino-dhcp-agent on host lonely: state in {env.state_dir}, " \
               "availability zone az9" in text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
