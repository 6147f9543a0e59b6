"""Metadata on an isolated network, end to end (root): a real server (RabbitMQ), the
Linux bridge agent (with its firewall), the DHCP agent with enable_isolated_metadata
and the metadata agent, all for one "host" namespace; "VMs" are namespaces plugged
like a hypervisor does. A VM gets its address and the route to 169.254.169.254 by
DHCP (dhclient; option 121 decoded and installed as a guest does), then asks
http://169.254.169.254/ from inside its namespace:

* built-in upstream: meta_data.json carries ITS OWN instance id (the port's
  device_id), for each of two VMs;
* Nova upstream: a fake Nova (loopback, the agent's side) receives X-Instance-ID,
  X-Tenant-ID, X-Forwarded-For and a valid X-Instance-ID-Signature;
* a VM using another VM's address, or an address no port has, gets nothing of the
  other instance: the firewall drops the spoofed packets (no answer), and where port
  security is off the agent answers 404.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dataplane.test_dhcp_agent import DHCLIENT_CONF, agent_conf, parse_lease
from dataplane.topology import Topology, wait_for
from neutrino.agent import vif as vif_mod
from neutrino.agent.common import privileged
from neutrino.agent.dhcp import config as dhcp_config
from neutrino.agent.dhcp import render
from neutrino.agent.dhcp.agent import DhcpAgent
from neutrino.agent.dhcp.reconciler import dnsmasq_pid, stop_process
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.agent.metadata import config as md_config
from neutrino.agent.metadata import lookup
from neutrino.agent.metadata.agent import MetadataAgent
from neutrino.agent.metadata.proxies import MetadataProxies
from neutrino.contract import bus as transport
from server import Api, ServerProcess

pytestmark = pytest.mark.skipif(shutil.which("dnsmasq") is None
                                or shutil.which("dhclient") is None,
                                reason="needs dnsmasq and dhclient (isc-dhcp-client)")

SECRET = "metadata-test-secret"
CIDR = "10.81.0.0/24"
NOBODY = "10.81.0.99"  # in the subnet, no port has it

# Run inside the VM's namespace: GET a URL, print the status then the body (0 and the
# error's name when nothing answers). No proxy from the environment.
CLIENT = r"""
import sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(sys.argv[1], timeout=float(sys.argv[2])) as response:
        body, status = response.read(), response.status
except urllib.error.HTTPError as error:
    body, status = error.read(), error.code
except Exception as error:
    body, status = type(error).__name__.encode(), 0
sys.stdout.write(f"{status}\n")
sys.stdout.write(body.decode(errors="replace"))
"""


def fetch(vm: str, path: str, timeout: float = 5) -> tuple[int, str]:
    result = subprocess.run(
        ["ip", "netns", "exec", vm, sys.executable, "-c", CLIENT,
         f"http://169.254.169.254{path}", str(timeout)],
        capture_output=True, text=True, timeout=timeout + 30, check=False)
    status, _, body = result.stdout.partition("\n")
    assert status.isdigit(), result.stderr
    return int(status), body


def classless_routes(value: str) -> list[tuple[str, str]]:
    """Option 121 as dhclient writes it (bytes, comma separated) → (cidr, router)."""
    data = [int(b) for b in value.split(",")]
    out, i = [], 0
    while i < len(data):
        prefixlen = data[i]
        width = (prefixlen + 7) // 8
        dest = data[i + 1:i + 1 + width] + [0] * (4 - width)
        router = data[i + 1 + width:i + 5 + width]
        out.append((".".join(map(str, dest)) + f"/{prefixlen}", ".".join(map(str, router))))
        i += 5 + width
    return out


class FakeNova(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        FakeNova.seen.append(dict(self.headers))
        data = json.dumps({"from": "nova", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Lab:
    """One host namespace with the three agents, and everything to clean up."""

    def __init__(self, server: ServerProcess, topo: Topology) -> None:
        self.server = server
        self.topo = topo
        self.api = Api(server.url)
        self.project_id = "md-" + uuid.uuid4().hex[:8]
        self.project = self.api.as_project(self.project_id)
        self.host_ns = topo.hosts("198.51.100.1")[0]
        self.name = f"{topo.prefix}host"
        self.work = tempfile.mkdtemp(prefix="neutrino-md-")
        os.chmod(self.work, 0o755)  # dnsmasq re-reads its files as nobody
        self.state_dir = os.path.join(self.work, "dhcp")
        os.makedirs(self.state_dir, mode=0o755)
        self.socket = os.path.join(self.work, "metadata.sock")
        self.rpc = transport.get_transport(agent_conf(lb_config.register_opts, self.name))
        self.agents: list = []
        self.metadata: MetadataAgent | None = None
        self.networks: list[str] = []
        self.dhclients: list[str] = []

    def start(self) -> None:
        lb = agent_conf(lb_config.register_opts, self.name,
                        **{"vxlan.local_ip": "198.51.100.1"})
        dhcp = agent_conf(dhcp_config.register_opts, self.name, dhcp_confs=self.state_dir,
                          enable_isolated_metadata=True, metadata_proxy_socket=self.socket)
        self.agents.append(LinuxBridgeAgent(lb, transport=self.rpc, namespace=self.host_ns,
                                            server=self.server.rpc_name).start())
        self.agents.append(DhcpAgent(dhcp, transport=self.rpc, host_namespace=self.host_ns,
                                     server=self.server.rpc_name,
                                     own_all_namespaces=False).start())
        self.start_metadata(metadata_upstream="builtin")

    def start_metadata(self, **options: object) -> None:
        if self.metadata is not None:
            self.metadata.stop()
        conf = agent_conf(md_config.register_opts, self.name,
                          metadata_proxy_socket=self.socket, **options)
        self.metadata = MetadataAgent(conf, transport=self.rpc,
                                      server=self.server.rpc_name).start()

    def alive(self) -> set[str]:
        return {a["agent_type"] for a in self.api.get("agents").json()["agents"]
                if a["host"] == self.name and a["alive"]}

    def vm(self, network_id: str, **port_attrs: object) -> tuple[dict, str]:
        # Admin: binding:host_id is Nova's to set.
        port = self.api.port(network_id, device_owner="compute:nova",
                             device_id=str(uuid.uuid4()), project_id=self.project_id,
                             **{"binding:host_id": self.name}, **port_attrs)
        namespace = self.topo.namespace("vm-" + port["id"][:6])
        vif_mod.plug(vif_mod.Vif(port_id=port["id"], mac=port["mac_address"],
                                 namespace=namespace, host_namespace=self.host_ns,
                                 mtu=1450))
        return port, namespace

    def status(self, port_id: str) -> str:
        return self.api.get(f"ports/{port_id}").json()["port"]["status"]

    def dhclient(self, vm: str) -> dict | None:
        name = uuid.uuid4().hex[:8]
        conf, lease, pid_file = (os.path.join(self.work, name + suffix)
                                 for suffix in (".conf", ".lease", ".pid"))
        with open(conf, "w") as handle:
            handle.write(DHCLIENT_CONF.format(timeout=20))
        self.dhclients.append(pid_file)
        # -sf /bin/true: the lease file is read and applied below, as a guest's
        # dhclient-script would (the real script would rewrite this host's resolv.conf).
        subprocess.run(["ip", "netns", "exec", vm, "dhclient", "-1", "-cf", conf,
                        "-sf", "/bin/true", "-pf", pid_file, "-lf", lease, "eth0"],
                       capture_output=True, timeout=60, check=False)
        found = parse_lease(lease)
        if found is not None:
            wait_for(lambda: os.path.exists(pid_file), 5)
        self.stop_dhclient(pid_file)
        return found

    @staticmethod
    def stop_dhclient(pid_file: str) -> None:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                argv = privileged.process_cmdline(int(entry))
                if argv and "dhclient" in argv[0] and pid_file in argv:
                    stop_process(int(entry))

    @staticmethod
    def configure(vm: str, address: str, routes: list[tuple[str, str]]) -> None:
        """The guest's side of a lease: its address, then the classless routes."""
        def ip(*args: str) -> None:
            subprocess.run(["ip", "netns", "exec", vm, "ip", *args], check=True,
                           capture_output=True, timeout=30)
        ip("addr", "flush", "dev", "eth0")
        ip("addr", "add", f"{address}/24", "dev", "eth0")
        for destination, router in routes:
            if destination != "0.0.0.0/0":
                ip("route", "replace", destination, "via", router)

    def cleanup(self) -> None:
        for pid_file in self.dhclients:
            self.stop_dhclient(pid_file)
        for agent in reversed(self.agents):
            agent.stop()
        if self.metadata is not None:
            self.metadata.stop()
        self.rpc.cleanup()
        proxies = MetadataProxies(os.path.join(self.state_dir, "metadata-proxy"),
                                  self.socket)
        for network_id in self.networks:
            namespace = render.namespace_name(network_id)
            proxies.remove(namespace)
            pid = dnsmasq_pid(os.path.join(self.state_dir, network_id, "pid"))
            if pid is not None:
                stop_process(pid)
            privileged.delete_namespace(namespace)
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture
def lab(server: ServerProcess, topo: Topology) -> Iterator[Lab]:
    environment = Lab(server, topo)
    try:
        environment.start()
        yield environment
    finally:
        environment.cleanup()


@pytest.fixture
def nova() -> Iterator[int]:
    FakeNova.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeNova)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_vms_on_an_isolated_network_get_their_own_metadata(lab: Lab, nova: int) -> None:
    assert wait_for(lambda: lab.alive() == {"Linux bridge agent", "DHCP agent",
                                            "Metadata agent"}, 30), lab.alive()
    net = lab.project.network(name="isolated")
    lab.networks.append(net["id"])
    subnet = lab.project.subnet(net["id"], CIDR)
    port_a, vm_a = lab.vm(net["id"])
    port_b, vm_b = lab.vm(net["id"])
    # Port security off: nothing stops this VM from using any address.
    port_c, vm_c = lab.vm(net["id"], port_security_enabled=False, security_groups=[])
    ip_a, ip_b, ip_c = (p["fixed_ips"][0]["ip_address"] for p in (port_a, port_b, port_c))

    dhcp_ports = lambda: lab.api.get("ports", params={  # noqa: E731
        "network_id": net["id"], "device_owner": "network:dhcp"}).json()["ports"]
    assert wait_for(lambda: [p["status"] for p in dhcp_ports()] == ["ACTIVE"], 60)
    dhcp_ip = dhcp_ports()[0]["fixed_ips"][0]["ip_address"]
    assert wait_for(lambda: all(lab.status(p["id"]) == "ACTIVE"
                                for p in (port_a, port_b, port_c)), 60)
    namespace = render.namespace_name(net["id"])
    proxies = MetadataProxies(os.path.join(lab.state_dir, "metadata-proxy"), lab.socket)
    assert wait_for(lambda: proxies.running(namespace) is not None, 30)

    leases = {}
    for vm, ip in ((vm_a, ip_a), (vm_b, ip_b), (vm_c, ip_c)):
        lease = lab.dhclient(vm)
        assert lease is not None, f"{vm} got no lease"
        assert lease["fixed-address"] == ip
        routes = classless_routes(lease["rfc3442-classless-static-routes"])
        assert routes == [("169.254.169.254/32", dhcp_ip),
                          ("0.0.0.0/0", subnet["gateway_ip"])]
        lab.configure(vm, ip, routes)
        leases[vm] = routes

    # Built-in upstream: each VM sees its own instance.
    for vm, port in ((vm_a, port_a), (vm_b, port_b), (vm_c, port_c)):
        status, body = fetch(vm, "/openstack/latest/meta_data.json")
        assert status == 200, body
        meta = json.loads(body)
        assert meta["uuid"] == port["device_id"]
        assert meta["project_id"] == port["project_id"]
        assert meta["hostname"] == "host-" + port["fixed_ips"][0]["ip_address"].replace(
            ".", "-")
    status, body = fetch(vm_a, "/latest/meta-data/local-ipv4")
    assert (status, body) == (200, ip_a)
    network_data = json.loads(fetch(vm_b, "/openstack/latest/network_data.json")[1])
    assert network_data["links"][0]["ethernet_mac_address"] == port_b["mac_address"]

    # Spoofing: B with A's address, B with nobody's address: the firewall drops the
    # packets, nothing answers. C (port security off) with nobody's address reaches
    # the agent, which does not know it: 404.
    for address in (ip_a, NOBODY):
        lab.configure(vm_b, address, leases[vm_b])
        status, body = fetch(vm_b, "/openstack/latest/meta_data.json", timeout=4)
        assert status in (0, 404), (address, status, body)
        assert port_a["device_id"] not in body
    lab.configure(vm_c, NOBODY, leases[vm_c])
    status, body = fetch(vm_c, "/openstack/latest/meta_data.json")
    assert status == 404, body
    assert port_c["device_id"] not in body and port_a["device_id"] not in body
    lab.configure(vm_c, ip_c, leases[vm_c])

    # Nova upstream: what the fake Nova receives for A.
    lab.start_metadata(metadata_upstream="nova", nova_metadata_host="127.0.0.1",
                       nova_metadata_port=nova, metadata_proxy_shared_secret=SECRET)
    status, body = fetch(vm_a, "/openstack/latest/meta_data.json")
    assert status == 200, body
    assert json.loads(body) == {"from": "nova", "path": "/openstack/latest/meta_data.json"}
    [headers] = FakeNova.seen
    assert headers["X-Instance-ID"] == port_a["device_id"]
    assert headers["X-Tenant-ID"] == port_a["project_id"]
    assert headers["X-Forwarded-For"] == ip_a
    assert headers["X-Instance-ID-Signature"] == lookup.sign(port_a["device_id"], SECRET)
    lab.configure(vm_b, ip_a, leases[vm_b])
    status, _ = fetch(vm_b, "/openstack/latest/meta_data.json", timeout=4)
    assert status in (0, 404) and len(FakeNova.seen) == 1

    # The network deleted: its proxy goes with its DHCP namespace.
    for port in (port_a, port_b, port_c):
        assert lab.api.delete(f"ports/{port['id']}").status_code == 204
    assert lab.api.delete(f"networks/{net['id']}").status_code == 204
    assert wait_for(lambda: namespace not in privileged.namespaces(), 30)
    assert proxies.running(namespace) is None
    assert not os.path.exists(proxies.pid_file(namespace))
