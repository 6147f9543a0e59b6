"""Scale benchmark: many hosts' L2 agents against one server, over real RabbitMQ.

    .venv/bin/python bench/scale.py [--hosts 50] [--ports 20] [--backend postgresql]
                                    [--api-workers 2] [--rpc-workers 0] [--single]
                                    [--agent-procs N] [--agent-nice 10]

Needs RabbitMQ at 127.0.0.1:5672 and rabbitmqctl (a vhost of its own, deleted at
the end; tests/dataplane/vhost.py), and the chosen database (make services). No
root, no dataplane: each host is a simulated Linux bridge agent (bench/sim_agents.py)
speaking the real RPC (neutrino.agent.common: AgentLoop, PluginApi,
NotificationListener on the five L2 fanout topics; StateReporter) whose "kernel"
is a set of plugged devices. Its sync is the real agent's RPC path: fetch the
"l2" desired state, ask the details of the devices to report up, report the
plugged ones not ACTIVE up and the ACTIVE ones not plugged down, in one
update_device_list (or, with --single, one update_device_up per device: the old
path, for comparison).

The simulated agents run in --agent-procs OS processes of their own (default: at
most 50 agents each), at --agent-nice (default 10): they stand for other machines,
so on this 2-core box their CPU must not be taken from the server under test, and
one process of 200 agents (one GIL) was slower than the server it measured
(docs/rpc.md, "On a quiet machine"). This process is the orchestrator: the API
calls, the database reads, the prober, the queue sampler, the server's restart;
it commands the agent processes over pipes (bench/sim_agents.py), and a crashed
agent process fails the run.

Phases (figures printed at each):

1. registration: every agent started (listeners, heartbeat with start_flag, first
   sync) until each has its first report answered;
2. heartbeats: --idle seconds of agents reporting every --report-interval s: the
   server's CPU per heartbeat;
3. burst: --ports ports per host created bound to it (one bulk POST per host,
   --clients at a time, each host's network in a project of its own), each host's
   devices "plugged" as its POST returns (the agent triggered as a tap appearing
   would), until every port is ACTIVE;
4. resync storm: the server stopped, every port set DOWN in the database (as if the
   hosts had rebooted), the server started again and every agent asked for a full
   resync at the same instant, until every port is ACTIVE again.

Before the burst and before the storm the benchmark waits (at most
--settle-timeout s) until the vhost's queues are empty, so that each phase measures
its own work, not the backlog of the one before.

For phases 3 and 4: time to converge, server CPU per port (all server processes,
/proc), desired-state fetches per agent (the coalescing: one per burst, not one per
notification), API latency p50/p99 of a prober (GET network, GET ports of a
network, every 50 ms) and of the bulk POSTs, the deepest RabbitMQ queues
(management API when enabled, else rabbitmqctl list_queues, sampled every
second), errors; at the end the resident memory of each server process.
Everything shares the machine: the simulated agents' CPU (the sum over their
processes, printed) is not the server's but competes with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import oslo_messaging  # noqa: E402
import rabbit_node  # noqa: E402
from sim_agents import (  # noqa: E402
    AgentFleet,
    Counters,
    default_procs,
    process_cpu,
    quiet_logging,
    sim_transport,
)
from sqlalchemy import create_engine, func, select, update  # noqa: E402

from api import server_cpu_seconds  # noqa: E402
from backends import database  # noqa: E402
from dataplane import vhost  # noqa: E402
from neutrino.agent.common.rpc import PluginApi  # noqa: E402
from neutrino.db import models  # noqa: E402
from rpc_helpers import rabbit_answers  # noqa: E402
from server import Api, ServerProcess  # noqa: E402

QUOTAS = ("[quotas]\nquota_port = -1\nquota_network = -1\nquota_subnet = -1\n"
          "quota_security_group_rule = -1\n")
HOSTS_PER_NETWORK = 5


# -- measuring -------------------------------------------------------------------------


class Profile:
    """py-spy sampling the server's processes (--profile DIR) during a phase, without
    stopping them (--nonblocking); collapsed stacks written to DIR/<phase>.txt."""

    def __init__(self, py_spy: str | None, out_dir: str | None, pid: int,
                 name: str) -> None:
        self.command = None
        if py_spy and out_dir:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            self.command = [py_spy, "record", "--pid", str(pid), "--subprocesses",
                            "--nonblocking", "--rate", "50", "--format", "raw",
                            "--output", str(Path(out_dir) / f"{name}.txt")]
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Profile:
        if self.command:
            self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)  # py-spy writes its output then
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()



def processes(count: int) -> str:
    return f"{count} process{'es' if count != 1 else ''}"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Prober:
    """API latency as a user sees it while agents storm: GET a network, GET a
    network's ports (50), alternately every 50 ms."""

    def __init__(self, api: Api, network_ids: list[str]) -> None:
        self.api = api
        self.network_ids = network_ids
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        turn = 0
        while not self._stop.wait(0.05):
            net = random.choice(self.network_ids)
            t0 = time.perf_counter()
            try:
                if turn % 2:
                    answer = self.api.get(f"networks/{net}")
                else:
                    answer = self.api.get("ports", params={"network_id": net,
                                                           "limit": 50})
                if answer.status_code != 200:
                    self.errors += 1
            except Exception:  # noqa: BLE001 - the server restarting: counted
                self.errors += 1
                continue
            self.latencies.append(time.perf_counter() - t0)
            turn += 1


# A rabbitmqctl boots an Erlang VM: 0.6 s of both cores here, every few seconds. At
# the same priority as the server it made the API's slowest requests in a storm
# (hundreds of ms each time it ran); the measuring must not compete with the measured.
SAMPLER_NICE = 19


class QueueSampler:
    """The deepest RabbitMQ queues of the vhost, sampled every --queue-interval s."""

    def __init__(self, vhost_name: str, node: rabbit_node.RabbitNode | None = None,
                 interval: float = 5.0) -> None:
        self.vhost = vhost_name
        self.node = node  # a private node: its own rabbitmqctl, no management API
        self.interval = interval
        self.max_total = 0
        self.max_by_queue: dict[str, int] = {}
        self.source = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> QueueSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _management(self) -> dict[str, int] | None:
        url = f"http://127.0.0.1:15672/api/queues/{urllib.parse.quote(self.vhost, safe='')}"
        request = urllib.request.Request(url)
        request.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")  # guest:guest
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                queues = json.load(answer)
        except OSError:
            return None
        return {q["name"]: int(q.get("messages") or 0) for q in queues}

    def _rabbitmqctl(self) -> dict[str, int]:
        if self.node is not None:
            out = self.node.ctl("-q", "list_queues", "-p", self.vhost, "name",
                                "messages", timeout=30, nice=SAMPLER_NICE)
        else:
            out = subprocess.run(["nice", "-n", str(SAMPLER_NICE), "rabbitmqctl", "-q",
                                  "list_queues", "-p", self.vhost, "name", "messages"],
                                 capture_output=True, text=True, timeout=30).stdout
        depths: dict[str, int] = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                depths[parts[0]] = int(parts[1])
        return depths

    def depths(self) -> dict[str, int]:
        """Messages in each queue of the vhost now."""
        depths = (self._management()
                  if self.source != "rabbitmqctl" and self.node is None else None)
        if depths is None:
            self.source = "rabbitmqctl"
            depths = self._rabbitmqctl()
        elif not self.source:
            self.source = "management API"
        return depths

    def sample(self) -> None:
        depths = self.depths()
        self.max_total = max(self.max_total, sum(depths.values()))
        for name, depth in depths.items():
            self.max_by_queue[name] = max(self.max_by_queue.get(name, 0), depth)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a missed sample is no failure
                pass
            # Each rabbitmqctl boots an Erlang VM (1-2 s of CPU on this machine):
            # sampled every few seconds, not every second, to leave the CPU to the
            # server.
            self._stop.wait(self.interval)

    def top(self, count: int = 3) -> str:
        top = sorted(self.max_by_queue.items(), key=lambda kv: -kv[1])[:count]
        return ", ".join(f"{name} {depth}" for name, depth in top if depth) or "all 0"


@dataclass
class Phase:
    key: str
    name: str
    ports: int
    seconds: float = 0.0
    cpu: float = 0.0
    fetches: list[int] = field(default_factory=list)
    notified: list[int] = field(default_factory=list)  # let through (interest)
    api: list[float] = field(default_factory=list)
    posts: list[float] = field(default_factory=list)
    api_errors: int = 0
    post_errors: int = 0  # bulk POSTs answered 503 (and tried again)
    agent_errors: int = 0
    report_errors: int = 0
    agents_cpu: float = 0.0
    own_cpu: float = 0.0  # the orchestrator's (prober, queue sampler, API calls)
    agent_procs: int = 1
    queue_total: int = 0
    queues: str = ""

    def lines(self) -> list[str]:
        ms = [v * 1000 for v in self.api]
        out = [f"== {self.name}: {self.ports} ports",
               f"converged (every port ACTIVE)   {self.seconds:.2f} s",
               f"server CPU                      {self.cpu:.2f} s = "
               f"{1000 * self.cpu / max(self.ports, 1):.2f} ms per port",
               f"desired-state fetches per agent median {statistics.median(self.fetches)}"
               f", max {max(self.fetches)} (notifications heard per agent median "
               f"{statistics.median(self.notified)}, max {max(self.notified)})",
               f"API p50 / p99 (prober, {len(ms)} requests)  {percentile(ms, 0.5):.1f} / "
               f"{percentile(ms, 0.99):.1f} ms, errors {self.api_errors}"]
        if self.posts:
            posts = [v * 1000 for v in self.posts]
            out.append(f"bulk POST p50 / p99 ({len(posts)})  {percentile(posts, 0.5):.0f} / "
                       f"{percentile(posts, 0.99):.0f} ms, answered 503 {self.post_errors}")
        out += [f"RabbitMQ deepest: total {self.queue_total}; {self.queues}",
                f"agent errors: failed syncs or devices {self.agent_errors}, failed "
                f"heartbeats {self.report_errors}",
                f"simulated agents' CPU ({processes(self.agent_procs)}) "
                f"{self.agents_cpu:.1f} s; the orchestrator's {self.own_cpu:.1f} s"]
        return out


# -- the benchmark ---------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, server: ServerProcess, bus_url: str,
                 db_url: str, state_dir: Path, fleet: AgentFleet,
                 node: rabbit_node.RabbitNode | None = None) -> None:
        self.args = args
        self.server = server
        self.bus_url = bus_url
        self.node = node
        self.vhost = bus_url.rsplit("/", 1)[1] or "/"
        self.db = create_engine(db_url)
        self.api = Api(server.url)
        self.hosts = fleet.hosts
        self.fleet = fleet
        self.fleet.prepare(bus_url, state_dir, args.transports, args)
        # The orchestrator's own, for the RPC probe (the agents' are in their
        # processes).
        self.transport = sim_transport(bus_url, state_dir, 1)
        self.networks: list[tuple[str, str, str]] = []  # (id, subnet id, project)
        self.total = args.hosts * args.ports
        self.server_started = time.monotonic()  # the API answers (ServerProcess)

    def active(self) -> int:
        with self.db.connect() as conn:
            return conn.scalar(select(func.count()).select_from(models.Port)
                               .where(models.Port.status == "ACTIVE")) or 0

    def setup_networks(self) -> None:
        count = max(1, -(-self.args.hosts // HOSTS_PER_NETWORK))
        for i in range(count):
            project = f"scale-{i}"
            api = self.api.as_project(project, ["admin"])
            net = api.network(name=f"scale-{i}")
            cidr = f"10.{i // 16}.{(i % 16) * 16}.0/20"
            subnet = api.subnet(net["id"], cidr, enable_dhcp=False)
            self.networks.append((net["id"], subnet["id"], project))

    def rpc_ready(self, since: float, timeout: float, deadline: float = 180) -> float:
        """Seconds from `since` until the server's RPC servers answer a call. With
        rpc_workers the API answers first; until a worker declares the topic
        queues, the broker drops calls to them (the agents' first reports would
        time out after --rpc-timeout), after that they wait in the queues.

        `timeout` per call: on a fresh broker (the first start) a short one, as a
        call sent before the queue exists is dropped, not answered late; after a
        restart the agents' own (--rpc-timeout), as the call then waits in q-plugin
        behind the agents' and is answered when the bus first serves it. (With 2 s
        and retries, the session 9 probe reported when a backlog of more than 2 s
        of calls had drained.)"""
        probe = PluginApi(self.transport, "bench-probe", "bench-probe", timeout=timeout)
        while True:
            try:
                probe.get_desired_state("l2")
                return time.monotonic() - since
            except oslo_messaging.MessagingTimeout:
                if time.monotonic() - since > deadline:
                    raise

    def wait_rpc(self) -> None:
        print(f"== RPC served {self.rpc_ready(self.server_started, 2):.2f} s after the "
              "API answered")

    def counters(self) -> list[Counters]:
        return self.fleet.counters()[0]

    def register(self) -> None:
        t0 = time.monotonic()
        self.fleet.start()
        started = time.monotonic() - t0
        counters = self.counters()
        while any(c.first_report is None for c in counters):
            if time.monotonic() - t0 > 300:
                raise RuntimeError("agents did not register in 300 s")
            time.sleep(0.2)
            counters = self.counters()
        # time.monotonic() is one clock for every process on Linux.
        last = max(c.first_report or 0 for c in counters) - t0
        print(f"== registration: {len(self.hosts)} agents started in {started:.2f} s "
              f"(listeners: {5 * len(self.hosts)} RPC servers, in "
              f"{processes(len(self.fleet.procs))}), "
              f"all reported by {last:.2f} s")

    def heartbeats(self) -> None:
        before = sum(c.reports for c in self.counters())
        cpu = server_cpu_seconds(self.server.proc.pid)
        time.sleep(self.args.idle)
        self.fleet.check()
        cpu = server_cpu_seconds(self.server.proc.pid) - cpu
        beats = sum(c.reports for c in self.counters()) - before
        print(f"== heartbeats: {beats} in {self.args.idle:.0f} s, server CPU "
              f"{cpu:.2f} s = {1000 * cpu / max(beats, 1):.2f} ms per heartbeat")

    def settle(self, before: str) -> None:
        """Wait (at most --settle-timeout s) until the vhost's queues are empty, so
        that a phase measures its own work, not the backlog of the one before (the
        quiet 200 x 50 run's storm started with 47,519 notifications of the burst
        still queued for the agents' listeners)."""
        sampler = QueueSampler(self.vhost, self.node)
        t0 = time.monotonic()
        while True:
            self.fleet.check()
            try:
                depths = sampler.depths()
            except (OSError, subprocess.SubprocessError) as error:
                depths = {"(no reading: " + str(error)[:60] + ")": -1}
            waited = time.monotonic() - t0
            total = sum(depths.values())
            if total == 0:
                print(f"== settled before the {before}: queues empty after {waited:.1f} s")
                return
            if waited > self.args.settle_timeout:
                top = sorted(depths.items(), key=lambda kv: -kv[1])[:3]
                print(f"!! not settled before the {before}: {total} messages queued "
                      f"after {waited:.1f} s ("
                      + ", ".join(f"{name} {depth}" for name, depth in top) + ")")
                return
            time.sleep(1)

    def _measured(self, phase: Phase, work: Any) -> Phase:
        before, agents_cpu = self.fleet.counters()
        fetches = [c.fetches for c in before]
        notified = [c.notified for c in before]
        errors = sum(c.errors for c in before)
        report_errors = sum(c.report_errors for c in before)
        own_cpu = process_cpu()
        cpu = server_cpu_seconds(self.server.proc.pid)
        with Prober(self.api, [n[0] for n in self.networks]) as prober, \
                QueueSampler(self.vhost, self.node, self.args.queue_interval) as queues:
            with Profile(self.args.py_spy, self.args.profile, self.server.proc.pid,
                         phase.key):
                t0 = time.monotonic()
                work(phase)
                while self.active() < self.total:
                    self.fleet.check()
                    if time.monotonic() - t0 > self.args.timeout:
                        print(f"!! not converged after {self.args.timeout} s: "
                              f"{self.active()} of {self.total} ACTIVE")
                        break
                    time.sleep(0.2)
                phase.seconds = time.monotonic() - t0
                phase.cpu = server_cpu_seconds(self.server.proc.pid) - cpu
                phase.own_cpu = process_cpu() - own_cpu
                phase.agents_cpu = self.fleet.counters()[1] - agents_cpu
            time.sleep(self.args.polling_interval + 0.5)  # fetches the burst caused
        after = self.counters()
        phase.agent_procs = len(self.fleet.procs)
        phase.fetches = [a.fetches - f for a, f in zip(after, fetches, strict=True)]
        phase.notified = [a.notified - n for a, n in zip(after, notified, strict=True)]
        phase.api, phase.api_errors = prober.latencies, prober.errors
        phase.agent_errors = sum(a.errors for a in after) - errors
        phase.report_errors = sum(a.report_errors for a in after) - report_errors
        phase.queue_total, phase.queues = queues.max_total, queues.top()
        for line in phase.lines():
            print(line)
        return phase

    def burst(self) -> Phase:
        def create(phase: Phase) -> None:
            def one(index: int) -> None:
                host = self.hosts[index]
                net_id, subnet_id, project = self.networks[index // HOSTS_PER_NETWORK]
                api = self.api.as_project(project, ["admin"])
                # On an overloaded machine a bulk POST of 50 took over the client's
                # 60 s: waited for (one given up on may still create its ports,
                # which no agent would then plug).
                api.client.timeout = httpx.Timeout(600)
                body = {"ports": [{"network_id": net_id, "binding:host_id": host,
                                   "device_owner": "compute:nova",
                                   "fixed_ips": [{"subnet_id": subnet_id}]}
                                  for _ in range(self.args.ports)]}
                for _ in range(3):
                    t0 = time.perf_counter()
                    answer = api.post("ports", body)
                    phase.posts.append(time.perf_counter() - t0)
                    if answer.status_code != 503:
                        break
                    # Overload (no database connection in time): rolled back, counted,
                    # tried again rather than ending the run.
                    phase.post_errors += 1
                if answer.status_code != 201:
                    raise RuntimeError(f"bulk POST: {answer.status_code} {answer.text}")
                self.fleet.plug(host, ["tap" + p["id"][:11]
                                       for p in answer.json()["ports"]])
            with ThreadPoolExecutor(self.args.clients) as pool:
                list(pool.map(one, range(len(self.hosts))))
        return self._measured(Phase("burst", "burst of port creations", self.total), create)

    def storm(self) -> Phase:
        self.server.stop()
        with self.db.begin() as conn:
            conn.execute(update(models.Port).values(status="DOWN"))
        t0 = time.monotonic()
        self.server.start(timeout=60)
        print(f"== server restarted in {time.monotonic() - t0:.2f} s "
              "(every port DOWN meanwhile)")

        api_up = time.monotonic()
        ready: list[float] = []
        probe = threading.Thread(
            target=lambda: ready.append(self.rpc_ready(api_up, self.args.rpc_timeout)),
            daemon=True)

        def resync(phase: Phase) -> None:
            probe.start()
            self.fleet.trigger("server restarted")
        phase = self._measured(Phase("storm", "resync storm after a server restart",
                                     self.total), resync)
        probe.join(self.args.rpc_timeout)
        print(f"RPC served {ready[0]:.2f} s after the API answered (the probe's call "
              "sent with the agents')" if ready
              else f"RPC not served {self.args.rpc_timeout:.0f} s after the storm")
        return phase

    def memory(self) -> None:
        pids = [self.server.proc.pid]
        todo = list(pids)
        while todo:
            pid = todo.pop()
            for task in Path(f"/proc/{pid}/task").iterdir():
                children = [int(c) for c in (task / "children").read_text().split()]
                pids += children
                todo += children
        sizes = []
        for pid in pids:
            status = Path(f"/proc/{pid}/status").read_text()
            rss = next(int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:"))
            name = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:60]
            sizes.append(f"{pid} {rss / 1024:.0f} MiB ({name.strip()})")
        print("== server processes' resident memory: " + "; ".join(sizes))

    def close(self) -> None:
        try:
            self.fleet.close()
        finally:
            self.transport.cleanup()
            self.db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--ports", type=int, default=20, help="ports per host")
    parser.add_argument("--backend", default="postgresql",
                        choices=("sqlite", "postgresql", "mysql"))
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--rpc-workers", type=int, default=0)
    parser.add_argument("--single", action="store_true",
                        help="report devices one call each (the path before "
                             "update_device_list)")
    parser.add_argument("--polling-interval", type=float, default=2.0)
    parser.add_argument("--report-interval", type=float, default=10.0)
    parser.add_argument("--idle", type=float, default=12.0,
                        help="seconds of heartbeats measured")
    parser.add_argument("--clients", type=int, default=8,
                        help="bulk POSTs in flight in the burst")
    parser.add_argument("--transports", type=int, default=4,
                        help="oslo.messaging transports the agents share (in all, "
                             "spread over the agent processes, at least one each)")
    parser.add_argument("--agent-procs", type=int,
                        help="OS processes the simulated agents run in (default: "
                             "enough that none holds more than 50 agents)")
    parser.add_argument("--agent-nice", type=int, default=10,
                        help="os.nice of the agent processes (0: not lowered): they "
                             "stand for other machines, their CPU must not be taken "
                             "from the server under test")
    parser.add_argument("--settle-timeout", type=float, default=180,
                        help="before the burst and the storm, wait at most this many "
                             "seconds for the vhost's queues to be empty")
    parser.add_argument("--rpc-timeout", type=float, default=60)
    parser.add_argument("--timeout", type=float, default=300,
                        help="give up converging after this many seconds")
    parser.add_argument("--broker", choices=("private", "shared"), default="private",
                        help="private: a RabbitMQ node of the benchmark's own "
                             "(bench/rabbit_node.py: free ports, its own files, "
                             "65,536 file descriptors or the hard limit), stopped at "
                             "the end; shared: a vhost on the broker at 127.0.0.1:5672")
    parser.add_argument("--max-connections", type=int, default=600,
                        help="with --broker shared, refuse to open more AMQP "
                             "connections than this (each agent holds 5 listeners, "
                             "as the real one; this machine's shared broker has 1,024 "
                             "file descriptors and other users)")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy the server's processes during the burst and the "
                             "storm: collapsed stacks in DIR/burst.txt, DIR/storm.txt")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"),
                        help="the py-spy executable (for --profile)")
    parser.add_argument("--server-log", help="keep a copy of the server's log here")
    parser.add_argument("--server-option", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="a [DEFAULT] option of the server's configuration (again "
                             "for more), e.g. executor_thread_pool_size=2")
    parser.add_argument("--storms", type=int, default=1,
                        help="resync storms in a row (a restart each): more API "
                             "samples under the storm")
    parser.add_argument("--queue-interval", type=float, default=5.0,
                        help="seconds between RabbitMQ queue depth samples")
    args = parser.parse_args(argv)
    # Line by line, also into a file or a pipe: the agent processes and the server
    # write to the same stderr, the order of events must survive.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.agent_procs is None:
        args.agent_procs = default_procs(args.hosts)
    args.agent_procs = max(1, min(args.agent_procs, args.hosts))
    connections = (5 * args.hosts + max(args.transports, args.agent_procs) + 1
                   + 2 * args.api_workers + 10)
    if args.broker == "shared" and connections > args.max_connections:
        print(f"{args.hosts} hosts need about {connections} AMQP connections, more than "
              f"--max-connections {args.max_connections}: use --broker private (the "
              "default), or raise the shared broker's file descriptor limit (a broker "
              "out of them fails, here its rabbit application stopped) and then "
              "--max-connections", file=sys.stderr)
        return 2
    quiet_logging()
    if args.broker == "shared":
        if not rabbit_answers():
            print("RabbitMQ not reachable at 127.0.0.1:5672 (make services)",
                  file=sys.stderr)
            return 2
        if vhost.available() is not None:
            print(vhost.available(), file=sys.stderr)
            return 2
    elif rabbit_node.available() is not None:
        print(rabbit_node.available(), file=sys.stderr)
        return 2
    server_options = "; server " + ", ".join(args.server_option) if args.server_option \
        else ""
    print(f"{args.hosts} hosts x {args.ports} ports, {args.backend}, api_workers "
          f"{args.api_workers}, rpc_workers {args.rpc_workers}, "
          f"{'single calls' if args.single else 'update_device_list'}, polling_interval "
          f"{args.polling_interval} s, {args.broker} broker, simulated agents in "
          f"{processes(args.agent_procs)} at nice "
          f"{args.agent_nice}{server_options}; load average "
          f"{os.getloadavg()[0]:.2f}")
    # A SIGTERM ends the run as Ctrl-C does: the cleanup below (agent processes,
    # server, broker, database) runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with contextlib.ExitStack() as stack:
        # Spawned first (their imports overlap the broker's start); their agents and
        # transports are built once the bus is known (Bench: fleet.prepare).
        hosts = [f"sim-{i:04d}" for i in range(args.hosts)]
        fleet = stack.enter_context(AgentFleet(hosts, args.agent_procs,
                                               args.agent_nice))
        print(f"agent processes: pids {' '.join(map(str, fleet.pids()))}, "
              f"{-(-args.hosts // len(fleet.procs))} simulated agents each at most")
        node = None
        if args.broker == "private":
            t0 = time.monotonic()
            node = stack.enter_context(rabbit_node.private_node())
            bus_url = node.url
            print(f"private RabbitMQ {node.name} on 127.0.0.1:{node.port} (pid "
                  f"{node.pid}, {node.files_limit} file descriptors), started in "
                  f"{time.monotonic() - t0:.1f} s")
        else:
            bus_url = stack.enter_context(vhost.private_vhost("bench-scale"))
        state = Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="bench-scale-")))
        extra = (f"transport_url = {bus_url}\nrpc_workers = {args.rpc_workers}\n"
                 f"api_threads = 8\n"
                 + "".join(f"{o.partition('=')[0].strip()} = {o.partition('=')[2].strip()}\n"
                           for o in args.server_option) + QUOTAS)
        with database(args.backend, state) as url, \
                ServerProcess(state, url, workers=args.api_workers,
                              extra_conf=extra) as server:
            bench = None
            try:
                bench = Bench(args, server, bus_url, url, state, fleet, node)
                bench.wait_rpc()
                bench.setup_networks()
                bench.register()
                bench.heartbeats()
                bench.settle("burst")
                bench.burst()
                for _ in range(args.storms):
                    bench.settle("storm")
                    bench.storm()
                bench.memory()
            except BaseException:
                print("server log (last lines):\n" + server.log.read_text()[-3000:],
                      file=sys.stderr)
                raise
            finally:
                if bench is not None:
                    bench.close()
                if args.server_log:
                    shutil.copyfile(server.log, args.server_log)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
