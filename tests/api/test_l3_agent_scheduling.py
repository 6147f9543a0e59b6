"""Routers scheduled to L3 agents, against a real server on RabbitMQ with agents that
report their state over the bus: least-loaded choice, availability zone hints, dead
and disabled agents skipped, the l3_agent_scheduler API, the `routers_updated`
fanout, and the L3 agent's desired state (get_desired_state kind "l3")."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest
from l3_setup import external_network, project_network

from neutrino.contract import topics
from rpc_helpers import PluginClient, Reporter, agent_id, l3_state
from server import UNKNOWN, Api, ServerProcess, assert_error

L3 = "L3 agent"


@pytest.fixture
def admin(rpc_server: ServerProcess) -> Api:
    """An admin in a project of its own (the module's server is shared)."""
    return Api(rpc_server.url).as_project(f"p-{uuid.uuid4().hex}", ["admin"])


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
    endpoint_server = oslo_messaging.get_rpc_server(bus, target, [endpoint])
    endpoint_server.start()
    yield endpoint
    endpoint_server.stop()
    endpoint_server.wait()


def test_scheduling_and_api(admin: Api, report: Reporter) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    hosts = [f"l3-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for host in hosts:
        report(l3_state(host, zone))
    hinted = [admin.create("router", availability_zone_hints=[zone]) for _ in range(4)]
    placed = [l3_agents_of(admin, r["id"]) for r in hinted]
    assert all(len(p) == 1 and p[0] in hosts for p in placed)
    # Least loaded first: the four routers are spread two and two.
    assert sorted(p[0] for p in placed) == sorted(hosts * 2)
    shown = admin.get(f"routers/{hinted[0]['id']}").json()["router"]
    assert shown["availability_zones"] == [zone]
    assert shown["availability_zone_hints"] == [zone]

    # The l3_agent_scheduler API.
    first, second = (agent_id(admin, h, L3) for h in hosts)
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


def test_disabled_agent_not_chosen(admin: Api, report: Reporter) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    up, down = f"l3-{uuid.uuid4().hex[:6]}", f"l3-{uuid.uuid4().hex[:6]}"
    report(l3_state(up, zone))
    report(l3_state(down, zone))
    assert admin.put(f"agents/{agent_id(admin, down, L3)}",
                     {"agent": {"admin_state_up": False}}).status_code == 200
    for _ in range(3):
        r = admin.create("router", availability_zone_hints=[zone])
        assert l3_agents_of(admin, r["id"]) == [up]
    assert_error(admin.post(f"agents/{agent_id(admin, down, L3)}/l3-routers",
                            {"router_id": r["id"]}), 400, "InvalidL3Agent")


def test_notifications_and_desired_state(admin: Api, report: Reporter,
                                         plugin: PluginClient,
                                         listener: L3Listener) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    host = f"l3-{uuid.uuid4().hex[:6]}"
    report(l3_state(host, zone))
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

    state = plugin.call("get_desired_state", host=host, kind="l3")
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
    other = plugin.call("get_desired_state", host=f"nobody-{uuid.uuid4().hex[:6]}",
                        kind="l3")
    assert other["routers"] == []
    # Deleting the port disassociates the floating IP and tells the agents.
    listener.routers.clear()
    assert admin.delete(f"ports/{port['id']}").status_code == 204
    assert listener.wait_for(r["id"])
    state = plugin.call("get_desired_state", host=host, kind="l3")
    [mine] = [x for x in state["routers"] if x["id"] == r["id"]]
    assert mine["floating_ips"] == []


def test_agent_arriving_later_takes_unscheduled_routers(admin: Api,
                                                        report: Reporter) -> None:
    zone = f"az-{uuid.uuid4().hex[:6]}"
    host = f"l3-{uuid.uuid4().hex[:6]}"
    # The zone must exist for the hint to be accepted: an agent there, disabled.
    report(l3_state(f"l3-off-{uuid.uuid4().hex[:6]}", zone))
    off = admin.get("agents", params={"availability_zone": zone}).json()["agents"][0]
    admin.put(f"agents/{off['id']}", {"agent": {"admin_state_up": False}})
    r = admin.create("router", availability_zone_hints=[zone])
    assert l3_agents_of(admin, r["id"]) == []
    report(l3_state(host, zone))
    deadline = time.monotonic() + 20
    while l3_agents_of(admin, r["id"]) != [host] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert l3_agents_of(admin, r["id"]) == [host]


def test_desired_state_carries_ipv6_ra_modes(admin: Api, report: Reporter,
                                             plugin: PluginClient) -> None:
    """What the L3 agent needs for its router advertisements: per address, its
    subnet's ipv6_ra_mode, ipv6_address_mode and dns_nameservers (docs/rpc.md)."""
    zone = f"az-{uuid.uuid4().hex[:6]}"
    host = f"l3-{uuid.uuid4().hex[:6]}"
    report(l3_state(host, zone))
    net = admin.network(name="v6")
    v4 = admin.subnet(net["id"], "10.62.0.0/24", dns_nameservers=["10.62.0.53"])
    slaac = admin.subnet(net["id"], "2001:db8:62::/64", ipv6_ra_mode="slaac",
                         ipv6_address_mode="slaac",
                         dns_nameservers=["2001:db8::53", "2001:db8::35"])
    r = admin.create("router", availability_zone_hints=[zone])
    for subnet in (v4, slaac):
        response = admin.put(f"routers/{r['id']}/add_router_interface",
                             {"subnet_id": subnet["id"]})
        assert response.status_code == 200, response.text

    state = plugin.call("get_desired_state", host=host, kind="l3")
    [mine] = [x for x in state["routers"] if x["id"] == r["id"]]
    by_subnet = {f["subnet_id"]: f for q in mine["interfaces"] for f in q["fixed_ips"]}
    assert by_subnet[slaac["id"]]["ip_address"] == "2001:db8:62::1"
    assert (by_subnet[slaac["id"]]["ipv6_ra_mode"],
            by_subnet[slaac["id"]]["ipv6_address_mode"],
            by_subnet[slaac["id"]]["dns_nameservers"]) == (
        "slaac", "slaac", ["2001:db8::53", "2001:db8::35"])
    assert (by_subnet[v4["id"]]["ipv6_ra_mode"], by_subnet[v4["id"]]["dns_nameservers"]
            ) == (None, ["10.62.0.53"])
