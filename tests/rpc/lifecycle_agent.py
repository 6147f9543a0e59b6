"""A small test agent: a "Linux bridge agent" without a dataplane, speaking the real
bus contract (docs/rpc.md) and writing what it sees as JSON lines to a journal.

It reports its state every `interval` seconds on q-reports-plugin (first with
start_flag), listens on the q-agent-notifier-port-update fanout, and syncs at start
and after every notification (level-triggered: the message only says "look again"):
it fetches its l2 desired state (q-plugin get_desired_state) and calls
update_device_up for each port in it that is not ACTIVE yet, as a Linux bridge agent
does once the port's tap device is wired.

Importable (tests/rpc/test_agent_lifecycle.py runs it as a thread beside the server
on the in-process bus) and runnable as its own process against RabbitMQ:

    python tests/rpc/lifecycle_agent.py --transport-url rabbit://... \
        --control-exchange X --server NAME --host H --tunneling-ip IP --journal FILE

Journal records (one JSON object per line, with "t", the wall-clock time):
    {"event": "listening"}
    {"event": "report", "sent": t, "answer": "new" | "alive" | "revived"}
    {"event": "report_failed", "sent": t, "error": ...}
    {"event": "notification", "method": "port_update", "kwargs": {...}}
    {"event": "desired_state", "state": {...}}
    {"event": "device_up", "port_id": ..., "device": ...}
    {"event": "sync_failed", "error": ...}
    {"event": "stopped"}
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import oslo_messaging

from neutrino import conf as conf_mod
from neutrino.contract import bus as transport
from neutrino.contract import topics
from neutrino.contract.bus import StateReporter

LOG = logging.getLogger("lifecycle_agent")


class Journal:
    """Appends JSON lines to a file, one flushed line per record (another process
    reads it while this one writes)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> None:
        line = json.dumps({"t": time.time(), "event": event, **fields}, sort_keys=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()


def read_journal(path: Path) -> list[dict]:
    """The complete records written so far (a line being written is left out)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break
    return records


def lb_state(host: str, tunneling_ip: str, start_flag: bool) -> dict:
    """What a Linux bridge agent reports; tunnel_types lets ML2 bind vxlan ports here."""
    return {"agent_type": topics.AGENT_TYPE_LINUXBRIDGE,
            "binary": "neutrino-linuxbridge-agent", "topic": "N/A", "host": host,
            "start_flag": start_flag,
            "configurations": {"tunneling_ip": tunneling_ip, "tunnel_types": ["vxlan"],
                               "interface_mappings": {}, "bridge_mappings": {}}}


class PortUpdateEndpoint:
    """The fanout's endpoint: journals each message and asks for a sync."""

    target = oslo_messaging.Target(version="1.0")

    def __init__(self, agent: LifecycleAgent) -> None:
        self.agent = agent

    def port_update(self, context: Any, **kwargs: Any) -> None:
        self.agent.journal.write("notification", method="port_update", kwargs=kwargs)
        self.agent.trigger.set()


class LifecycleAgent:
    """Heartbeat, port-update listener and sync loop on one transport.

    `server`: the server's own queues (`<topic>.<server>`) on a broker that other
    test servers share; None: any server (the in-process bus has only ours).
    """

    def __init__(self, rpc_transport: oslo_messaging.Transport, host: str,
                 tunneling_ip: str, journal: Journal, server: str | None = None,
                 interval: float = 1.0, timeout: float = 10.0) -> None:
        self.transport = rpc_transport
        self.host = host
        self.agent_id = f"lifecycle-agent-{host}"
        self.tunneling_ip = tunneling_ip
        self.journal = journal
        self.interval = interval
        self.reporter = StateReporter(rpc_transport, host, timeout=timeout, server=server)
        target = oslo_messaging.Target(topic=topics.PLUGIN, version="1.0")
        client = oslo_messaging.get_rpc_client(rpc_transport, target, timeout=timeout)
        self.plugin: Any = client.prepare(server=server) if server else client
        self.trigger = threading.Event()
        self._stop = threading.Event()
        self._listener: Any = None
        self._threads: list[threading.Thread] = []

    def start(self) -> LifecycleAgent:
        # Listening before the first report: once the agent shows alive (and ports
        # can be bound to it), no notification about them can be missed.
        self._listener = oslo_messaging.get_rpc_server(
            self.transport, oslo_messaging.Target(topic=topics.PORT_UPDATE, server=self.host),
            [PortUpdateEndpoint(self)])
        self._listener.start()
        self.journal.write("listening")
        self.trigger.set()  # the full sync every agent does at start
        for name, target in (("heartbeat", self._heartbeat), ("sync", self._sync_loop)):
            thread = threading.Thread(target=target, name=f"lifecycle-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop reporting and listening (the server then sees the agent go down)."""
        self._stop.set()
        self.trigger.set()
        for thread in self._threads:
            thread.join(30)
        if self._listener is not None:
            self._listener.stop()
            self._listener.wait()
        self.journal.write("stopped")

    # -- heartbeat -------------------------------------------------------------------

    def _heartbeat(self) -> None:
        start_flag = True
        while not self._stop.is_set():
            sent = time.time()
            try:
                answer = self.reporter.report(
                    lb_state(self.host, self.tunneling_ip, start_flag))
            except Exception as error:  # noqa: BLE001 - the server may still be starting
                self.journal.write("report_failed", sent=sent, error=repr(error))
            else:
                start_flag = False
                self.journal.write("report", sent=sent, answer=answer)
            self._stop.wait(self.interval)

    # -- sync ------------------------------------------------------------------------

    def _sync_loop(self) -> None:
        while True:
            self.trigger.wait()
            if self._stop.is_set():
                return
            self.trigger.clear()
            try:
                self.sync()
            except Exception as error:  # noqa: BLE001 - retried, as a real agent does
                self.journal.write("sync_failed", error=repr(error))
                self._stop.wait(self.interval)
                self.trigger.set()

    def sync(self) -> None:
        state = self.plugin.call({}, "get_desired_state", host=self.host, kind="l2")
        self.journal.write("desired_state", state=state)
        for port in state["ports"]:
            if port["status"] == "ACTIVE":
                continue
            self.plugin.call({}, "update_device_up", device=port["device"],
                             agent_id=self.agent_id, host=self.host)
            self.journal.write("device_up", port_id=port["id"], device=port["device"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport-url", required=True)
    parser.add_argument("--control-exchange", default="openstack")
    parser.add_argument("--server", default=None,
                        help="the neutrino-server's `host` (its own RPC queues)")
    parser.add_argument("--host", required=True)
    parser.add_argument("--tunneling-ip", required=True)
    parser.add_argument("--journal", required=True, type=Path)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    conf = conf_mod.new_conf([])
    conf.set_override("transport_url", args.transport_url)
    conf.set_override("control_exchange", args.control_exchange)
    rpc_transport = transport.get_transport(conf)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    parent = os.getppid()
    agent = LifecycleAgent(rpc_transport, args.host, args.tunneling_ip,
                           Journal(args.journal), server=args.server,
                           interval=args.interval).start()
    # Never outlive the test that started us.
    while not done.wait(0.5) and os.getppid() == parent:
        pass
    agent.stop()
    rpc_transport.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
