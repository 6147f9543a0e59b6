"""Agents reporting state over RabbitMQ to a real server: /v2.0/agents and
/v2.0/availability_zones as an admin and as a project, liveness after
agent_down_time, and a server whose broker is unreachable."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import database, unavailable
from neutrino import conf as conf_mod
from neutrino.rpc import topics, transport
from neutrino.rpc.client import StateReporter
from server import UNKNOWN, Api, ServerProcess, error_of, free_port

RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"
DOWN_TIME = 3


def rabbit_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def rabbit() -> str:
    if not rabbit_answers():
        unavailable("RabbitMQ not reachable at 127.0.0.1:5672; start it (make services)")
    return RABBIT


@pytest.fixture(scope="module")
def rpc_server(rabbit: str, backend: str, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp(f"rpc-{backend}")
    # Its own server name: other servers on the broker (other backends, other test
    # runs) consume the shared topic queue too, so the reports go to this one's.
    name = f"rpc-test-{uuid.uuid4().hex[:10]}"
    extra = f"transport_url = {rabbit}\nagent_down_time = {DOWN_TIME}\nhost = {name}\n"
    with database(backend, state) as url, ServerProcess(state, url, extra_conf=extra) as proc:
        proc.rpc_name = name
        yield proc


@pytest.fixture(scope="module")
def reporter_transport(rabbit: str) -> Iterator[object]:
    conf = conf_mod.new_conf([])
    conf.set_override("transport_url", rabbit)
    rpc_transport = transport.get_transport(conf)
    yield rpc_transport
    rpc_transport.cleanup()


@pytest.fixture
def admin(rpc_server: ServerProcess) -> Api:
    return Api(rpc_server.url)


@pytest.fixture
def report(reporter_transport: object, rpc_server: ServerProcess) -> Reporter:
    return Reporter(reporter_transport, rpc_server.rpc_name)


def dhcp_state(host: str, az: str = "nova", **extra: object) -> dict:
    return {"agent_type": topics.AGENT_TYPE_DHCP, "binary": "neutrino-dhcp-agent",
            "topic": topics.DHCP_AGENT, "host": host, "availability_zone": az,
            "start_flag": True, "configurations": {"networks": 1, "ports": 2},
            **extra}


class Reporter:
    """A test agent: reports states to the test's server."""

    def __init__(self, rpc_transport: object, server: str) -> None:
        self.transport = rpc_transport
        self.server = server

    def __call__(self, state: dict) -> str:
        """The answer of the first report the server takes (its RPC server may still
        be connecting to the broker just after start)."""
        client = StateReporter(self.transport, state["host"], timeout=5, server=self.server)
        deadline = time.monotonic() + 60
        while True:
            try:
                return client.report(state)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


def agent_on(api: Api, host: str) -> dict:
    body = api.get("agents", params={"host": host}).json()
    assert len(body["agents"]) == 1, body
    return body["agents"][0]


def test_report_registers_an_alive_agent(admin: Api, report: Reporter) -> None:
    host = f"host-{uuid.uuid4().hex[:8]}"
    assert report(dhcp_state(host)) == "new"
    agent = agent_on(admin, host)
    assert agent["alive"] is True
    assert agent["admin_state_up"] is True
    assert agent["agent_type"] == "DHCP agent"
    assert agent["binary"] == "neutrino-dhcp-agent"
    assert agent["topic"] == "dhcp_agent"
    assert agent["availability_zone"] == "nova"
    assert agent["configurations"] == {"networks": 1, "ports": 2}
    assert agent["description"] is None
    assert set(agent) == {"id", "agent_type", "binary", "topic", "host", "admin_state_up",
                          "created_at", "started_at", "heartbeat_timestamp", "alive",
                          "configurations", "description", "availability_zone"}
    assert admin.get(f"agents/{agent['id']}").json()["agent"]["host"] == host
    # A second report updates the same agent.
    assert report(dhcp_state(host, configurations={"networks": 5})
                  ) == "alive"
    assert agent_on(admin, host)["configurations"] == {"networks": 5}
    listed = admin.get("agents", params={"agent_type": "DHCP agent", "alive": "true",
                                         "fields": ["id", "host"]}).json()["agents"]
    assert {"id": agent["id"], "host": host} in listed


def test_admin_updates_and_deletes(admin: Api, report: Reporter) -> None:
    host = f"host-{uuid.uuid4().hex[:8]}"
    report(dhcp_state(host))
    agent_id = agent_on(admin, host)["id"]
    response = admin.put(f"agents/{agent_id}", {"agent": {"admin_state_up": False,
                                                         "description": "drained"}})
    assert response.status_code == 200, response.text
    assert response.json()["agent"]["admin_state_up"] is False
    assert response.json()["agent"]["description"] == "drained"
    assert agent_on(admin, host)["admin_state_up"] is False
    response = admin.put(f"agents/{agent_id}", {"agent": {"host": "elsewhere"}})
    assert response.status_code == 400
    response = admin.post("agents", {"agent": {}})
    assert response.status_code == 400
    assert admin.delete(f"agents/{agent_id}").status_code == 204
    assert admin.get(f"agents/{agent_id}").status_code == 404
    assert admin.delete(f"agents/{agent_id}").status_code == 404
    assert error_of(admin.get(f"agents/{UNKNOWN}"))["type"] == "AgentNotFound"
    # Reporting again registers it anew.
    assert report(dhcp_state(host)) == "new"


def test_agents_are_admin_only(admin: Api, report: Reporter) -> None:
    host = f"host-{uuid.uuid4().hex[:8]}"
    report(dhcp_state(host))
    agent_id = agent_on(admin, host)["id"]
    member = admin.as_project(f"p-{uuid.uuid4().hex[:8]}")
    response = member.get("agents")
    assert response.status_code == 200
    assert response.json() == {"agents": []}
    assert member.get(f"agents/{agent_id}").status_code == 404
    assert member.put(f"agents/{agent_id}", {"agent": {"description": "x"}}
                      ).status_code == 404
    assert member.delete(f"agents/{agent_id}").status_code == 404
    assert agent_on(admin, host)["description"] is None


def test_agent_goes_down_and_comes_back(admin: Api, report: Reporter) -> None:
    host = f"host-{uuid.uuid4().hex[:8]}"
    report(dhcp_state(host))
    assert agent_on(admin, host)["alive"] is True
    time.sleep(DOWN_TIME + 1.5)
    agent = agent_on(admin, host)
    assert agent["alive"] is False
    dead = admin.get("agents", params={"alive": "false"}).json()["agents"]
    assert agent["id"] in [a["id"] for a in dead]
    assert report(dhcp_state(host, start_flag=False)) == "revived"
    agent = agent_on(admin, host)
    assert agent["alive"] is True


def test_availability_zones(admin: Api, report: Reporter) -> None:
    zone = f"az-{uuid.uuid4().hex[:8]}"
    host = f"host-{uuid.uuid4().hex[:8]}"
    report(dhcp_state(host, az=zone))
    l3 = dict(dhcp_state(host, az=zone), agent_type=topics.AGENT_TYPE_L3,
              binary="neutrino-l3-agent", topic=topics.L3_AGENT)
    report(l3)
    member = admin.as_project(f"p-{uuid.uuid4().hex[:8]}")
    zones = member.get("availability_zones", params={"name": zone}).json()
    assert sorted(zones["availability_zones"], key=lambda z: z["resource"]) == [
        {"name": zone, "resource": "network", "state": "available"},
        {"name": zone, "resource": "router", "state": "available"}]
    dhcp_id = admin.get("agents", params={"host": host, "agent_type": "DHCP agent"}
                        ).json()["agents"][0]["id"]
    admin.put(f"agents/{dhcp_id}", {"agent": {"admin_state_up": False}})
    zones = member.get("availability_zones", params={"name": zone, "resource": "network",
                                                     "fields": "state"}).json()
    assert zones == {"availability_zones": [{"state": "unavailable"}]}
    assert member.get("availability_zones", params={"bogus": "1"}).status_code == 400


def test_server_starts_without_broker(tmp_path: Path) -> None:
    """A broker that does not answer delays nothing: the API serves, agents are none."""
    closed = f"rabbit://guest:guest@127.0.0.1:{free_port()}/"
    with database("sqlite", tmp_path) as url, ServerProcess(
            tmp_path, url, extra_conf=f"transport_url = {closed}\n") as proc:
        api = Api(proc.url)
        assert api.get("agents").json() == {"agents": []}
        assert api.get("availability_zones").json() == {"availability_zones": []}
        api.network(name="works-without-broker")


def test_two_workers_share_the_broker(rabbit: str, reporter_transport: object,
                                      tmp_path: Path) -> None:
    """With RabbitMQ, each API worker runs an RPC server on the same queues: every
    report is taken by one of them, whichever it is."""
    name = f"rpc-test-{uuid.uuid4().hex[:10]}"
    extra = f"transport_url = {rabbit}\nhost = {name}\n"
    with database("sqlite", tmp_path) as url, ServerProcess(
            tmp_path, url, workers=2, extra_conf=extra) as proc:
        report = Reporter(reporter_transport, name)
        hosts = [f"host-{uuid.uuid4().hex[:8]}" for _ in range(6)]
        for host in hosts:
            assert report(dhcp_state(host)) == "new"
        listed = Api(proc.url).get("agents").json()["agents"]
        assert sorted(a["host"] for a in listed) == sorted(hosts)
