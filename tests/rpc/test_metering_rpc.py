"""The metering agent's call over RabbitMQ against a real server (contract/
metering.py): ``get_sync_data_metering`` on q-metering-plugin answers the routers
of the host's L3 agent that carry labels (their project's and the shared ones),
with the labels' rules and the gateway device."""

from __future__ import annotations

from typing import Any

import oslo_messaging
import pytest

from neutrino.contract import metering
from rpc_helpers import Reporter, l3_state, lb_state, unique
from server import Api, ServerProcess


@pytest.fixture
def metering_client(bus: Any, rpc_server: ServerProcess) -> Any:
    target = oslo_messaging.Target(topic=metering.METERING_PLUGIN, version="1.0")
    return oslo_messaging.get_rpc_client(bus, target, timeout=30).prepare(
        server=rpc_server.rpc_name)


def _label(admin: Api, project: str, shared: bool = False) -> dict:
    response = admin.post("metering/metering-labels", {"metering_label": {
        "name": unique("m"), "project_id": project, "shared": shared}})
    assert response.status_code == 201, response.text
    return response.json()["metering_label"]


def _rule(admin: Api, label: dict, **attrs: object) -> dict:
    response = admin.post("metering/metering-label-rules", {"metering_label_rule": {
        "metering_label_id": label["id"], "direction": "egress", **attrs}})
    assert response.status_code == 201, response.text
    return response.json()["metering_label_rule"]


def test_sync_data_metering(admin: Api, report: Reporter, metering_client: Any) -> None:
    host, other_host = unique("network"), unique("network")
    report(lb_state(host, "192.0.2.41"))
    report(l3_state(host))
    p1, p2, p3 = unique("p"), unique("p"), unique("p")
    ext = admin.network(name=unique("public"), **{"router:external": True})
    admin.subnet(ext["id"], "198.18.1.0/24", enable_dhcp=False)

    def router(project: str, gateway: bool = True) -> dict:
        attrs: dict[str, object] = {"name": unique("r"), "project_id": project}
        if gateway:
            attrs["external_gateway_info"] = {"network_id": ext["id"]}
        return admin.create("router", **attrs)

    r1, r2, r3 = router(p1), router(p2, gateway=False), router(p3)
    own = _label(admin, p1)
    rule = _rule(admin, own, source_ip_prefix="10.0.0.0/24")
    shared = _label(admin, unique("admin"), shared=True)
    _label(admin, unique("p"))  # another project's: on none of these routers

    state = metering_client.call({}, "get_sync_data_metering", host=host)
    assert state["host"] == host
    routers = {r["id"]: r for r in state["routers"]}
    assert set(routers) >= {r1["id"], r2["id"], r3["id"]}
    first = routers[r1["id"]]
    assert first["project_id"] == p1 and first["admin_state_up"] is True
    [gateway] = admin.get("ports", params={
        "device_id": r1["id"], "device_owner": "network:router_gateway"}).json()["ports"]
    assert first["gateway_device"] == "qg-" + gateway["id"][:11]
    assert [label["id"] for label in first["labels"]] == sorted([own["id"], shared["id"]])
    [with_rules] = [label for label in first["labels"] if label["id"] == own["id"]]
    assert with_rules["rules"] == [{
        "id": rule["id"], "direction": "egress", "excluded": False,
        "remote_ip_prefix": None, "source_ip_prefix": "10.0.0.0/24",
        "destination_ip_prefix": None}]
    # Routers of projects without labels of their own carry the shared one; one
    # without a gateway has no device (nothing is counted there).
    assert [label["id"] for label in routers[r3["id"]]["labels"]] == [shared["id"]]
    assert routers[r2["id"]]["gateway_device"] is None
    # A host without an L3 agent has nothing to count.
    assert metering_client.call({}, "get_sync_data_metering", host=other_host) == {
        "host": other_host, "routers": []}
