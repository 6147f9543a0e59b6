"""The L2 agent's q-plugin calls over RabbitMQ to a real server: device details of
bound ports, device up / down setting the port status seen through the API."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest

from backends import database, unavailable
from neutrino import conf as conf_mod
from neutrino.rpc import topics, transport
from neutrino.rpc.client import StateReporter
from server import Api, ServerProcess

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
def rpc_server(rabbit: str, backend: str, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp(f"l2rpc-{backend}")
    # Its own server name, so the calls reach this server's queues on a shared broker.
    name = f"l2-rpc-test-{uuid.uuid4().hex[:10]}"
    extra = f"transport_url = {rabbit}\nhost = {name}\n"
    with database(backend, state) as url, ServerProcess(state, url, extra_conf=extra) as proc:
        proc.rpc_name = name
        yield proc


@pytest.fixture(scope="module")
def agent_transport(rabbit: str) -> Iterator[Any]:
    conf = conf_mod.new_conf([])
    conf.set_override("transport_url", rabbit)
    rpc_transport = transport.get_transport(conf)
    yield rpc_transport
    rpc_transport.cleanup()


class L2Agent:
    """What a Linux bridge agent on `host` sends to the server."""

    def __init__(self, rpc_transport: Any, server: str, host: str) -> None:
        self.host = host
        self.agent_id = f"lb-{host}"
        target = oslo_messaging.Target(topic=topics.PLUGIN, version="1.0")
        self.client = oslo_messaging.get_rpc_client(rpc_transport, target, timeout=10
                                                    ).prepare(server=server)
        self.reporter = StateReporter(rpc_transport, host, timeout=5, server=server)

    def report(self, **configurations: object) -> str:
        state = {"agent_type": topics.AGENT_TYPE_LINUXBRIDGE,
                 "binary": "neutrino-linuxbridge-agent", "topic": "N/A",
                 "start_flag": True, "configurations": configurations}
        deadline = time.monotonic() + 60
        while True:  # the server's RPC listener may still be connecting
            try:
                return self.reporter.report(state)
            except oslo_messaging.MessagingTimeout:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def call(self, method: str, **kwargs: Any) -> Any:
        return self.client.call({}, method, agent_id=self.agent_id, host=self.host,
                                **kwargs)


@pytest.fixture
def admin(rpc_server: ServerProcess) -> Api:
    return Api(rpc_server.url)


@pytest.fixture
def agent(agent_transport: Any, rpc_server: ServerProcess) -> L2Agent:
    lb = L2Agent(agent_transport, rpc_server.rpc_name, f"host-{uuid.uuid4().hex[:8]}")
    assert lb.report(tunnel_types=["vxlan"], tunneling_ip="192.0.2.1") == "new"
    return lb


def tap(port: dict) -> str:
    return "tap" + port["id"][:11]


def port_of(api: Api, port: dict) -> dict:
    return api.get(f"ports/{port['id']}").json()["port"]


@pytest.fixture
def bound_port(admin: Api, agent: L2Agent) -> dict:
    net = admin.network(name="l2-rpc")
    admin.subnet(net["id"], "10.40.0.0/24")
    port = admin.port(net["id"], **{"binding:host_id": agent.host,
                                    "device_owner": "compute:nova"})
    assert port["binding:vif_type"] == "bridge"
    return port


def test_device_details(admin: Api, agent: L2Agent, bound_port: dict) -> None:
    net = admin.get(f"networks/{bound_port['network_id']}").json()["network"]
    unknown = "tap" + uuid.uuid4().hex[:11]
    details = agent.call("get_devices_details_list",
                         devices=[tap(bound_port), bound_port["id"], unknown])
    assert len(details) == 3
    first = details[0]
    assert first["device"] == tap(bound_port)
    assert first["port_id"] == bound_port["id"]
    assert first["network_id"] == net["id"]
    assert first["network_type"] == "vxlan"
    assert first["segmentation_id"] == net["provider:segmentation_id"]
    assert first["physical_network"] is None
    assert first["mtu"] == net["mtu"]
    assert first["mac_address"] == bound_port["mac_address"]
    assert first["fixed_ips"] == bound_port["fixed_ips"]
    assert first["admin_state_up"] is True
    assert first["device_owner"] == "compute:nova"
    assert first["port_security_enabled"] is True
    assert first["security_groups"] == bound_port["security_groups"]
    assert details[1]["device"] == bound_port["id"]
    assert details[1]["port_id"] == bound_port["id"]
    assert details[2] == {"device": unknown}


def test_details_only_for_the_bound_host(admin: Api, agent: L2Agent, bound_port: dict,
                                         agent_transport: Any,
                                         rpc_server: ServerProcess) -> None:
    other = L2Agent(agent_transport, rpc_server.rpc_name, f"host-{uuid.uuid4().hex[:8]}")
    assert other.call("get_devices_details_list", devices=[tap(bound_port)]) == [
        {"device": tap(bound_port)}]


def test_device_up_and_down(admin: Api, agent: L2Agent, bound_port: dict,
                            agent_transport: Any, rpc_server: ServerProcess) -> None:
    revision = port_of(admin, bound_port)["revision_number"]
    assert agent.call("update_device_up", device=tap(bound_port)) is None
    port = port_of(admin, bound_port)
    assert port["status"] == "ACTIVE"
    assert port["revision_number"] == revision + 1
    # Saying it again changes nothing.
    agent.call("update_device_up", device=tap(bound_port))
    assert port_of(admin, bound_port)["revision_number"] == revision + 1

    # Another host's agent does not decide for this port.
    other = L2Agent(agent_transport, rpc_server.rpc_name, f"host-{uuid.uuid4().hex[:8]}")
    assert other.call("update_device_down", device=tap(bound_port)) == {
        "device": tap(bound_port), "exists": True}
    assert port_of(admin, bound_port)["status"] == "ACTIVE"

    assert agent.call("update_device_down", device=tap(bound_port)) == {
        "device": tap(bound_port), "exists": True}
    port = port_of(admin, bound_port)
    assert port["status"] == "DOWN"
    assert port["revision_number"] == revision + 2
    missing = "tap" + uuid.uuid4().hex[:11]
    assert agent.call("update_device_down", device=missing) == {"device": missing,
                                                                "exists": False}


def test_rebinding_puts_the_port_down(admin: Api, agent: L2Agent, bound_port: dict
                                      ) -> None:
    agent.call("update_device_up", device=bound_port["id"])
    assert port_of(admin, bound_port)["status"] == "ACTIVE"
    moved = admin.put(f"ports/{bound_port['id']}", {"port": {
        "binding:host_id": f"elsewhere-{uuid.uuid4().hex[:6]}"}}).json()["port"]
    assert moved["status"] == "DOWN"
    assert moved["binding:vif_type"] == "binding_failed"
    assert port_of(admin, bound_port)["status"] == "DOWN"


def test_details_retry_a_failed_binding(admin: Api, agent_transport: Any,
                                        rpc_server: ServerProcess) -> None:
    """A port bound to a host before its agent reported: the agent's first request
    for the device binds it."""
    lb = L2Agent(agent_transport, rpc_server.rpc_name, f"host-{uuid.uuid4().hex[:8]}")
    net = admin.network(name="late-agent")
    port = admin.port(net["id"], **{"binding:host_id": lb.host})
    assert port["binding:vif_type"] == "binding_failed"
    assert lb.report(tunnel_types=["vxlan"]) == "new"
    [details] = lb.call("get_devices_details_list", devices=[tap(port)])
    assert details["port_id"] == port["id"]
    assert details["network_type"] == "vxlan"
    shown = port_of(admin, port)
    assert shown["binding:vif_type"] == "bridge"
    assert shown["revision_number"] > port["revision_number"]
