"""Routers scheduled to L3 agents, against a real server on RabbitMQ with agents that
report their state over the bus: least-loaded choice, availability zone hints, dead
and disabled agents skipped, the l3_agent_scheduler API, the `routers_updated`
fanout, and the L3 agent's desired state (get_desired_state kind "l3")."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest
from l3_setup import external_network, project_network

from backends import database, unavailable
from neutrino import conf as conf_mod
from neutrino.rpc import topics, transport
from neutrino.rpc.client import StateReporter
from server import UNKNOWN, Api, ServerProcess, assert_error

RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"


@pytest.fixture(scope="module")
def rabbit() -> str:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            pass
    except OSError:
        unavailable("RabbitMQ not reachable at 127.0.0.1:5672; start it (make services)")
    return RABBIT


@pytest.fixture(scope="module")
def l3_server(rabbit: str, backend: str, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp(f"l3rpc-{backend}")
    # Its own server name: the reports and calls reach this server on a shared broker.
    name = f"l3-rpc-test-{uuid.uuid4().hex[:10]}"
    extra = f"transport_url = {rabbit}\nhost = {name}\n"
    with database(backend, state) as url, ServerProcess(state, url, extra_conf=extra) as proc:
        proc.rpc_name = name
        yield proc


@pytest.fixture(scope="module")
def bus(rabbit: str) -> Iterator[Any]:
    conf = conf_mod.new_conf([])
    conf.set_override("transport_url", rabbit)
    rpc_transport = transport.get_transport(conf)
    yield rpc_transport
    rpc_transport.cleanup()


@pytest.fixture
def admin(l3_server: ServerProcess) -> Api:
    return Api(l3_server.url).as_project(f"p-{uuid.uuid4().hex}", ["admin"])


def report_l3(bus: Any, server: ServerProcess, host: str, az: str = "nova") -> None:
    reporter = StateReporter(bus, host, timeout=5, server=server.rpc_name)
    state = {"agent_type": topics.AGENT_TYPE_L3, "binary": "neutrino-l3-agent",
             "topic": topics.L3_AGENT, "availability_zone": az, "start_flag": True,
             "configurations": {}}
    deadline = time.monotonic() + 60
    while True:  # the server's RPC listener may still be connecting
        try:
            reporter.report(state)
            return
        except oslo_messaging.MessagingTimeout:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def agent_id(api: Api, host: str) -> str:
    [agent] = api.get("agents", params={"host": host}).json()["agents"]
    return agent["id"]


def l3_agents_of(api: Api, router_id: str) -> list[str]:
    response = api.get(f"routers/{router_id}/l3-agents")
    assert response.status_code == 200, response.text
    return [a["host"] for a in response.json()["agents"]]


class L3Listener:
    """A stand-in L3 agent's endpoint on the l3_agent fanout."""

    target = oslo_messaging.Target(version="1.0")

    def __init__(self) -> None:
        self.routers: list[str] = []
        self.changed = threading.Condition()

    def routers_updated(self, context: Any, routers: list[str], **kwargs: Any) -> None:
        with self.changed:
            self.routers.extend(routers)
            self.changed.notify_all()

    def wait_for(self, router_id: str, timeout: float = 20) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: router_id in self.routers, timeout)


@pytest.fixture
def listener(bus: Any) -> Iterator[L3Listener]:
    endpoint = L3Listener()
    target = oslo_messaging.Target(topic=topics.L3_AGENT,
                                   server=f"l3-listener-{uuid.uuid4().hex[:8]}")
    rpc_server = oslo_messaging.get_rpc_server(bus, target, [endpoint])
    rpc_server.start()
    yield endpoint
    rpc_server.stop()
    rpc_server.wait()


def test_scheduling_and_api(admin: Api, bus: Any, l3_server: ServerProcess) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    hosts = [f"l3-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for host in hosts:
        report_l3(bus, l3_server, host, zone)
    hinted = [admin.create("router", availability_zone_hints=[zone]) for _ in range(4)]
    placed = [l3_agents_of(admin, r["id"]) for r in hinted]
    assert all(len(p) == 1 and p[0] in hosts for p in placed)
    # Least loaded first: the four routers are spread two and two.
    assert sorted(p[0] for p in placed) == sorted(hosts * 2)
    shown = admin.get(f"routers/{hinted[0]['id']}").json()["router"]
    assert shown["availability_zones"] == [zone]
    assert shown["availability_zone_hints"] == [zone]

    # The l3_agent_scheduler API.
    first, second = (agent_id(admin, h) for h in hosts)
    router_id = hinted[0]["id"]
    current = l3_agents_of(admin, router_id)[0]
    source = first if current == hosts[0] else second
    target = second if source == first else first
    assert_error(admin.post(f"agents/{target}/l3-routers", {"router_id": router_id}), 409,
                 "RouterHostedByL3Agent")
    assert admin.delete(f"agents/{source}/l3-routers/{router_id}").status_code == 204
    assert_error(admin.delete(f"agents/{source}/l3-routers/{router_id}"), 409,
                 "RouterNotHostedByL3Agent")
    assert l3_agents_of(admin, router_id) == []
    assert admin.post(f"agents/{target}/l3-routers", {"router_id": router_id}
                      ).status_code == 201
    hosted = admin.get(f"agents/{target}/l3-routers").json()["routers"]
    assert router_id in [r["id"] for r in hosted]
    assert_error(admin.post(f"agents/{target}/l3-routers", {"router_id": UNKNOWN}), 404,
                 "RouterNotFound")
    # Only admins.
    user = admin.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    own = user.create("router")
    assert_error(user.get(f"routers/{own['id']}/l3-agents"), 403, "PolicyNotAuthorized")


def test_disabled_agent_not_chosen(admin: Api, bus: Any, l3_server: ServerProcess) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    up, down = f"l3-{uuid.uuid4().hex[:6]}", f"l3-{uuid.uuid4().hex[:6]}"
    report_l3(bus, l3_server, up, zone)
    report_l3(bus, l3_server, down, zone)
    assert admin.put(f"agents/{agent_id(admin, down)}",
                     {"agent": {"admin_state_up": False}}).status_code == 200
    for _ in range(3):
        r = admin.create("router", availability_zone_hints=[zone])
        assert l3_agents_of(admin, r["id"]) == [up]
    assert_error(admin.post(f"agents/{agent_id(admin, down)}/l3-routers",
                            {"router_id": r["id"]}), 400, "InvalidL3Agent")


def test_notifications_and_desired_state(admin: Api, bus: Any, l3_server: ServerProcess,
                                         listener: L3Listener) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    host = f"l3-{uuid.uuid4().hex[:6]}"
    report_l3(bus, l3_server, host, zone)
    ext, ext_subnet = external_network(admin, "198.18.0.0/24")
    net, subnet = project_network(admin, "10.61.0.0/24")
    r = admin.create("router", availability_zone_hints=[zone],
                     external_gateway_info={"network_id": ext["id"]})
    assert listener.wait_for(r["id"]), "no routers_updated for the new router"
    response = admin.put(f"routers/{r['id']}/add_router_interface",
                         {"subnet_id": subnet["id"]})
    interface = response.json()
    port = admin.port(net["id"])
    fip = admin.create("floatingip", floating_network_id=ext["id"], port_id=port["id"])
    route = {"destination": "192.168.50.0/24", "nexthop": "10.61.0.9"}
    admin.put(f"routers/{r['id']}", {"router": {"routes": [route]}})

    client = oslo_messaging.get_rpc_client(
        bus, oslo_messaging.Target(topic=topics.PLUGIN, version="1.0"), timeout=20
    ).prepare(server=l3_server.rpc_name)
    state = client.call({}, "get_desired_state", host=host, kind="l3")
    assert state["host"] == host
    [mine] = [x for x in state["routers"] if x["id"] == r["id"]]
    assert mine["enable_snat"] is True and mine["admin_state_up"] is True
    gw = mine["gateway"]
    shown = admin.get(f"routers/{r['id']}").json()["router"]
    [gw_ip] = shown["external_gateway_info"]["external_fixed_ips"]
    assert gw["network_id"] == ext["id"]
    assert gw["fixed_ips"][0]["ip_address"] == gw_ip["ip_address"]
    assert gw["fixed_ips"][0]["gateway_ip"] == ext_subnet["gateway_ip"]
    assert gw["fixed_ips"][0]["cidr"] == "198.18.0.0/24"
    [qr] = mine["interfaces"]
    assert qr["port_id"] == interface["port_id"]
    assert qr["device"] == "qr-" + interface["port_id"][:11]
    assert qr["fixed_ips"][0]["ip_address"] == "10.61.0.1"
    assert qr["fixed_ips"][0]["prefixlen"] == 24
    assert qr["mac_address"] == admin.get(f"ports/{interface['port_id']}"
                                          ).json()["port"]["mac_address"]
    assert mine["routes"] == [route]
    [f] = mine["floating_ips"]
    assert (f["floating_ip_address"], f["fixed_ip_address"]) == (
        fip["floating_ip_address"], port["fixed_ips"][0]["ip_address"])
    # Another host's L3 agent hosts nothing of it.
    other = client.call({}, "get_desired_state", host=f"nobody-{uuid.uuid4().hex[:6]}",
                        kind="l3")
    assert other["routers"] == []
    # Deleting the port disassociates the floating IP and tells the agents.
    listener.routers.clear()
    assert admin.delete(f"ports/{port['id']}").status_code == 204
    assert listener.wait_for(r["id"])
    state = client.call({}, "get_desired_state", host=host, kind="l3")
    [mine] = [x for x in state["routers"] if x["id"] == r["id"]]
    assert mine["floating_ips"] == []


def test_agent_arriving_later_takes_unscheduled_routers(admin: Api, bus: Any,
                                                        l3_server: ServerProcess) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    host = f"l3-{uuid.uuid4().hex[:6]}"
    # The zone must exist for the hint to be accepted: an agent there, disabled.
    report_l3(bus, l3_server, f"l3-off-{uuid.uuid4().hex[:6]}", zone)
    off = admin.get("agents", params={"availability_zone": zone}).json()["agents"][0]
    admin.put(f"agents/{off['id']}", {"agent": {"admin_state_up": False}})
    r = admin.create("router", availability_zone_hints=[zone])
    assert l3_agents_of(admin, r["id"]) == []
    report_l3(bus, l3_server, host, zone)
    deadline = time.monotonic() + 20
    while l3_agents_of(admin, r["id"]) != [host] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert l3_agents_of(admin, r["id"]) == [host]
