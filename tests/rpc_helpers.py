"""Test agents on a real RabbitMQ: state reports, heartbeats and q-plugin calls
aimed at one test server (its own `host`, so other servers on the shared broker do
not take the messages)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import oslo_messaging

from backends import database, unavailable
from neutrino import conf as conf_mod
from neutrino.contract import bus as transport
from neutrino.contract import topics
from neutrino.contract.bus import StateReporter
from server import ServerProcess

RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"


def rabbit_answers(port: int = 5672) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def require_rabbit() -> str:
    if not rabbit_answers():
        unavailable("RabbitMQ not reachable at 127.0.0.1:5672; start it (make services)")
    return RABBIT


def new_transport(url: str) -> Any:
    conf = conf_mod.new_conf([])
    conf.set_override("transport_url", url)
    return transport.get_transport(conf)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def server_conf(rabbit: str, name: str, **options: object) -> str:
    lines = [f"transport_url = {rabbit}", f"host = {name}"]
    lines += [f"{key} = {value}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


@contextmanager
def server_on_rabbit(rabbit: str, backend: str, state: Path, name: str | None = None,
                     workers: int = 1, sections: str = "", **options: object
                     ) -> Iterator[ServerProcess]:
    """A server on the broker with a `host` (`rpc_name`) of its own: other servers on
    the shared broker (other backends, other test runs) consume the same topic
    queues, so agents' calls go to `<topic>.<rpc_name>`, this server's queue.
    `options`: [DEFAULT] ones; `sections`: more configuration text after them."""
    name = name or unique("rpc-test")
    with database(backend, state) as url, ServerProcess(
            state, url, workers=workers,
            extra_conf=server_conf(rabbit, name, **options) + sections) as proc:
        proc.rpc_name = name
        yield proc


def dhcp_state(host: str, az: str = "nova", **extra: object) -> dict:
    return {"agent_type": topics.AGENT_TYPE_DHCP, "binary": "neutrino-dhcp-agent",
            "topic": topics.DHCP_AGENT, "host": host, "availability_zone": az,
            "start_flag": True, "configurations": {}, **extra}


def lb_state(host: str, tunneling_ip: str, **extra: object) -> dict:
    return {"agent_type": topics.AGENT_TYPE_LINUXBRIDGE,
            "binary": "neutrino-linuxbridge-agent", "topic": "N/A", "host": host,
            "start_flag": True,
            "configurations": {"tunneling_ip": tunneling_ip, "tunnel_types": ["vxlan"],
                               "interface_mappings": {}, "bridge_mappings": {}},
            **extra}


def l3_state(host: str, az: str = "nova") -> dict:
    return {"agent_type": topics.AGENT_TYPE_L3, "binary": "neutrino-l3-agent",
            "topic": topics.L3_AGENT, "host": host, "availability_zone": az,
            "start_flag": True, "configurations": {}}


class Reporter:
    """Reports states to one server; retries while its RPC server connects."""

    def __init__(self, rpc_transport: Any, server: str, deadline: float = 60) -> None:
        self.transport = rpc_transport
        self.server = server
        self.deadline = deadline

    def __call__(self, state: dict) -> str:
        client = StateReporter(self.transport, state["host"], timeout=5, server=self.server)
        deadline = time.monotonic() + self.deadline
        while True:
            try:
                return client.report(state)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


class Heartbeat:
    """Agents that keep reporting (every `interval` s) until stopped."""

    def __init__(self, report: Reporter, states: list[dict], interval: float = 1.0) -> None:
        self.report = report
        self.states = list(states)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Heartbeat:
        for state in self.states:
            self.report(state)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for state in self.states:
                try:
                    self.report(dict(state, start_flag=False))
                except Exception:  # noqa: BLE001 - the test asserts on the outcome
                    pass

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join(10)


class PluginClient:
    """An agent's q-plugin calls (desired state, DHCP port) to one server."""

    def __init__(self, rpc_transport: Any, server: str, timeout: float = 10) -> None:
        target = oslo_messaging.Target(topic=topics.PLUGIN, version="1.0")
        self.client = oslo_messaging.get_rpc_client(rpc_transport, target,
                                                    timeout=timeout).prepare(server=server)

    def call(self, method: str, **kwargs: Any) -> Any:
        deadline = time.monotonic() + 60
        while True:
            try:
                return self.client.call({}, method, **kwargs)
            except oslo_messaging.MessagingTimeout:
                if time.monotonic() > deadline:
                    raise


# -- API helpers for agents ------------------------------------------------------------


def only_new_agents(api: Any) -> None:
    """Disable the DHCP agents earlier tests registered: each test sees its own."""
    for agent in api.get("agents", params={"agent_type": "DHCP agent"}).json()["agents"]:
        if agent["admin_state_up"]:
            api.put(f"agents/{agent['id']}", {"agent": {"admin_state_up": False}})


def agent_id(api: Any, host: str, agent_type: str = "DHCP agent") -> str:
    agents = api.get("agents", params={"host": host, "agent_type": agent_type}
                     ).json()["agents"]
    assert len(agents) == 1, agents
    return agents[0]["id"]


def hosts_of(api: Any, network_id: str) -> list[str]:
    """The hosts of the DHCP agents serving a network."""
    response = api.get(f"networks/{network_id}/dhcp-agents")
    assert response.status_code == 200, response.text
    return sorted(a["host"] for a in response.json()["agents"])
