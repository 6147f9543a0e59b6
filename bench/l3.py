"""L3 benchmark: how fast routers and floating IPs become reachable.

    sudo .venv/bin/python bench/l3.py [--fips 100] [--rounds 5] [--polling-interval 0.5]

Needs root (namespaces), RabbitMQ at 127.0.0.1:5672 (make services) and
rabbitmqctl. It starts a neutrino-server of its own (SQLite, on a RabbitMQ vhost of
its own) and the world of the L3 end-to-end tests (tests/dataplane/l3_world.py):
one host namespace with a Linux bridge agent and the L3 agent (in this process),
an "outside" namespace beyond the flat external network; the "VM" is one namespace
whose port carries one fixed IP per floating IP (max_fixed_ips_per_port raised).
Everything it creates is removed at the end.

Figures (seconds, wall clock), each until the outside's pinger (ICMP echo to every
target every 20 ms) has an answer from every floating IP:

* from nothing: a router with its gateway, an interface and --fips floating IPs
  exists in the API, its host has no trace of it (the L3 agent stopped, the router
  namespace absent); the L3 agent starts: its first sync builds the namespace, the
  veth pairs (which the Linux bridge agent then plugs), --fips addresses and the NAT
  table;
* one floating IP associated (PUT port_id) on a converged router: median and worst
  of --rounds;
* a resync that changes nothing (the converged router's desired state applied
  again, in this thread: what every periodic sync costs per router): median of
  --rounds, and the processes it runs (privileged.execute: nft, conntrack, ...).
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from backends import database  # noqa: E402
from dataplane import vhost  # noqa: E402
from dataplane.l3_world import L3World  # noqa: E402
from dataplane.topology import Topology, wait_for  # noqa: E402
from neutrino.agent.common import privileged  # noqa: E402
from neutrino.agent.l3 import plan as l3_plan  # noqa: E402
from rpc_helpers import rabbit_answers  # noqa: E402
from server import ServerProcess  # noqa: E402

CIDR = "10.71.0.0/24"
SERVER_CONF = ("max_fixed_ips_per_port = 250\n"
               "[quotas]\nquota_port = -1\nquota_floatingip = -1\nquota_router = -1\n"
               "quota_security_group_rule = -1\n")


def _pinger() -> str:
    """bench/dataplane.py's multi-target pinger (one source of it)."""
    spec = importlib.util.spec_from_file_location("bench_dataplane",
                                                  ROOT / "bench" / "dataplane.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PINGER


PINGER = _pinger()


class Pinger:
    """Probes targets from a namespace until each answered; `wait` gives the time
    of the last first answer."""

    def __init__(self, namespace: str, targets: list[str], timeout: float = 60) -> None:
        self.targets = targets
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", PINGER, "up",
             str(timeout), *targets], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def wait(self) -> float | None:
        assert self.proc.stdout is not None
        answered = {}
        for line in self.proc.stdout:
            address, when = line.split()
            answered[address] = float(when)
        self.proc.wait()
        missing = set(self.targets) - set(answered)
        if missing:
            print(f"  {len(missing)} never answered, e.g. {sorted(missing)[:3]}")
            return None
        return max(answered.values())


class Bench:
    def __init__(self, args: argparse.Namespace, world: L3World) -> None:
        self.args = args
        self.world = world
        self.api = world.project()

    def setup(self) -> None:
        w, api = self.world, self.api
        net, subnet = w.network(api, CIDR)
        hosts = [str(h) for h in ipaddress.ip_network(CIDR).hosts()][9:9 + self.args.fips
                                                                     + self.args.rounds]
        group = w.open_group(api)
        self.vm = w.vm(api, net, group, "vm", fixed_ips=[
            {"subnet_id": subnet["id"], "ip_address": ip} for ip in hosts])
        self.spare = hosts[self.args.fips:]
        # The router exists with its host bare: the L3 agent is stopped first.
        w.l3.stop()
        self.router = w.router(api, subnet)
        started = time.monotonic()
        response = api.post("floatingips", {"floatingips": [
            {"floating_network_id": w.ext["id"], "port_id": self.vm.port["id"],
             "fixed_ip_address": ip} for ip in hosts[:self.args.fips]]})
        assert response.status_code == 201, response.text
        self.fips = [f["floating_ip_address"] for f in response.json()["floatingips"]]
        print(f"{self.args.fips} floating IPs created in one bulk POST in "
              f"{time.monotonic() - started:.2f} s")
        assert wait_for(lambda: w.status("port", self.vm.port["id"]) == "ACTIVE", 30)
        assert l3_plan.namespace_name(self.router["id"]) not in privileged.namespaces()

    def from_nothing(self) -> None:
        w = self.world
        pinger = Pinger(w.outside, self.fips)
        started = time.time()
        w.l3 = w.new_l3_agent().start()
        done = pinger.wait()
        took = f"{done - started:.2f}" if done else "never"
        print(f"router with {self.args.fips} floating IPs, L3 agent start -> all "
              f"reachable: {took} s (aim < 2)")

    def associate(self) -> None:
        w, api = self.world, self.api
        times = []
        for ip in self.spare[:self.args.rounds]:
            fip = w.floatingip(api)
            address = fip["floating_ip_address"]
            time.sleep(max(self.args.polling_interval, 0.5))  # an idle agent
            pinger = Pinger(w.outside, [address], timeout=30)
            started = time.time()
            response = api.put(f"floatingips/{fip['id']}", {"floatingip": {
                "port_id": self.vm.port["id"], "fixed_ip_address": ip}})
            assert response.status_code == 200, response.text
            done = pinger.wait()
            if done is not None:
                times.append(done - started)
        if times:
            print(f"floating IP associated -> reachable: median "
                  f"{statistics.median(times):.2f} s, worst {max(times):.2f} s over "
                  f"{len(times)} (aim < 1)")


    def resync(self) -> None:
        w = self.world
        desired = w.l3.plugin.sync_routers()
        main_thread = threading.get_ident()
        calls: list[str] = []
        real = privileged.execute

        def counted(cmd: Sequence[str], *args: Any, **kwargs: Any) -> str:
            if threading.get_ident() == main_thread:
                calls.append(str(cmd[0]))
            return real(cmd, *args, **kwargs)
        times = []
        privileged.execute = counted  # type: ignore[assignment]
        try:
            for _ in range(max(self.args.rounds, 3)):
                calls.clear()
                started = time.perf_counter()
                result = w.l3.reconciler.reconcile(desired)
                times.append(time.perf_counter() - started)
                assert not result.failed, result.failed
        finally:
            privileged.execute = real  # type: ignore[assignment]
        processes = ", ".join(f"{calls.count(n)} {n}" for n in sorted(set(calls)))
        print(f"resync without changes (1 router, {self.args.fips} floating IPs): median "
              f"{statistics.median(times) * 1000:.1f} ms, processes: {processes or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fips", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--polling-interval", type=float, default=0.5,
                        help="the agents' [AGENT] polling_interval (default: theirs, 0.5)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/l3.py needs root (network namespaces)", file=sys.stderr)
        return 2
    if not rabbit_answers():
        print("RabbitMQ not reachable at 127.0.0.1:5672 (make services)", file=sys.stderr)
        return 2
    if vhost.available() is not None:
        print(vhost.available(), file=sys.stderr)
        return 2
    if args.fips + args.rounds > 240:
        print("--fips + --rounds must stay under 240 (one /24)", file=sys.stderr)
        return 2
    print(f"agents' polling_interval {args.polling_interval} s; load average "
          f"{os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-l3-") as tmp, \
            vhost.private_vhost("bench-l3") as bus_url:
        state = Path(tmp)
        extra = f"transport_url = {bus_url}\nhost = bench-l3\n{SERVER_CONF}"
        with database("sqlite", state) as url, \
                ServerProcess(state, url, extra_conf=extra) as server:
            server.rpc_name = "bench-l3"
            topo = Topology()
            world = L3World(server, topo, l3_options={
                "AGENT.polling_interval": args.polling_interval,
                "enable_metadata_proxy": False}, bus_url=bus_url,
                l2_options={"AGENT.polling_interval": args.polling_interval})
            try:
                world.start()
                bench = Bench(args, world)
                bench.setup()
                bench.from_nothing()
                bench.associate()
                bench.resync()
            except BaseException:
                print("server log (last lines):\n" + server.log.read_text()[-4000:],
                      file=sys.stderr)
                raise
            finally:
                try:
                    world.close()
                finally:
                    topo.cleanup()
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
