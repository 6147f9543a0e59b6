"""rpc_workers: separate processes serve the bus; the API workers do not, and an RPC
worker that dies is replaced."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from rpc_helpers import PluginClient, Reporter, dhcp_state, server_on_rabbit, unique
from server import Api, ServerProcess, free_port

LISTENING = re.compile(r" (\d+) INFO neutrino\.rpc\.server .*listening on topic (\S+)")
API_WORKER = re.compile(r"API worker (\d+) started")


def listeners(log: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for pid, topic in LISTENING.findall(log):
        out.setdefault(int(pid), set()).add(topic)
    return out


def wait_listeners(proc: ServerProcess, count: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {p: t for p, t in listeners(proc.log.read_text()).items()
                 if {"q-plugin", "q-reports-plugin"} <= t}
        if len(found) >= count:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{count} RPC workers not listening: {proc.log.read_text()[-3000:]}")


def metrics_ports(count: int) -> int:
    """The first of `count` consecutive free ports (checked, not assumed)."""
    while True:
        base = free_port()
        taken = False
        for port in range(base + 1, base + count):
            with socket.socket() as sock:
                taken = taken or sock.connect_ex(("127.0.0.1", port)) == 0
        if not taken:
            return base


def rpc_served(port: int) -> dict[str, float]:
    """worker -> report_state calls it served, scraped from its metrics (served
    once the worker has started its RPC servers: a moment to come up)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            break
        except httpx.ConnectError:
            assert time.monotonic() < deadline, f"no metrics on port {port}"
            time.sleep(0.2)
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "neutrino_rpc_requests_total" and \
                    labels["method"] == "report_state" and labels["outcome"] == "ok":
                out[labels["worker"]] = out.get(labels["worker"], 0) + sample.value
    return out


def test_rpc_workers_serve_the_bus(rabbit: str, bus: object, tmp_path: Path) -> None:
    # Metrics: the two API workers on port, port + 1; the RPC workers after them.
    port = metrics_ports(4)
    with server_on_rabbit(rabbit, "sqlite", tmp_path, workers=2, rpc_workers=2,
                          sections=f"[metrics]\nlisten_port = {port}\n"
                                   "broker_queues = true\n") as proc:
        serving = wait_listeners(proc, 2)
        api_pids = {int(p) for p in API_WORKER.findall(proc.log.read_text())}
        assert len(api_pids) == 2
        assert not api_pids & set(serving)  # API workers serve HTTP only
        # Forked (through the supervisor) from neutrino-server, whose code is
        # imported already, not fresh interpreters importing it all again (the
        # bus was then served 15-20 s after the API under load): its command line.
        assert proc.proc is not None
        master = Path(f"/proc/{proc.proc.pid}/cmdline").read_bytes()
        for pid in serving:
            assert Path(f"/proc/{pid}/cmdline").read_bytes() == master
        report = Reporter(bus, proc.rpc_name)
        hosts = [unique("host") for _ in range(4)]
        for host in hosts:
            assert report(dhcp_state(host)) == "new"
        api = Api(proc.url)
        assert sorted(a["host"] for a in api.get("agents").json()["agents"]) == sorted(
            hosts)
        plugin = PluginClient(bus, proc.rpc_name)
        assert plugin.call("get_desired_state", host=hosts[0], kind="dhcp") == {
            "host": hosts[0], "networks": []}

        # Each RPC worker's metrics: the calls it served, under its pid.
        served: dict[str, float] = {}
        for rpc_port in (port + 2, port + 3):
            served.update(rpc_served(rpc_port))
        assert {int(w) for w in served} <= set(serving), served
        assert sum(served.values()) >= len(hosts), served
        # The broker's side, from an API worker: both RPC workers consume the
        # server's own q-plugin queue.
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        consumers = {s.labels["queue"]: s.value for f in text_string_to_metric_families(text)
                     for s in f.samples if s.name == "neutrino_bus_queue_consumers"}
        assert consumers.get(f"q-plugin.{proc.rpc_name}") == 2, consumers

        # A dead RPC worker is replaced; the bus keeps being served.
        victim = sorted(serving)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = {p for p, t in listeners(proc.log.read_text()).items()
                   if {"q-plugin", "q-reports-plugin"} <= t}
            if len(now - {victim}) >= 2:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the killed RPC worker was not replaced")
        assert "exited with -9: restarting" in proc.log.read_text()
        assert report(dhcp_state(unique("host"))) == "new"

        # SIGHUP to the server (systemctl reload) replaces the RPC workers too, one
        # at a time: fresh processes that read the configuration again.
        before = set(listeners(proc.log.read_text()))
        assert proc.proc is not None
        os.kill(proc.proc.pid, signal.SIGHUP)  # gunicorn's master: our own child
        deadline = time.monotonic() + 90
        while "SIGHUP: RPC workers replaced" not in proc.log.read_text():
            assert time.monotonic() < deadline, proc.log.read_text()[-3000:]
            time.sleep(0.3)
        fresh = wait_listeners(proc, len(before) + 2).keys() - before
        assert len(fresh) >= 2, fresh
        assert report(dhcp_state(unique("host"))) == "new"
        assert proc.proc.poll() is None
