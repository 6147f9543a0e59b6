"""The L2 agent's q-plugin calls over RabbitMQ to a real server: device details of
bound ports, device up / down setting the port status seen through the API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from rpc_helpers import PluginClient, Reporter, lb_state
from server import Api, ServerProcess


class L2Agent:
    """What a Linux bridge agent on `host` sends to the server."""

    def __init__(self, rpc_transport: Any, server: str, host: str) -> None:
        self.host = host
        self.agent_id = f"lb-{host}"
        self.plugin = PluginClient(rpc_transport, server)
        self.reporter = Reporter(rpc_transport, server)

    def report(self) -> str:
        """Registers as a vxlan-capable agent (what lets ML2 bind ports here)."""
        return self.reporter(lb_state(self.host, "192.0.2.1"))

    def call(self, method: str, **kwargs: Any) -> Any:
        return self.plugin.call(method, agent_id=self.agent_id, host=self.host, **kwargs)


@pytest.fixture
def agent(bus: Any, rpc_server: ServerProcess) -> L2Agent:
    lb = L2Agent(bus, rpc_server.rpc_name, f"host-{uuid.uuid4().hex[:8]}")
    assert lb.report() == "new"
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
                                         bus: Any,
                                         rpc_server: ServerProcess) -> None:
    other = L2Agent(bus, rpc_server.rpc_name, f"host-{uuid.uuid4().hex[:8]}")
    assert other.call("get_devices_details_list", devices=[tap(bound_port)]) == [
        {"device": tap(bound_port)}]


def test_device_up_and_down(admin: Api, agent: L2Agent, bound_port: dict,
                            bus: Any, rpc_server: ServerProcess) -> None:
    revision = port_of(admin, bound_port)["revision_number"]
    assert agent.call("update_device_up", device=tap(bound_port)) is None
    port = port_of(admin, bound_port)
    assert port["status"] == "ACTIVE"
    assert port["revision_number"] == revision + 1
    # Saying it again changes nothing.
    agent.call("update_device_up", device=tap(bound_port))
    assert port_of(admin, bound_port)["revision_number"] == revision + 1

    # Another host's agent does not decide for this port.
    other = L2Agent(bus, rpc_server.rpc_name, f"host-{uuid.uuid4().hex[:8]}")
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


def test_details_retry_a_failed_binding(admin: Api, bus: Any,
                                        rpc_server: ServerProcess) -> None:
    """A port bound to a host before its agent reported: the agent's first request
    for the device binds it."""
    lb = L2Agent(bus, rpc_server.rpc_name, f"host-{uuid.uuid4().hex[:8]}")
    net = admin.network(name="late-agent")
    port = admin.port(net["id"], **{"binding:host_id": lb.host})
    assert port["binding:vif_type"] == "binding_failed"
    assert lb.report() == "new"
    [details] = lb.call("get_devices_details_list", devices=[tap(port)])
    assert details["port_id"] == port["id"]
    assert details["network_type"] == "vxlan"
    shown = port_of(admin, port)
    assert shown["binding:vif_type"] == "bridge"
    assert shown["revision_number"] > port["revision_number"]


def test_device_list_over_the_bus(admin: Api, agent: L2Agent) -> None:
    """update_device_list: a sync's devices in one call, each ACTIVE or DOWN as the
    single calls would leave it (the per-device cases: tests/rpc/test_device_list.py)."""
    net = admin.network(name="l2-batch")
    admin.subnet(net["id"], "10.41.0.0/24")
    body = {"ports": [{"network_id": net["id"], "binding:host_id": agent.host,
                       "device_owner": "compute:nova"} for _ in range(12)]}
    created = admin.post("ports", body)
    assert created.status_code == 201, created.text
    ports = created.json()["ports"]
    missing = "tap" + uuid.uuid4().hex[:11]
    answer = agent.call("update_device_list", devices_up=[tap(p) for p in ports[:10]],
                        devices_down=[tap(ports[10]), missing])
    assert answer == {"devices_up": [tap(p) for p in ports[:10]], "failed_devices_up": [],
                      "devices_down": [{"device": tap(ports[10]), "exists": True},
                                       {"device": missing, "exists": False}],
                      "failed_devices_down": []}
    shown = {p["id"]: p for p in admin.get(
        "ports", params={"network_id": net["id"]}).json()["ports"]}
    assert [shown[p["id"]]["status"] for p in ports] == ["ACTIVE"] * 10 + ["DOWN"] * 2
    assert all(shown[p["id"]]["revision_number"] == p["revision_number"] + 1
               for p in ports[:10])
