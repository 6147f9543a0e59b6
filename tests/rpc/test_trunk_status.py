"""A trunk's status over the bus, as a Linux bridge agent drives it: the parent bound
to the agent's host takes the sub-ports along (BUILD), the agent reports their devices
up (ACTIVE) or one down (BUILD again), the parent unbound (DOWN); the "l2" desired
state of the host carries the trunk on its parent."""

from __future__ import annotations

import uuid
from typing import Any

from rpc_helpers import PluginClient, Reporter, lb_state
from server import Api, ServerProcess


def tap(port_id: str) -> str:
    return "tap" + port_id[:11]


def test_status_follows_the_agent(admin: Api, bus: Any, rpc_server: ServerProcess) -> None:
    host = f"trunk-{uuid.uuid4().hex[:8]}"
    state = lb_state(host, "192.0.2.1")
    state["configurations"]["trunk_supported"] = True
    assert Reporter(bus, rpc_server.rpc_name)(state) == "new"
    plugin = PluginClient(bus, rpc_server.rpc_name)

    def call(method: str, **kwargs: Any) -> Any:
        return plugin.call(method, agent_id=f"lb-{host}", host=host, **kwargs)

    nets = [admin.network(name=f"trunk-rpc-{i}") for i in range(2)]
    for i, net in enumerate(nets):
        admin.subnet(net["id"], f"10.{90 + i}.0.0/24")
    parent, sub = admin.port(nets[0]["id"]), admin.port(nets[1]["id"])
    response = admin.post("trunks", {"trunk": {"port_id": parent["id"], "sub_ports": [
        {"port_id": sub["id"], "segmentation_type": "vlan", "segmentation_id": 300}]}})
    assert response.status_code == 201, response.text
    trunk_path = f"trunks/{response.json()['trunk']['id']}"

    def status() -> str:
        return str(admin.get(trunk_path).json()["trunk"]["status"])
    assert status() == "DOWN"
    response = admin.put(f"ports/{parent['id']}", {"port": {
        "binding:host_id": host, "device_owner": "compute:nova", "device_id": "vm"}})
    assert response.status_code == 200, response.text
    assert status() == "BUILD"

    desired = call("get_desired_state", kind="l2")
    by_id = {p["id"]: p for p in desired["ports"]}
    assert by_id[parent["id"]]["trunk"]["sub_ports"] == [
        {"port_id": sub["id"], "device": tap(sub["id"]), "segmentation_type": "vlan",
         "segmentation_id": 300, "mac_address": sub["mac_address"]}]
    assert sub["id"] in by_id  # bound here too: the agent plugs its VLAN device

    call("update_device_up", device=tap(parent["id"]))
    assert status() == "BUILD"  # the sub-port is not wired yet
    call("update_device_up", device=tap(sub["id"]))
    assert status() == "ACTIVE"
    call("update_device_down", device=tap(sub["id"]))
    assert status() == "BUILD"
    response = admin.put(f"ports/{parent['id']}", {"port": {"binding:host_id": ""}})
    assert response.status_code == 200
    assert status() == "DOWN"
    assert admin.get(f"ports/{sub['id']}").json()["port"]["binding:host_id"] == ""
