"""Agents reporting state over RabbitMQ to a real server: /v2.0/agents and
/v2.0/availability_zones as an admin and as a project, liveness after
agent_down_time, and a server whose broker is unreachable."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from backends import database
from rpc_helpers import Reporter, dhcp_state, l3_state, server_on_rabbit
from server import UNKNOWN, Api, ServerProcess, error_of, free_port

DOWN_TIME = 3
CONFIGURATIONS = {"networks": 1, "ports": 2}


@pytest.fixture(scope="module")
def rpc_server_options() -> dict[str, object]:
    return {"agent_down_time": DOWN_TIME}


def agent_on(api: Api, host: str) -> dict:
    body = api.get("agents", params={"host": host}).json()
    assert len(body["agents"]) == 1, body
    return body["agents"][0]


def test_report_registers_an_alive_agent(admin: Api, report: Reporter) -> None:
    host = f"host-{uuid.uuid4().hex[:8]}"
    assert report(dhcp_state(host, configurations=CONFIGURATIONS)) == "new"
    agent = agent_on(admin, host)
    assert agent["alive"] is True
    assert agent["admin_state_up"] is True
    assert agent["agent_type"] == "DHCP agent"
    assert agent["binary"] == "neutrino-dhcp-agent"
    assert agent["topic"] == "dhcp_agent"
    assert agent["availability_zone"] == "nova"
    assert agent["configurations"] == CONFIGURATIONS
    assert agent["description"] is None
    assert set(agent) == {"id", "agent_type", "binary", "topic", "host", "admin_state_up",
                          "created_at", "started_at", "heartbeat_timestamp", "alive",
                          "configurations", "description", "availability_zone",
                          "resources_synced"}  # agent-resources-synced: nothing syncs here
    assert agent["resources_synced"] is None
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
    report(l3_state(host, az=zone))
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


def test_two_workers_share_the_broker(rabbit: str, bus: object, tmp_path: Path) -> None:
    """With RabbitMQ, each API worker runs an RPC server on the same queues: every
    report is taken by one of them, whichever it is."""
    with server_on_rabbit(rabbit, "sqlite", tmp_path, workers=2) as proc:
        report = Reporter(bus, proc.rpc_name)
        hosts = [f"host-{uuid.uuid4().hex[:8]}" for _ in range(6)]
        for host in hosts:
            assert report(dhcp_state(host)) == "new"
        listed = Api(proc.url).get("agents").json()["agents"]
        assert sorted(a["host"] for a in listed) == sorted(hosts)
