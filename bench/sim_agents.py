"""bench/scale.py's simulated L2 agents, spread over OS processes of their own.

One process holding 200 simulated agents (1,000 listeners, hundreds of threads, one
GIL) used more CPU than the server it measured (docs/rpc.md, "On a quiet machine"):
the benchmark, not the server, set the pace of the resync storm, and its fanout
queues backed up. So the agents run in `--agent-procs` processes (spawned, not
forked: each builds its own oslo.messaging transports after it starts, nothing of
the orchestrator's threads or connections is inherited), each owning a slice of
the hosts, and obey the orchestrator over a pipe (`AgentProc`): prepare, start,
plug, trigger, counters, stop.

Each process lowers its priority (`--agent-nice`, os.nice): the simulated agents
stand for 200 other machines, so on this 2-core box their CPU must not be taken
from the server under test; when the server needs a core, it gets it first.

A crash of an agent process ends the run: a command it cannot carry out is
answered with its traceback, raised in the orchestrator; a process that died is
found at the next command or `check` (`AgentProcessFailed`). `AgentFleet.close`
stops them and ends any still running by pid (SIGTERM, then SIGKILL); a process
whose orchestrator died sees its pipe close and stops itself.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from neutrino import conf as conf_mod
from neutrino.agent.common.loop import AgentLoop
from neutrino.agent.common.rpc import NotificationListener, PluginApi
from neutrino.contract import bus
from neutrino.contract.bus import StateReporter
from rpc_helpers import lb_state

try:
    from neutrino.agent.common.interest import Interest
except ImportError:  # the code before issue 17 (a before/after run): no filter
    Interest = None  # type: ignore[assignment,misc]


def quiet_logging() -> None:
    """The log levels of the orchestrator and of each agent process."""
    logging.basicConfig(level=logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # amqp's chatter while hundreds of connections close at the end.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    # Each simulated agent would warn that the driver's reconnection logs are off
    # (the real agent's reconnection resync): the benchmark restarts no broker.
    logging.getLogger("neutrino.agent.common.reconnect").setLevel(logging.ERROR)
    # "Number of call queues is N, greater than warning threshold": N agents
    # sharing a transport wait for N replies at once, by design here.
    logging.getLogger("oslo_messaging._drivers.amqpdriver").setLevel(logging.ERROR)


# -- a simulated host ----------------------------------------------------------------


class SimAgent:
    """A Linux bridge agent without a dataplane: the real loop, calls and listener."""

    def __init__(self, host: str, index: int, rpc: Any, args: argparse.Namespace) -> None:
        self.host = host
        self.tunnel_ip = f"10.255.{index // 250}.{index % 250 + 1}"
        self.args = args
        self.rpc = rpc
        self.plugin = PluginApi(rpc, host, f"lb-{host}", timeout=args.rpc_timeout)
        self.reporter = StateReporter(rpc, host, timeout=args.rpc_timeout)
        self.plugged: set[str] = set()
        self.lock = threading.Lock()
        self.fetches = 0
        self.errors = 0  # failed syncs and devices
        self.report_errors = 0  # failed heartbeats
        self.reports = 0
        self.notified = 0  # notifications heard (each one a trigger)
        # time.monotonic() of the first answered report: CLOCK_MONOTONIC is the
        # same clock in every process on Linux, so the orchestrator compares it.
        self.first_report: float | None = None
        self.loop: AgentLoop | None = None
        # As the real agent: only notifications about its host wake it.
        self.interest = Interest(host) if Interest is not None else None
        self.listener: NotificationListener | None = None

    def start(self) -> None:
        self.loop = AgentLoop(self.sync, self.report,
                              report_interval=self.args.report_interval,
                              resync_interval=600,
                              polling_interval=self.args.polling_interval)
        filtering = {"wants": self.interest.wants} if self.interest else {}
        self.listener = NotificationListener(self.rpc, self.host, self._notified,
                                             **filtering)
        self.listener.start()
        self.loop.start()

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        if self.listener is not None:
            self.listener.stop()

    def _notified(self, reason: str) -> None:
        self.notified += 1
        if self.loop is not None:
            self.loop.trigger(reason)

    def plug(self, devices: list[str]) -> None:
        with self.lock:
            self.plugged.update(devices)
        if self.loop is not None:
            self.loop.trigger("devices plugged")

    def report(self, start_flag: bool) -> None:
        try:
            self.reporter.report(lb_state(self.host, self.tunnel_ip,
                                          start_flag=start_flag))
        except Exception:
            self.report_errors += 1
            raise
        self.reports += 1
        if self.first_report is None:
            self.first_report = time.monotonic()

    def sync(self) -> None:
        try:
            self._sync()
        except Exception:
            self.errors += 1
            raise

    def _sync(self) -> None:
        state = self.plugin.get_desired_state("l2")
        self.fetches += 1
        if self.interest is not None:
            self.interest.update(state)
        with self.lock:
            plugged = set(self.plugged)
        up = [p["device"] for p in state["ports"]
              if p["device"] in plugged and p["status"] != "ACTIVE"]
        down = [p["device"] for p in state["ports"]
                if p["device"] not in plugged and p["status"] == "ACTIVE"]
        if up:  # as the real agent: details first (retries failed bindings)
            details = self.plugin.get_devices_details_list(up)
            up = [d["device"] for d in details if d.get("port_id")]
        if self.args.single:
            for device in up:
                self.plugin.update_device_up(device)
            for device in down:
                self.plugin.update_device_down(device)
        elif up or down:
            answer = self.plugin.update_device_list(up, down)
            self.errors += len(answer["failed_devices_up"]) + len(
                answer["failed_devices_down"])

    def counters(self) -> Counters:
        return Counters(self.fetches, self.notified, self.errors, self.report_errors,
                        self.reports, self.first_report)


@dataclass(frozen=True)
class Counters:
    """One simulated agent's counters, as the orchestrator reads them."""

    fetches: int
    notified: int
    errors: int
    report_errors: int
    reports: int
    first_report: float | None  # time.monotonic(), system-wide on Linux


def sim_transport(url: str, state_dir: Path, hosts: int) -> Any:
    """A transport several simulated agents share. Its connection pool is sized for
    all of them calling at once (beyond rpc_conn_pool_size oslo.messaging opens
    connections anyway, warning each time), and each listener runs its endpoint on
    one thread: the endpoint only triggers the agent's loop (a real agent's
    listeners would start up to 64 threads each, 1,000 listeners here)."""
    config = state_dir / f"sim-transport-{uuid.uuid4().hex[:8]}.conf"
    config.write_text(f"[DEFAULT]\ntransport_url = {url}\nexecutor_thread_pool_size = 1\n"
                      f"[oslo_messaging_rabbit]\nrpc_conn_pool_size = {hosts + 10}\n")
    return bus.get_transport(conf_mod.new_conf(["--config-file", str(config)]))


def process_cpu() -> float:
    """User+system CPU seconds of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the agent process -----------------------------------------------------------------


class AgentHost:
    """What runs in an agent process: its slice of the simulated agents."""

    def __init__(self) -> None:
        self.agents: dict[str, SimAgent] = {}
        self.transports: list[Any] = []

    def prepare(self, bus_url: str, state_dir: str, hosts: list[tuple[str, int]],
                transports: int, args: argparse.Namespace) -> None:
        self.transports = [sim_transport(bus_url, Path(state_dir), len(hosts))
                           for _ in range(transports)]
        self.agents = {host: SimAgent(host, index, self.transports[i % transports], args)
                       for i, (host, index) in enumerate(hosts)}

    def start(self) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda a: a.start(), self.agents.values()))

    def plug(self, host: str, devices: list[str]) -> None:
        self.agents[host].plug(devices)

    def trigger(self, reason: str) -> None:
        for agent in self.agents.values():
            assert agent.loop is not None
            agent.loop.trigger(reason)

    def counters(self) -> tuple[dict[str, Counters], float]:
        return ({host: a.counters() for host, a in self.agents.items()}, process_cpu())

    def stop(self) -> None:
        # A heartbeat in flight when its transport closes logs a failure: not one.
        logging.getLogger("neutrino.agent.common.loop").setLevel(logging.CRITICAL)
        # All at once: a listener's stop waits for its poll (about a second each).
        with ThreadPoolExecutor(64) as pool:
            list(pool.map(lambda a: a.stop(), self.agents.values()))
        for rpc in self.transports:
            rpc.cleanup()
        self.transports = []


def agent_process(conn: Connection, nice: int) -> None:
    """An agent process's main: carry out the orchestrator's commands, in order,
    until "stop" or its pipe closes (the orchestrator gone)."""
    # Ctrl-C reaches the whole process group: the orchestrator stops this process
    # (its cleanup), a KeyboardInterrupt here would only race it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        os.nice(nice)
    quiet_logging()
    host = AgentHost()
    try:
        while True:
            try:
                command, kwargs = conn.recv()
            except (EOFError, OSError):
                return  # the orchestrator is gone
            try:
                answer = getattr(host, command)(**kwargs)
            except BaseException:  # noqa: BLE001 - the orchestrator raises it
                conn.send(("error", traceback.format_exc()))
                continue
            conn.send(("ok", answer))
            if command == "stop":
                return
    finally:
        if host.transports:
            host.stop()


# -- the orchestrator's side -----------------------------------------------------------


class AgentProcessFailed(RuntimeError):
    pass


class AgentProc:
    """One agent process, seen from the orchestrator: a command at a time."""

    def __init__(self, index: int, hosts: list[tuple[str, int]], nice: int) -> None:
        self.index = index
        self.hosts = hosts
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=agent_process, args=(child, nice),
                                    name=f"sim-agents-{index}", daemon=True)
        # Its imports' warnings are the orchestrator's, printed once there already.
        warnings = os.environ.get("PYTHONWARNINGS")
        os.environ["PYTHONWARNINGS"] = "ignore"
        try:
            self.proc.start()
        finally:
            if warnings is None:
                del os.environ["PYTHONWARNINGS"]
            else:
                os.environ["PYTHONWARNINGS"] = warnings
        child.close()  # so that its death reads as EOF here
        self.lock = threading.Lock()  # the burst plugs from several threads

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None
        return self.proc.pid

    def _failed(self, what: str) -> AgentProcessFailed:
        self.proc.join(1)
        return AgentProcessFailed(f"agent process {self.index} (pid {self.pid}) {what}; "
                                  f"exit code {self.proc.exitcode}")

    def send(self, command: str, **kwargs: Any) -> None:
        try:
            self.conn.send((command, kwargs))
        except OSError as error:
            raise self._failed(f"unreachable ({error})") from None

    def receive(self, command: str, timeout: float | None = None) -> Any:
        try:
            if not self.conn.poll(timeout):
                raise self._failed(f"did not answer {command!r} in {timeout} s")
            status, answer = self.conn.recv()
        except (EOFError, OSError):
            raise self._failed(f"died during {command!r}") from None
        if status != "ok":
            raise AgentProcessFailed(f"agent process {self.index} (pid {self.pid}) "
                                     f"failed {command!r}:\n{answer}")
        return answer

    def call(self, command: str, timeout: float | None = None, **kwargs: Any) -> Any:
        with self.lock:
            self.send(command, **kwargs)
            return self.receive(command, timeout)

    def check(self) -> None:
        if not self.proc.is_alive():
            raise self._failed("died")

    def end(self) -> None:
        """End the process by its pid if it is still running."""
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.terminate()  # SIGTERM to self.pid
            self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def default_procs(hosts: int) -> int:
    """Enough processes that none holds more than about 50 agents."""
    return max(1, math.ceil(hosts / 50))


class AgentFleet:
    """The simulated agents of every host, in `procs` processes; host i in process
    i % procs (so the burst, which plugs hosts in order, spreads over all)."""

    def __init__(self, hosts: list[str], procs: int, nice: int) -> None:
        self.hosts = hosts
        self.procs: list[AgentProc] = []
        self.where: dict[str, AgentProc] = {}
        procs = max(1, min(procs, len(hosts)))
        try:
            for p in range(procs):
                mine = [(h, i) for i, h in enumerate(hosts) if i % procs == p]
                self.procs.append(AgentProc(p, mine, nice))
        except BaseException:
            self.close()
            raise
        for proc in self.procs:
            for host, _ in proc.hosts:
                self.where[host] = proc

    def __enter__(self) -> AgentFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def all(self, command: str, timeout: float | None = None,
            each: dict[int, dict[str, Any]] | None = None, **kwargs: Any) -> list[Any]:
        """`command` in every process at once; their answers in process order.
        `each`: arguments of one process's own (by its index)."""
        for proc in self.procs:
            proc.lock.acquire()
        try:
            for proc in self.procs:
                proc.send(command, **kwargs, **(each or {}).get(proc.index, {}))
            return [proc.receive(command, timeout) for proc in self.procs]
        finally:
            for proc in self.procs:
                proc.lock.release()

    def prepare(self, bus_url: str, state_dir: Path, transports: int,
                args: argparse.Namespace) -> None:
        """Each process builds its transports (`transports` in all, at least one
        each) and agents."""
        per_proc = max(1, math.ceil(transports / len(self.procs)))
        self.all("prepare", timeout=300, bus_url=bus_url, state_dir=str(state_dir),
                 transports=per_proc, args=args,
                 each={p.index: {"hosts": p.hosts} for p in self.procs})

    def start(self) -> None:
        self.all("start", timeout=600)

    def plug(self, host: str, devices: list[str]) -> None:
        self.where[host].call("plug", timeout=60, host=host, devices=devices)

    def trigger(self, reason: str) -> None:
        self.all("trigger", timeout=60, reason=reason)

    def counters(self) -> tuple[list[Counters], float]:
        """Every agent's counters in host order, and the processes' CPU seconds."""
        by_host: dict[str, Counters] = {}
        cpu = 0.0
        for counters, proc_cpu in self.all("counters", timeout=60):
            by_host.update(counters)
            cpu += proc_cpu
        return [by_host[h] for h in self.hosts], cpu

    def check(self) -> None:
        for proc in self.procs:
            proc.check()

    def close(self) -> None:
        """Stop every process (its agents and transports), then end by pid any
        that did not exit."""
        stopping = []
        for proc in self.procs:  # all at once: each waits for its listeners' polls
            if proc.proc.is_alive():
                try:
                    proc.send("stop")
                    stopping.append(proc)
                except AgentProcessFailed as error:
                    print(f"!! {error}")
        for proc in stopping:
            try:
                proc.receive("stop", timeout=60)
            except AgentProcessFailed as error:
                print(f"!! {error}")
        for proc in self.procs:
            proc.end()
