"""Dataplane scale benchmark: one host with 1,000 ports, a real Linux bridge agent.

    sudo .venv/bin/python bench/dataplane_scale.py [--ports 1000] [--rounds 3]
                                                   [--polling-interval 2]

Needs root, RabbitMQ at 127.0.0.1:5672 (make services) and rabbitmqctl. It starts a
neutrino-server of its own (tests/server.py: SQLite, on a RabbitMQ vhost of its own)
and one Linux bridge agent in this process, its kernel work in a host namespace the
benchmark creates (so its bridge, iptables and ipsets are nobody else's). The "VMs"
are veth pairs without namespaces: the tap end named as the agent expects
(contract/names.py), its peer left in the host namespace; only the bridge and the
firewall matter here. Everything it creates goes with that namespace at the end.

Every port is in one security group whose rules use the group itself as remote
group (as the default group does), plus one remote group with no port on this host:
a set of --ports members and a set the benchmark adds members to.

Figures (seconds, wall clock):

* first sync: the agent's first sync with every tap present (bridge, taps in it,
  firewall, every device reported up), and the time until every port is ACTIVE;
* no-op resync (the periodic one: nothing to change); restart resync (the first
  sync of a new agent on a kernel already right);
* rule change: a rule added to the group of every port, from the POST until the
  rule is in the kernel (in the group's chain every port goes to); median of --rounds;
* member added: a port (on no host) created in the remote group, from the POST until
  its address is in the kernel's set (``ipset test``); median of --rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from oslo_config import cfg  # noqa: E402

from backends import database  # noqa: E402
from dataplane import vhost  # noqa: E402
from dataplane.topology import Topology  # noqa: E402
from neutrino.agent.firewall import render  # noqa: E402
from neutrino.agent.linuxbridge import config as lb_config  # noqa: E402
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent  # noqa: E402
from neutrino.contract import bus as transport  # noqa: E402
from neutrino.contract import names  # noqa: E402
from rpc_helpers import rabbit_answers  # noqa: E402
from server import Api, ServerProcess  # noqa: E402

LOCAL_IP = "198.51.100.1"
QUOTAS = ("[quotas]\nquota_port = -1\nquota_security_group_rule = -1\n"
          "quota_security_group = -1\n")


def ip_of(i: int) -> str:
    return f"10.72.{i // 250}.{i % 250 + 2}"


def mac_of(i: int) -> str:
    return f"fa:16:3e:00:{i // 250:02x}:{i % 250 + 2:02x}"


def stats(values: list[float]) -> str:
    return (f"median {statistics.median(values):.3f}  worst {max(values):.3f}"
            if values else "n/a")


def in_ns(namespace: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", namespace, *argv],
                          capture_output=True, text=True)


def wait_until(check: Callable[[], bool], timeout: float = 60, step: float = 0.01
               ) -> float:
    """The time.time() at which `check` first held."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return time.time()
        time.sleep(step)
    raise RuntimeError(f"not in effect within {timeout} s")


class Bench:
    def __init__(self, args: argparse.Namespace, server: ServerProcess, bus_url: str,
                 topo: Topology) -> None:
        self.args = args
        self.api = Api(server.url)
        self.bus_url = bus_url
        self.topo = topo
        self.host_ns = topo.hosts(LOCAL_IP)[0]
        self.host = f"{topo.prefix}scale"
        self.rpc = transport.get_transport(self.agent_conf())
        self.agent: LinuxBridgeAgent | None = None
        self.extra = 0

    def agent_conf(self) -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        lb_config.register_opts(conf)
        conf(args=[])
        conf.set_override("transport_url", self.bus_url)
        conf.set_override("host", getattr(self, "host", "bench"))
        conf.set_override("rpc_response_timeout", 120)
        conf.set_override("local_ip", LOCAL_IP, group="vxlan")
        conf.set_override("polling_interval", self.args.polling_interval, group="AGENT")
        conf.set_override("report_interval", 30, group="AGENT")
        conf.set_override("resync_interval", 600, group="AGENT")
        conf.set_override("state_path", self.args.state)
        return conf

    def new_agent(self) -> LinuxBridgeAgent:
        return LinuxBridgeAgent(self.agent_conf(), transport=self.rpc,
                                namespace=self.host_ns)

    def setup(self) -> None:
        # The agent reports first: ports bound to a host with no live agent fail
        # their binding (the first sync would then only retry bindings).
        self.new_agent().report(start_flag=True)
        self.net = self.api.network(name="bench-dataplane-scale")
        self.subnet = self.api.subnet(self.net["id"], "10.72.0.0/16", enable_dhcp=False)
        self.remote = self.api.create("security_group", name="bench-remote")
        self.sg = self.api.create("security_group", name="bench-ports")
        for body in ({"ethertype": "IPv4", "remote_group_id": self.sg["id"]},
                     {"ethertype": "IPv4", "remote_group_id": self.remote["id"],
                      "protocol": "tcp", "port_range_min": 5432,
                      "port_range_max": 5432},
                     {"ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
                      "port_range_max": 22}):
            self.api.create("security_group_rule", security_group_id=self.sg["id"],
                            direction="ingress", **body)
        count = self.args.ports
        bodies = [{"network_id": self.net["id"], "binding:host_id": self.host,
                   "device_owner": "compute:nova", "mac_address": mac_of(i),
                   "security_groups": [self.sg["id"]],
                   "fixed_ips": [{"subnet_id": self.subnet["id"],
                                  "ip_address": ip_of(i)}]} for i in range(count)]
        t0 = time.time()
        self.ports: list[dict] = []
        for start in range(0, count, 100):
            response = self.api.post("ports", {"ports": bodies[start:start + 100]})
            assert response.status_code == 201, response.text
            self.ports += response.json()["ports"]
        print(f"{count} ports created (bulk POSTs)            {time.time() - t0:.3f}")
        t0 = time.time()
        # The VMs' taps as a hypervisor leaves them: present and up, no guest.
        # One `ip -batch` (a netlink call per link from Python costs ~5 ms each).
        lines = []
        for port in self.ports:
            tap = names.tap_device(port["id"])
            lines += [f"link add {tap} type veth peer name vm{port['id'][:11]}",
                      f"link set {tap} up", f"link set vm{port['id'][:11]} up"]
        subprocess.run(["ip", "-n", self.host_ns, "-batch", "-"],
                       input="\n".join(lines) + "\n", text=True, check=True)
        print(f"{count} veth pairs made                       {time.time() - t0:.3f}")

    def active(self) -> int:
        ports = self.api.get("ports", params={"network_id": self.net["id"],
                                              "fields": ["status"]}).json()["ports"]
        return sum(1 for p in ports if p["status"] == "ACTIVE")

    def timed_sync(self, agent: LinuxBridgeAgent, label: str) -> None:
        """One sync by hand, with the time of its parts."""
        parts: dict[str, float] = {}
        # "details" and "device list" are the reconcile's two RPCs (in bridge+report).
        timed_parts = ((agent.plugin, "get_desired_state", "fetch"),
                       (agent.firewall, "apply", "firewall"),
                       (agent.reconciler, "reconcile", "bridge+report"),
                       (agent.reconciler, "device_details", "details"),
                       (agent.reconciler, "device_list", "device list"),
                       (agent.qos, "apply", "qos"))
        saved = [(owner, attr, owner.__dict__.get(attr)) for owner, attr, _ in timed_parts]
        for owner, attr, part in timed_parts:
            def timed(*a, _f=getattr(owner, attr), _p=part, **kw):
                t = time.perf_counter()
                try:
                    return _f(*a, **kw)
                finally:
                    parts[_p] = time.perf_counter() - t
            setattr(owner, attr, timed)
        t0 = time.perf_counter()
        agent.sync()
        total = time.perf_counter() - t0
        for owner, attr, original in saved:
            if original is None:
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)
        detail = ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
        print(f"{self.args.ports} ports {label:36s} {total:.3f}  ({detail})")

    def syncs(self) -> None:
        agent = self.new_agent()
        self.timed_sync(agent, "first sync")
        print(f"{self.args.ports} ports ACTIVE after it                   "
              f"{self.active()}")
        for _ in range(2):
            self.timed_sync(agent, "no-op resync")
        agent.kernel.close()
        self.timed_sync(self.new_agent(), "restart resync (new agent)")

    def start_agent(self) -> None:
        self.agent = self.new_agent().start()
        self.settle(0)

    def settle(self, syncs: int) -> None:
        """The agent done with the sync after `syncs` (the change's) and past its
        coalescing window: each change meets an idle agent."""
        assert self.agent is not None
        loop = self.agent.loop
        wait_until(lambda: loop.syncs > syncs, timeout=300, step=0.05)
        time.sleep(self.args.polling_interval + 0.2)

    def rule_change(self) -> None:
        # The ports' ingress rules are in their group's chain (render.py).
        chain = render.group_chain(render.GROUP_INGRESS_PREFIX, [self.sg["id"]])
        times = []
        for round_ in range(self.args.rounds):
            port = 6000 + round_
            syncs = self.agent.loop.syncs if self.agent else 0
            t0 = time.time()
            self.api.create("security_group_rule", security_group_id=self.sg["id"],
                            direction="ingress", ethertype="IPv4", protocol="tcp",
                            port_range_min=port, port_range_max=port)
            needle = f"--dport {port} "
            done = wait_until(lambda needle=needle: needle in in_ns(
                self.host_ns, "iptables", "-w", "-S", chain).stdout, step=0.05)
            times.append(done - t0)
            self.settle(syncs)
        print(f"{self.args.ports} ports rule added -> in the kernel   {stats(times)}")

    def member_added(self) -> None:
        name = render.set_name(render.REMOTE_GROUP_SET_PREFIX, 4, self.remote["id"])
        times = []
        for _ in range(self.args.rounds):
            self.extra += 1
            ip = ip_of(self.args.ports + 10 + self.extra)
            syncs = self.agent.loop.syncs if self.agent else 0
            t0 = time.time()
            self.api.port(self.net["id"], security_groups=[self.remote["id"]],
                          fixed_ips=[{"subnet_id": self.subnet["id"], "ip_address": ip}])
            done = wait_until(lambda ip=ip: in_ns(self.host_ns, "ipset", "test", name,
                                                  ip).returncode == 0)
            times.append(done - t0)
            self.settle(syncs)
        print(f"{self.args.ports} ports member added -> in the set  {stats(times)}")

    def close(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        self.rpc.cleanup()
        # The veths in one batch (a pair goes with either end): Topology.cleanup
        # would delete the namespace's links one netlink call at a time.
        taps = [names.tap_device(p["id"]) for p in getattr(self, "ports", [])]
        subprocess.run(["ip", "-force", "-n", self.host_ns, "-batch", "-"],
                       input="".join(f"link del {tap}\n" for tap in taps), text=True,
                       capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--polling-interval", type=float, default=2.0,
                        help="the agent's [AGENT] polling_interval (default 2)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/dataplane_scale.py needs root (namespaces)", file=sys.stderr)
        return 2
    if not rabbit_answers():
        print("RabbitMQ not reachable at 127.0.0.1:5672 (make services)", file=sys.stderr)
        return 2
    if vhost.available() is not None:
        print(vhost.available(), file=sys.stderr)
        return 2
    print(f"{args.ports} ports; agent polling_interval {args.polling_interval} s; load "
          f"average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-dataplane-scale-") as tmp, \
            vhost.private_vhost("bench") as bus_url:
        state = Path(tmp)
        args.state = str(state / "agent")
        extra = f"transport_url = {bus_url}\n{QUOTAS}"
        with database("sqlite", state) as url:
            server = ServerProcess(state, url, extra_conf=extra)
            topo = Topology()
            bench = None
            try:
                server.start(timeout=180)  # other sessions may load the machine
                bench = Bench(args, server, bus_url, topo)
                bench.setup()
                bench.syncs()
                bench.start_agent()
                bench.rule_change()
                bench.member_added()
            except BaseException:
                print("server log (last lines):\n" + server.log.read_text()[-4000:],
                      file=sys.stderr)
                raise
            finally:
                if bench is not None:
                    bench.close()
                topo.cleanup()
                server.stop()
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
