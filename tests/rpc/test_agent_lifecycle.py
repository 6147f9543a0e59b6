"""An agent's whole life against a server, over RabbitMQ (agent in its own process)
and over the in-process bus (the all-in-one: server and agent in one process).

The agent (tests/rpc/lifecycle_agent.py) reports as a Linux bridge agent and shows
alive in /v2.0/agents; a port is bound to its host (vif_type bridge); the agent
hears port_update, fetches its desired state (the port with its MAC, fixed IPs and
the network's vxlan segment), reports the device up and the port turns ACTIVE;
stopped, it shows alive false once agent_down_time has passed.

Ports: one created already bound to the host, one bound afterwards the way Nova
does (created unbound, then `binding:host_id` set by an update). Only the update
sends port_update: upstream ML2 notifies the L2 agents of binding changes, not of
port creations (a real agent sees the new port's tap device appear); the agent,
level-triggered, realises both at the sync the notification causes.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lifecycle_agent import Journal, LifecycleAgent, read_journal

from backends import database
from rpc_helpers import server_on_rabbit, unique
from server import Api, ServerProcess

AGENT_DOWN_TIME = 5  # seconds; the agent reports every second
REPORT_INTERVAL = 1.0
AGENT_SCRIPT = Path(__file__).with_name("lifecycle_agent.py")
LB = "Linux bridge agent"


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 30.0,
             journal: Path | None = None) -> Any:
    """probe()'s first truthy answer, polled until the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = [r for r in read_journal(journal) if r["event"] != "report"][-15:] \
                if journal is not None else ""
            raise AssertionError(f"timed out waiting for {what}; journal tail: {tail}")
        time.sleep(0.2)


class Rest:
    """The few API calls the scenario makes: (status, body)."""

    def request(self, method: str, path: str, body: dict | None = None,
                params: dict | None = None) -> tuple[int, dict]:
        raise NotImplementedError

    def create(self, collection: str, resource: str, **attrs: Any) -> dict:
        status, body = self.request("POST", collection, {resource: attrs})
        assert status == 201, body
        return body[resource]

    def show(self, collection: str, resource: str, item_id: str) -> dict:
        status, body = self.request("GET", f"{collection}/{item_id}")
        assert status == 200, body
        return body[resource]

    def agents(self, host: str) -> list[dict]:
        status, body = self.request("GET", "agents",
                                    params={"host": host, "agent_type": LB})
        assert status == 200, body
        return body["agents"]


class HttpRest(Rest):
    def __init__(self, api: Api) -> None:
        self.api = api

    def request(self, method: str, path: str, body: dict | None = None,
                params: dict | None = None) -> tuple[int, dict]:
        response = self.api.request(method, path, json=body, params=params)
        return response.status_code, response.json() if response.content else {}


class WsgiRest(Rest):
    """The API app called in this process: with fake:// the bus reaches only its own
    process, so the agent, the RPC servers and the API must all live in this one."""

    def __init__(self, app: Any) -> None:
        from falcon import testing
        self.client = testing.TestClient(app, headers={"Content-Type": "application/json"})

    def request(self, method: str, path: str, body: dict | None = None,
                params: dict | None = None) -> tuple[int, dict]:
        result = self.client.simulate_request(method, f"/v2.0/{path}", json=body,
                                              params=params)
        return result.status_code, result.json if result.content else {}


def events_of(journal: Path, event: str) -> list[dict]:
    return [r for r in read_journal(journal) if r["event"] == event]


def lifecycle(rest: Rest, journal: Path, host: str, tunneling_ip: str,
              stop_agent: Callable[[], None]) -> None:
    """The scenario both variants run once their agent was started."""
    # 1. The agent reports and shows alive, with what it said of itself.
    first_report = wait_for("the agent's first report answered",
                            lambda: events_of(journal, "report"), journal=journal)[0]
    assert first_report["answer"] == "new"
    [agent] = rest.agents(host)
    assert agent["alive"] is True
    assert agent["agent_type"] == LB
    assert agent["binary"] == "neutrino-linuxbridge-agent"
    assert agent["configurations"]["tunnel_types"] == ["vxlan"]
    assert agent["configurations"]["tunneling_ip"] == tunneling_ip

    # 2. A vxlan network and subnet; a port created bound to the host.
    net = rest.create("networks", "network", name=unique("lifecycle"),
                      **{"provider:network_type": "vxlan"})
    assert net["provider:network_type"] == "vxlan"
    assert isinstance(net["provider:segmentation_id"], int)
    subnet = rest.create("subnets", "subnet", network_id=net["id"], ip_version=4,
                         cidr="10.77.0.0/24")
    first = rest.create("ports", "port", network_id=net["id"],
                        device_owner="compute:nova", device_id=str(uuid.uuid4()),
                        **{"binding:host_id": host})
    assert first["binding:vif_type"] == "bridge"
    assert first["status"] == "DOWN"

    # 3. Nova's way: created unbound, bound by an update, which notifies the agents.
    second = rest.create("ports", "port", network_id=net["id"],
                         device_owner="compute:nova", device_id=str(uuid.uuid4()))
    assert second["binding:vif_type"] == "unbound"
    status, body = rest.request("PUT", f"ports/{second['id']}",
                                {"port": {"binding:host_id": host}})
    assert status == 200, body
    second = body["port"]
    assert second["binding:vif_type"] == "bridge"
    assert second["binding:host_id"] == host
    assert second["status"] == "DOWN"

    def bound_notification() -> dict | None:
        return next((r for r in events_of(journal, "notification")
                     if r["kwargs"]["port"]["id"] == second["id"]
                     and r["kwargs"]["port"]["binding:host_id"] == host), None)
    heard = wait_for("port_update of the bound port", bound_notification, journal=journal)
    assert heard["method"] == "port_update"
    assert heard["kwargs"]["port"]["network_id"] == net["id"]
    assert heard["kwargs"]["port"]["revision_number"] == second["revision_number"]

    # 4. The sync it causes: the desired state lists both ports and the segment.
    def state_with_ports() -> dict | None:
        return next((r["state"] for r in events_of(journal, "desired_state")
                     if r["t"] >= heard["t"]
                     and {p["id"] for p in r["state"]["ports"]} >= {first["id"],
                                                                   second["id"]}), None)
    state = wait_for("a desired state with the ports", state_with_ports, journal=journal)
    assert state["host"] == host
    assert {p["id"] for p in state["ports"]} == {first["id"], second["id"]}
    for port in (first, second):
        [wanted] = [p for p in state["ports"] if p["id"] == port["id"]]
        assert wanted["device"] == "tap" + port["id"][:11]
        assert wanted["network_id"] == net["id"]
        assert wanted["mac_address"] == port["mac_address"]
        assert wanted["fixed_ips"] == [{"subnet_id": subnet["id"],
                                        "ip_address": port["fixed_ips"][0]["ip_address"]}]
        assert port["fixed_ips"][0]["subnet_id"] == subnet["id"]
        assert wanted["admin_state_up"] is True
    [network] = state["networks"]
    assert network["id"] == net["id"]
    assert network["network_type"] == "vxlan"
    assert network["segmentation_id"] == net["provider:segmentation_id"]
    assert network["physical_network"] is None
    assert network["mtu"] == net["mtu"]

    # 5. The agent reports the devices up: the ports turn ACTIVE in the API.
    for port in (first, second):
        wait_for(f"port {port['id']} ACTIVE",
                 lambda p=port: rest.show("ports", "port", p["id"])["status"] == "ACTIVE",
                 journal=journal)
    # The status change notifies again and the agent resyncs: it now finds the ports
    # ACTIVE and says nothing more (no up/notify ping-pong, status stored once).
    wait_for("a desired state with both ports ACTIVE", lambda: any(
        {p["status"] for p in r["state"]["ports"]} == {"ACTIVE"}
        and len(r["state"]["ports"]) == 2 for r in events_of(journal, "desired_state")),
        journal=journal)
    ups = [r["port_id"] for r in events_of(journal, "device_up")]
    assert sorted(ups) == sorted([first["id"], second["id"]])
    shown = rest.show("ports", "port", second["id"])
    assert shown["revision_number"] > second["revision_number"]

    # 6. Stopped, the agent goes down once agent_down_time has passed.
    before = rest.agents(host)[0]
    assert before["alive"] is True
    stop_agent()
    down = wait_for("the agent alive false", lambda: next(
        (a for a in rest.agents(host) if a["alive"] is False), None),
        timeout=AGENT_DOWN_TIME + 30, journal=journal)
    seen_down = time.time()
    # Not before its last report aged out: that report reached the server after the
    # agent sent it (1 s of slack: MySQL keeps whole seconds).
    last_sent = max(r["sent"] for r in events_of(journal, "report"))
    assert seen_down >= last_sent + AGENT_DOWN_TIME - 1, seen_down - last_sent
    assert down["id"] == agent["id"]
    assert down["heartbeat_timestamp"] >= before["heartbeat_timestamp"]
    assert events_of(journal, "stopped")


# -- over RabbitMQ: the agent is another process ---------------------------------------


@pytest.fixture
def rabbit_server(rabbit: str, backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    # A control_exchange of this run's own, as the brief of a shared broker asks;
    # note that RabbitMQ topic queues are named by topic alone, so what really keeps
    # parallel servers apart is that every call goes to this server's own queues
    # (`<topic>.<host>`); fanouts reach every listener on the broker, and the agent
    # and the test look only at their own ports.
    exchange = unique("neutrino-lifecycle")
    with server_on_rabbit(rabbit, backend, tmp_path, unique("lifecycle-server"),
                          agent_down_time=AGENT_DOWN_TIME, control_exchange=exchange
                          ) as proc:
        proc.control_exchange = exchange
        yield proc


def test_agent_lifecycle_over_rabbitmq(rabbit: str, rabbit_server: ServerProcess,
                                       tmp_path: Path) -> None:
    host = f"lifecycle-{uuid.uuid4()}"
    journal = tmp_path / "agent.jsonl"
    tunneling_ip = "192.0.2.77"
    with open(tmp_path / "agent.log", "wb") as log:
        agent = subprocess.Popen(
            [sys.executable, str(AGENT_SCRIPT), "--transport-url", rabbit,
             "--control-exchange", rabbit_server.control_exchange,
             "--server", rabbit_server.rpc_name, "--host", host,
             "--tunneling-ip", tunneling_ip, "--journal", str(journal),
             "--interval", str(REPORT_INTERVAL)],
            stdout=log, stderr=subprocess.STDOUT)

    def terminate() -> None:
        agent.terminate()
        assert agent.wait(timeout=30) == 0, (tmp_path / "agent.log").read_text()[-3000:]

    api = Api(rabbit_server.url)
    try:
        lifecycle(HttpRest(api), journal, host, tunneling_ip, terminate)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        api.client.close()  # an open keep-alive connection slows the server's stop


# -- in-process (fake://): the all-in-one ----------------------------------------------


def test_agent_lifecycle_in_process(backend: str, tmp_path: Path) -> None:
    from neutrino import conf as conf_mod
    from neutrino.api.app import create_app
    from neutrino.contract import bus as transport
    from neutrino.core import ServerRuntime, build_core
    from neutrino.db import migrate
    from neutrino.db.engine import Database

    conf = conf_mod.new_conf([])
    conf.set_override("state_path", str(tmp_path))
    conf.set_override("agent_down_time", AGENT_DOWN_TIME)
    conf.set_override("host", unique("all-in-one"))
    assert transport.is_in_process(conf)  # the default transport_url, fake://
    with database(backend, tmp_path) as url:
        db = Database(url)
        migrate.upgrade(db)
        core = build_core(conf, db)
        # As neutrino-server's worker does (cmd/server.py): RPC servers, the notifier
        # on their transport, the agent check.
        runtime = ServerRuntime(core, serve_rpc=True).start()
        agent = None
        try:
            assert runtime.rpc is not None and runtime.rpc.wait_started(10)
            host = f"lifecycle-{uuid.uuid4()}"
            journal = tmp_path / "agent.jsonl"
            tunneling_ip = "192.0.2.78"
            # The agent on the RPC servers' transport object: fake:// reaches only it.
            agent = LifecycleAgent(runtime.rpc.transport, host, tunneling_ip,
                                   Journal(journal), interval=REPORT_INTERVAL).start()
            lifecycle(WsgiRest(create_app(core)), journal, host, tunneling_ip,
                      agent.stop)
            agent = None
        finally:
            if agent is not None:
                agent.stop()
            runtime.stop()
            db.engine.dispose()
