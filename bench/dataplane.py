"""Dataplane benchmark: how fast the API's word becomes real networking on a host.

    sudo .venv/bin/python bench/dataplane.py [--rounds 5] [--many 100] [--resync 500]
                                             [--polling-interval 2]

Needs root (namespaces), RabbitMQ at 127.0.0.1:5672 (make services) and
rabbitmqctl. It starts a neutrino-server of its own (tests/server.py: SQLite, on a
RabbitMQ vhost of its own, tests/dataplane/vhost.py) and one Linux bridge agent
(in this process, its kernel work in a host namespace the benchmark creates, like
tests/dataplane/topology.py); VMs are namespaces plugged as neutrino-vif does.
Everything it creates is removed at the end.

Figures (seconds, wall clock):

* 1 port: from the POST of a port bound to the host (the VM plugged right after it
  returns, as a hypervisor does) to status ACTIVE, and to the first ping answered
  from a VM already on the network (a pinger in that VM probes every 20 ms).
  Median and worst of --rounds, each on an idle agent.
* N ports (--many): one bulk POST of N ports bound to the host, their N VMs plugged,
  until all are ACTIVE and all answer pings (plugging time shown apart).
* rule change: a security-group rule allowing ICMP added to the group of a port
  that had none: POST to the first answered ping; the rule deleted: DELETE until a
  new ping flow goes unanswered. Median of --rounds.
* full resync with --resync ports on the host (their taps present): the agent's
  first sync on a fresh host (builds bridge, firewall, reports every device up),
  a resync with nothing to change (the periodic one), and the first sync of a
  restarted agent (kernel already right).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from oslo_config import cfg  # noqa: E402

from backends import database  # noqa: E402
from dataplane import vhost  # noqa: E402
from dataplane.topology import Topology  # noqa: E402
from neutrino.agent import vif as vif_mod  # noqa: E402
from neutrino.agent.common.privileged import Kernel  # noqa: E402
from neutrino.agent.linuxbridge import config as lb_config  # noqa: E402
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent  # noqa: E402
from neutrino.contract import bus as transport  # noqa: E402
from rpc_helpers import rabbit_answers  # noqa: E402
from server import Api, ServerProcess  # noqa: E402

LOCAL_IP = "198.51.100.1"
CIDR, PREFIX = "10.70.0.0/16", 16
QUOTAS = "[quotas]\nquota_port = -1\nquota_security_group_rule = -1\n"

# Runs inside the probing VM: ICMP echo to every target every 20 ms until each
# answered ("up": prints "<ip> <time of first reply>") or, for one target, until a
# fresh flow (a new ICMP id each round, so conntrack sees a new connection) gets no
# answer within 200 ms ("down": prints "<ip> <time the unanswered probe left>").
# "ready" first, so the caller changes things only once probing runs.
PINGER = r"""
import os, select, socket, struct, sys, time
def checksum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def packet(ident, seq):
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, checksum(header + b"benchmrk"), ident, seq) + b"benchmrk"
mode, timeout, targets = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.setblocking(False)
base = os.getpid() & 0x7fff
print("ready", flush=True)
end = time.time() + timeout
waiting, seq = set(targets), 0
while waiting and time.time() < end:
    seq += 1
    ident = (base + seq) & 0xffff if mode == "down" else base
    sent = time.time()
    for dst in waiting:
        try:
            sock.sendto(packet(ident, seq & 0xffff), (dst, 0))
        except OSError:
            pass
    answered = set()
    limit = sent + (0.2 if mode == "down" else 0.02)
    while time.time() < limit:
        ready, _, _ = select.select([sock], [], [], max(0, limit - time.time()))
        if not ready:
            break
        data, addr = sock.recvfrom(2048)
        icmp = data[(data[0] & 0x0f) * 4:]
        if icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
            answered.add(addr[0])
            if mode == "up" and addr[0] in waiting:
                print(addr[0], time.time(), flush=True)
    if mode == "up":
        waiting -= answered
    elif targets[0] not in answered:
        print(targets[0], sent, flush=True)
        waiting.clear()
"""


def mac_of(ip: str) -> str:
    """The MAC the benchmark gives the port of `ip` (known before the port exists)."""
    a, b, c, d = (int(x) for x in ip.split("."))
    return f"fa:16:3e:{b:02x}:{c:02x}:{d:02x}"


def known_neighbours(namespace: str, ips: list[str]) -> None:
    """Permanent ARP entries in the probing VM: the time measured is the dataplane's,
    not the guest's ARP retry timer (1 s after an unanswered request)."""
    batch = "".join(f"neigh replace {ip} lladdr {mac_of(ip)} dev {vif_mod.GUEST_IFNAME} "
                    "nud permanent\n" for ip in ips)
    subprocess.run(["ip", "netns", "exec", namespace, "ip", "-batch", "-"], input=batch,
                   text=True, check=True)


class Pinger:
    def __init__(self, namespace: str, targets: list[str], mode: str = "up",
                 timeout: float = 60) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", PINGER, mode,
             str(timeout), *targets], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def times(self) -> dict[str, float]:
        """{target: time} once the pinger is done (missing: never happened)."""
        out, _ = self.proc.communicate()
        return {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}


def stats(values: list[float]) -> str:
    return (f"median {statistics.median(values):.3f}  worst {max(values):.3f}"
            if values else "n/a")


class Bench:
    def __init__(self, args: argparse.Namespace, server: ServerProcess, bus_url: str,
                 topo: Topology) -> None:
        self.args = args
        self.api = Api(server.url)
        self.bus_url = bus_url
        self.topo = topo
        self.host_ns = topo.hosts(LOCAL_IP)[0]
        self.host = f"{topo.prefix}bench"
        self.rpc = transport.get_transport(self.agent_conf())
        self.agent: LinuxBridgeAgent | None = None
        self.next_ip = 10

    def agent_conf(self) -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        lb_config.register_opts(conf)
        conf(args=[])
        conf.set_override("transport_url", self.bus_url)
        conf.set_override("host", getattr(self, "host", "bench"))
        conf.set_override("rpc_response_timeout", 60)
        conf.set_override("local_ip", LOCAL_IP, group="vxlan")
        conf.set_override("polling_interval", self.args.polling_interval, group="AGENT")
        conf.set_override("report_interval", 5, group="AGENT")
        conf.set_override("resync_interval", 600, group="AGENT")
        return conf

    def new_agent(self) -> LinuxBridgeAgent:
        return LinuxBridgeAgent(self.agent_conf(), transport=self.rpc,
                                namespace=self.host_ns)

    # -- helpers -------------------------------------------------------------------

    def ip(self) -> str:
        self.next_ip += 1
        return f"10.70.{self.next_ip // 250}.{self.next_ip % 250 + 2}"

    def port_body(self, network_id: str, subnet_id: str, ip: str, **extra: Any) -> dict:
        return {"network_id": network_id, "binding:host_id": self.host,
                "device_owner": "compute:nova", "mac_address": mac_of(ip),
                "fixed_ips": [{"subnet_id": subnet_id, "ip_address": ip}], **extra}

    def create_ports(self, bodies: list[dict]) -> list[dict]:
        out: list[dict] = []
        for start in range(0, len(bodies), 100):
            response = self.api.post("ports", {"ports": bodies[start:start + 100]})
            assert response.status_code == 201, response.text
            out += response.json()["ports"]
        return out

    def plug(self, port: dict) -> str:
        namespace = f"{self.topo.prefix}vm-{port['id'][:8]}"
        self.topo.namespaces.append(namespace)
        ip = port["fixed_ips"][0]["ip_address"]
        vif_mod.plug(vif_mod.Vif(port_id=port["id"], mac=port["mac_address"],
                                 namespace=namespace, host_namespace=self.host_ns,
                                 addresses=[f"{ip}/{PREFIX}"], mtu=1450))
        return namespace

    def unplug(self, port: dict, namespace: str) -> None:
        vif_mod.unplug(port["id"], namespace=namespace, host_namespace=self.host_ns)
        self.topo.namespaces.remove(namespace)

    def active(self, port_ids: set[str]) -> int:
        ports = self.api.get("ports", params={"network_id": self.net["id"],
                                              "fields": ["id", "status"]}).json()["ports"]
        return sum(1 for p in ports if p["id"] in port_ids and p["status"] == "ACTIVE")

    def wait_active(self, port_ids: set[str], timeout: float = 120) -> float:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.active(port_ids) == len(port_ids):
                return time.time()
            time.sleep(0.02)
        raise RuntimeError(f"ports not ACTIVE within {timeout} s")

    def settle(self) -> None:
        """Let the agent go idle (past its coalescing window) between rounds."""
        time.sleep(self.args.polling_interval + 1)

    # -- the figures -------------------------------------------------------------

    def setup(self) -> None:
        self.agent = self.new_agent().start()
        deadline = time.time() + 60
        while not any(a["host"] == self.host and a["alive"]
                      for a in self.api.get("agents").json()["agents"]):
            if time.time() > deadline:
                raise RuntimeError("the agent did not report")
            time.sleep(0.1)
        self.net = self.api.network(name="bench-dataplane")
        self.subnet = self.api.subnet(self.net["id"], CIDR, enable_dhcp=False)
        ref = self.create_ports([self.port_body(self.net["id"], self.subnet["id"],
                                                self.ip())])[0]
        self.ref_vm = self.plug(ref)
        self.wait_active({ref["id"]})
        self.settle()

    def one_port(self) -> None:
        active, pingable = [], []
        for _ in range(self.args.rounds):
            ip = self.ip()
            known_neighbours(self.ref_vm, [ip])
            pinger = Pinger(self.ref_vm, [ip])
            t0 = time.time()
            port = self.create_ports([self.port_body(self.net["id"], self.subnet["id"],
                                                     ip)])[0]
            vm = self.plug(port)
            active.append(self.wait_active({port["id"]}) - t0)
            pinged = pinger.times().get(ip)
            pingable.append(pinged - t0 if pinged else float("inf"))
            self.api.delete(f"ports/{port['id']}")
            self.unplug(port, vm)
            self.settle()
        print(f"1 port   create -> ACTIVE    {stats(active)}")
        print(f"1 port   create -> pingable  {stats(pingable)}")

    def many_ports(self) -> None:
        count = self.args.many
        ips = [self.ip() for _ in range(count)]
        known_neighbours(self.ref_vm, ips)
        pinger = Pinger(self.ref_vm, ips, timeout=300)
        t0 = time.time()
        ports = self.create_ports([self.port_body(self.net["id"], self.subnet["id"], ip)
                                   for ip in ips])
        created = time.time()
        vms = [self.plug(port) for port in ports]
        plugged = time.time()
        t_active = self.wait_active({p["id"] for p in ports}, timeout=300)
        pinged = pinger.times()
        print(f"{count} ports create (bulk POST)   {created - t0:.3f}")
        print(f"{count} ports plugged (VMs made)   {plugged - t0:.3f}")
        print(f"{count} ports create -> all ACTIVE {t_active - t0:.3f}  (last VM "
              f"plugged -> all ACTIVE {t_active - plugged:.3f})")
        if len(pinged) == count:
            last = max(pinged.values())
            print(f"{count} ports create -> all pingable {last - t0:.3f}  (last VM "
                  f"plugged -> all pingable {last - plugged:.3f})")
        else:
            print(f"{count} ports: only {len(pinged)} answered pings")
        for port, vm in zip(ports, vms, strict=True):
            self.api.delete(f"ports/{port['id']}")
            self.unplug(port, vm)
        self.settle()

    def rule_change(self) -> None:
        response = self.api.post("security-groups",
                                 {"security_group": {"name": "bench-closed"}})
        assert response.status_code == 201, response.text
        sg = response.json()["security_group"]
        # No ingress rule: the reference VM's pings are dropped.
        ip = self.ip()
        port = self.create_ports([self.port_body(self.net["id"], self.subnet["id"], ip,
                                                 security_groups=[sg["id"]])])[0]
        vm = self.plug(port)
        self.wait_active({port["id"]})
        self.settle()
        added, removed = [], []
        for _ in range(self.args.rounds):
            pinger = Pinger(self.ref_vm, [ip], timeout=30)
            t0 = time.time()
            response = self.api.post("security-group-rules", {"security_group_rule": {
                "security_group_id": sg["id"], "direction": "ingress",
                "ethertype": "IPv4", "protocol": "icmp"}})
            assert response.status_code == 201, response.text
            rule = response.json()["security_group_rule"]
            pinged = pinger.times().get(ip)
            added.append(pinged - t0 if pinged else float("inf"))
            self.settle()
            pinger = Pinger(self.ref_vm, [ip], mode="down", timeout=30)
            t0 = time.time()
            assert self.api.delete(f"security-group-rules/{rule['id']}").status_code == 204
            silent = pinger.times().get(ip)
            removed.append(silent - t0 if silent else float("inf"))
            self.settle()
        print(f"rule added   -> in effect    {stats(added)}")
        print(f"rule deleted -> in effect    {stats(removed)}")
        self.api.delete(f"ports/{port['id']}")
        self.unplug(port, vm)

    def resync(self) -> None:
        count = self.args.resync
        assert self.agent is not None
        self.agent.stop()  # from here on, syncs are run and timed by hand
        self.agent = None
        net = self.api.network(name="bench-resync")
        subnet = self.api.subnet(net["id"], "10.71.0.0/16", enable_dhcp=False)
        bodies = [self.port_body(net["id"], subnet["id"],
                                 f"10.71.{i // 250}.{i % 250 + 2}") for i in range(count)]
        t0 = time.time()
        ports = self.create_ports(bodies)
        print(f"{count} ports created (bulk)  {time.time() - t0:.3f}")
        self.make_taps(ports)
        agent = self.new_agent()
        for label in ("first sync (builds all, reports all up)",
                      "resync, nothing changed",
                      "resync, nothing changed"):
            t0 = time.perf_counter()
            agent.sync()
            print(f"{count} ports {label:42s} {time.perf_counter() - t0:.3f}")
        agent.stop()
        restarted = self.new_agent()
        t0 = time.perf_counter()
        restarted.sync()
        print(f"{count} ports {'restarted agent first sync':42s} "
              f"{time.perf_counter() - t0:.3f}")
        restarted.stop()
        active = sum(1 for p in self.api.get("ports", params={
            "network_id": net["id"], "fields": ["status"]}).json()["ports"]
            if p["status"] == "ACTIVE")
        print(f"{count} ports ACTIVE after the syncs: {active}")

    def make_taps(self, ports: list[dict]) -> None:
        """The ports' taps as a hypervisor leaves them: present, no VM."""
        with Kernel(self.host_ns) as kernel:
            for port in ports:
                tap = vif_mod.tap_name(port["id"])
                kernel.add_veth(tap, "vp" + port["id"][:11])
                kernel.set_link(tap, up=True)

    def close(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        self.rpc.cleanup()


def main(argv: list[str] | None = None, bench_class: type[Bench] = Bench,
         server_conf: str = "", description: str = "") -> int:
    """`bench_class`, `server_conf` (more of the server's configuration): another
    L2 agent's benchmark (bench/ovs_dataplane.py)."""
    parser = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--many", type=int, default=100)
    parser.add_argument("--resync", type=int, default=500)
    parser.add_argument("--polling-interval", type=float, default=2.0,
                        help="the agent's [AGENT] polling_interval (default: its "
                             "default, 2)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/dataplane.py needs root (network namespaces)", file=sys.stderr)
        return 2
    if not rabbit_answers():
        print("RabbitMQ not reachable at 127.0.0.1:5672 (make services)", file=sys.stderr)
        return 2
    if vhost.available() is not None:
        print(vhost.available(), file=sys.stderr)
        return 2
    print(f"agent polling_interval {args.polling_interval} s; load average "
          f"{os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-dataplane-") as tmp, \
            vhost.private_vhost("bench") as bus_url:
        state = Path(tmp)
        extra = f"transport_url = {bus_url}\n{QUOTAS}{server_conf}"
        with database("sqlite", state) as url, \
                ServerProcess(state, url, extra_conf=extra) as server:
            topo = Topology()
            bench = None
            try:
                bench = bench_class(args, server, bus_url, topo)
                bench.setup()
                bench.one_port()
                if args.many:
                    bench.many_ports()
                bench.rule_change()
                if args.resync:
                    bench.resync()
            except BaseException:
                print("server log (last lines):\n" + server.log.read_text()[-4000:],
                      file=sys.stderr)
                raise
            finally:
                if bench is not None:
                    bench.close()
                topo.cleanup()
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
