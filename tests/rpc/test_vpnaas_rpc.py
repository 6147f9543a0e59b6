"""VPNaaS (issue 16) over RabbitMQ against a real server (contract/l3.py): the L3
agents' desired state carries each router's VPN services with their connections,
policies and CIDRs; a change to a service or a connection tells the router's L3
agents (``routers_updated``); the agents' ``update_status`` cast on topic
``ipsec_driver`` sets the services' and connections' statuses as upstream's
update_status_by_agent."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest

from neutrino.contract import topics
from neutrino.contract.l3 import VPN_PLUGIN
from rpc_helpers import PluginClient, Reporter, l3_state, lb_state, unique
from server import Api, ServerProcess


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
    endpoint_server = oslo_messaging.get_rpc_server(bus, target, [endpoint])
    endpoint_server.start()
    yield endpoint
    endpoint_server.stop()
    endpoint_server.wait()


@pytest.fixture
def vpn_client(bus: Any, rpc_server: ServerProcess) -> Any:
    target = oslo_messaging.Target(topic=VPN_PLUGIN, version="1.0")
    return oslo_messaging.get_rpc_client(bus, target, timeout=30).prepare(
        server=rpc_server.rpc_name)


def _post(api: Api, path: str, kind: str, **attrs: object) -> dict:
    response = api.post(f"vpn/{path}", {kind: attrs})
    assert response.status_code == 201, response.text
    return response.json()[kind]


def _until(check: Any, timeout: float = 20) -> bool:
    """A cast has no answer: its effect is polled for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_desired_state_notifications_and_status(
        admin: Api, report: Reporter, plugin: PluginClient, listener: L3Listener,
        vpn_client: Any) -> None:
    host = unique("network")
    report(lb_state(host, "192.0.2.61"))
    report(l3_state(host))
    ext = admin.network(name=unique("public"), **{"router:external": True})
    admin.subnet(ext["id"], "198.18.7.0/24", enable_dhcp=False)
    net = admin.network(name=unique("private"))
    subnet = admin.subnet(net["id"], "10.47.0.0/24")
    router = admin.create("router", name=unique("r"),
                          external_gateway_info={"network_id": ext["id"]})
    assert admin.put(f"routers/{router['id']}/add_router_interface",
                     {"subnet_id": subnet["id"]}).status_code == 200
    gw_ip = admin.get(f"routers/{router['id']}").json()["router"][
        "external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    ike = _post(admin, "ikepolicies", "ikepolicy", ike_version="v2")
    ipsec = _post(admin, "ipsecpolicies", "ipsecpolicy", pfs="group14")
    listener.routers.clear()
    service = _post(admin, "vpnservices", "vpnservice", router_id=router["id"])
    assert listener.wait_for(router["id"]), "no routers_updated for the new service"
    local = _post(admin, "endpoint-groups", "endpoint_group", type="subnet",
                  endpoints=[subnet["id"]])
    peer = _post(admin, "endpoint-groups", "endpoint_group", type="cidr",
                 endpoints=["10.48.0.0/24"])
    listener.routers.clear()
    conn = _post(admin, "ipsec-site-connections", "ipsec_site_connection",
                 vpnservice_id=service["id"], ikepolicy_id=ike["id"],
                 ipsecpolicy_id=ipsec["id"], local_ep_group_id=local["id"],
                 peer_ep_group_id=peer["id"], peer_address="198.18.7.200",
                 peer_id="198.18.7.200", psk="s3cret")
    assert listener.wait_for(router["id"]), "no routers_updated for the new connection"

    state = plugin.call("get_desired_state", host=host, kind="l3")
    [mine] = [r for r in state["routers"] if r["id"] == router["id"]]
    assert mine["vpn_services"] == [{
        "id": service["id"], "status": "PENDING_CREATE", "admin_state_up": True,
        "external_v4_ip": gw_ip, "external_v6_ip": None, "connections": [{
            "id": conn["id"], "status": "PENDING_CREATE", "admin_state_up": True,
            "peer_address": "198.18.7.200", "peer_id": "198.18.7.200", "local_id": "",
            "local_cidrs": ["10.47.0.0/24"], "peer_cidrs": ["10.48.0.0/24"],
            "psk": "s3cret", "mtu": 1500, "initiator": "bi-directional",
            "dpd_action": "hold", "dpd_interval": 30, "dpd_timeout": 120,
            "ikepolicy": {"ike_version": "v2", "auth_algorithm": "sha1",
                          "encryption_algorithm": "aes-128", "pfs": "group5",
                          "lifetime_seconds": 3600, "phase1_negotiation_mode": "main"},
            "ipsecpolicy": {"transform_protocol": "esp", "encapsulation_mode": "tunnel",
                            "auth_algorithm": "sha1", "encryption_algorithm": "aes-128",
                            "pfs": "group14", "lifetime_seconds": 3600}}]}]

    def statuses() -> tuple[str, str]:
        return (admin.get(f"vpn/vpnservices/{service['id']}").json()["vpnservice"][
                    "status"],
                admin.get(f"vpn/ipsec-site-connections/{conn['id']}").json()[
                    "ipsec_site_connection"]["status"])

    # A report that did not act on the pending states leaves them pending ...
    vpn_client.cast({}, "update_status", host=host, status=[{
        "id": service["id"], "status": "ACTIVE", "updated_pending_status": False,
        "ipsec_site_connections": {conn["id"]: {"status": "DOWN",
                                                "updated_pending_status": False}}}])
    # ... one that did replaces them (casts on one queue are handled in order).
    vpn_client.cast({}, "update_status", host=host, status=[{
        "id": service["id"], "status": "ACTIVE", "updated_pending_status": True,
        "ipsec_site_connections": {conn["id"]: {"status": "DOWN",
                                                "updated_pending_status": True},
                                   str(uuid.uuid4()): {"status": "ACTIVE",
                                                       "updated_pending_status": True}}},
        {"id": str(uuid.uuid4()), "status": "ACTIVE", "updated_pending_status": True,
         "ipsec_site_connections": {}}])
    assert _until(lambda: statuses() == ("ACTIVE", "DOWN")), statuses()
    # Not pending: a later report is taken as it is; an unknown status is ERROR.
    vpn_client.cast({}, "update_status", host=host, status=[{
        "id": service["id"], "status": "ACTIVE", "updated_pending_status": False,
        "ipsec_site_connections": {conn["id"]: {"status": "BROKEN",
                                                "updated_pending_status": False}}}])
    assert _until(lambda: statuses() == ("ACTIVE", "ERROR")), statuses()

    # An update of the tunnel makes it pending again and tells the agents.
    listener.routers.clear()
    response = admin.put(f"vpn/ipsec-site-connections/{conn['id']}",
                         {"ipsec_site_connection": {"mtu": 1400}})
    assert response.status_code == 200, response.text
    assert response.json()["ipsec_site_connection"]["status"] == "PENDING_UPDATE"
    assert listener.wait_for(router["id"])
    listener.routers.clear()
    assert admin.delete(f"vpn/ipsec-site-connections/{conn['id']}").status_code == 204
    assert listener.wait_for(router["id"])
    state = plugin.call("get_desired_state", host=host, kind="l3")
    [mine] = [r for r in state["routers"] if r["id"] == router["id"]]
    assert [s["connections"] for s in mine["vpn_services"]] == [[]]
    assert admin.delete(f"vpn/vpnservices/{service['id']}").status_code == 204
    state = plugin.call("get_desired_state", host=host, kind="l3")
    [mine] = [r for r in state["routers"] if r["id"] == router["id"]]
    assert mine["vpn_services"] == []
