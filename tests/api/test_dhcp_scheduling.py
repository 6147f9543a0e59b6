"""DHCP scheduling against a real server whose DHCP agents report over RabbitMQ:
networks with a DHCP-enabled subnet go to alive, enabled DHCP agents, least loaded
first, dhcp_agents_per_network of them; a registering agent takes the networks
short of agents; failover moves networks off dead agents; the dhcp_agent_scheduler
admin API (and its errors and policy), also through openstacksdk."""

from __future__ import annotations

import time
from collections.abc import Iterator

import openstack
import pytest

from rpc_helpers import (
    Heartbeat,
    PluginClient,
    Reporter,
    agent_id,
    dhcp_state,
    hosts_of,
    l3_state,
    only_new_agents,
    server_on_rabbit,
    unique,
)
from server import UNKNOWN, Api, ServerProcess, assert_error

DOWN_TIME = 3


@pytest.fixture(scope="module")
def rpc_server_options() -> dict[str, object]:
    return {"agent_down_time": 60}


@pytest.fixture(scope="module")
def srv2(rabbit: str, backend: str, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[ServerProcess]:
    """Two agents per network; agents are down after DOWN_TIME seconds."""
    state = tmp_path_factory.mktemp(f"dhcp2-{backend}")
    with server_on_rabbit(rabbit, backend, state, agent_down_time=DOWN_TIME,
                          dhcp_agents_per_network=2) as proc:
        yield proc


def network_with_subnet(api: Api, cidr: str = "10.9.0.0/24", **subnet: object) -> dict:
    net = api.network(name=unique("net"))
    api.subnet(net["id"], cidr, **subnet)
    return net


def test_subnet_create_schedules_least_loaded(admin: Api, report: Reporter) -> None:
    only_new_agents(admin)
    busy, idle = unique("busy"), unique("idle")
    report(dhcp_state(busy))
    report(dhcp_state(idle))
    # Give `busy` a network first: the next one goes to `idle`.
    first = admin.network(name=unique("net"))
    assert admin.post(f"agents/{agent_id(admin, busy)}/dhcp-networks",
                      {"network_id": first["id"]}).status_code == 201
    assert hosts_of(admin, first["id"]) == [busy]

    net = admin.network(name=unique("net"))
    assert hosts_of(admin, net["id"]) == []  # no subnet, nothing to serve
    admin.subnet(net["id"], "10.9.1.0/24")
    assert hosts_of(admin, net["id"]) == [idle]
    # One agent per network (dhcp_agents_per_network = 1): a second subnet adds none.
    admin.subnet(net["id"], "10.9.2.0/24")
    assert hosts_of(admin, net["id"]) == [idle]


def test_dhcp_disabled_subnet_waits_for_enable(admin: Api, report: Reporter) -> None:
    only_new_agents(admin)
    host = unique("dhcp")
    report(dhcp_state(host))
    net = admin.network(name=unique("net"))
    subnet = admin.subnet(net["id"], "10.9.3.0/24", enable_dhcp=False)
    assert hosts_of(admin, net["id"]) == []
    response = admin.put(f"subnets/{subnet['id']}", {"subnet": {"enable_dhcp": True}})
    assert response.status_code == 200, response.text
    assert hosts_of(admin, net["id"]) == [host]


def test_disabled_agents_are_skipped_and_new_agents_take_waiting_networks(
        admin: Api, report: Reporter) -> None:
    only_new_agents(admin)
    net = network_with_subnet(admin, "10.9.4.0/24")
    assert hosts_of(admin, net["id"]) == []  # no enabled agent at all
    host = unique("late")
    assert report(dhcp_state(host)) == "new"
    assert hosts_of(admin, net["id"]) == [host]
    # An agent that is disabled gets nothing, even when it registers.
    admin.put(f"agents/{agent_id(admin, host)}", {"agent": {"admin_state_up": False}})
    other = network_with_subnet(admin, "10.9.5.0/24")
    assert hosts_of(admin, other["id"]) == []
    # A DHCP agent that restarts (start_flag) takes the networks short of agents.
    host2 = unique("restarted")
    report(dhcp_state(host2))
    assert hosts_of(admin, other["id"]) == [host2]


def test_availability_zone_hints(admin: Api, report: Reporter) -> None:
    only_new_agents(admin)
    zone1, zone2 = unique("az"), unique("az")
    in1, in2 = unique("dhcp"), unique("dhcp")
    report(dhcp_state(in1, az=zone1))
    report(dhcp_state(in2, az=zone2))
    # in2 hosts a network already: without hints the next one would go to in1.
    busy = network_with_subnet(admin, "10.9.9.0/24")
    [first] = hosts_of(admin, busy["id"])
    other = in2 if first == in1 else in1
    other_zone = zone2 if other == in2 else zone1
    first_zone = zone1 if other_zone == zone2 else zone2
    net = admin.network(name=unique("net"), availability_zone_hints=[first_zone])
    admin.subnet(net["id"], "10.9.10.0/24")
    assert hosts_of(admin, net["id"]) == [first]
    shown = admin.get(f"networks/{net['id']}").json()["network"]
    assert shown["availability_zones"] == [first_zone]


def test_admin_api(admin: Api, report: Reporter) -> None:
    only_new_agents(admin)
    host = unique("dhcp")
    report(dhcp_state(host))
    agent = agent_id(admin, host)
    net = admin.network(name=unique("net"))

    response = admin.post(f"agents/{agent}/dhcp-networks", {"network_id": net["id"]})
    assert response.status_code == 201, response.text
    assert response.json() is None
    listed = admin.get(f"agents/{agent}/dhcp-networks").json()["networks"]
    assert [n["id"] for n in listed] == [net["id"]]
    assert listed[0]["name"] == net["name"] and listed[0]["mtu"] == net["mtu"]
    only = admin.get(f"agents/{agent}/dhcp-networks",
                     params={"fields": ["id", "name"]}).json()["networks"]
    assert only == [{"id": net["id"], "name": net["name"]}]
    filtered = admin.get(f"agents/{agent}/dhcp-networks",
                         params={"name": "no-such-name"}).json()
    assert filtered == {"networks": []}
    agents = admin.get(f"networks/{net['id']}/dhcp-agents").json()["agents"]
    assert [a["id"] for a in agents] == [agent]
    assert agents[0]["alive"] is True and agents[0]["agent_type"] == "DHCP agent"

    assert_error(admin.post(f"agents/{agent}/dhcp-networks", {"network_id": net["id"]}),
                 409, "NetworkHostedByDHCPAgent",
                 f"The network {net['id']} has been already hosted by the DHCP Agent "
                 f"{agent}.")
    assert_error(admin.post(f"agents/{agent}/dhcp-networks", {"network_id": UNKNOWN}),
                 404, "NetworkNotFound")
    assert_error(admin.post(f"agents/{UNKNOWN}/dhcp-networks", {"network_id": net["id"]}),
                 404, "AgentNotFound")
    assert admin.post(f"agents/{agent}/dhcp-networks", {}).status_code == 400
    assert admin.post(f"agents/{agent}/dhcp-networks", "not json").status_code == 400
    l3_host = unique("l3")
    report(l3_state(l3_host))
    l3 = agent_id(admin, l3_host, "L3 agent")
    assert_error(admin.post(f"agents/{l3}/dhcp-networks", {"network_id": net["id"]}),
                 404, "InvalidDHCPAgent",
                 f"Agent {l3} is not a valid DHCP Agent or has been disabled.")
    assert_error(admin.get(f"agents/{UNKNOWN}/dhcp-networks"), 404, "AgentNotFound")
    assert admin.get(f"networks/{UNKNOWN}/dhcp-agents").json() == {"agents": []}

    assert admin.delete(f"agents/{agent}/dhcp-networks/{net['id']}").status_code == 204
    assert hosts_of(admin, net["id"]) == []
    assert_error(admin.delete(f"agents/{agent}/dhcp-networks/{net['id']}"), 409,
                 "NetworkNotHostedByDhcpAgent",
                 f"The network {net['id']} is not hosted by the DHCP Agent {agent}.")
    assert_error(admin.delete(f"agents/{UNKNOWN}/dhcp-networks/{net['id']}"), 404,
                 "AgentNotFound")
    # A disabled agent cannot be given a network.
    admin.put(f"agents/{agent}", {"agent": {"admin_state_up": False}})
    assert_error(admin.post(f"agents/{agent}/dhcp-networks", {"network_id": net["id"]}),
                 404, "InvalidDHCPAgent")


def test_admin_api_is_admin_only(admin: Api, report: Reporter) -> None:
    only_new_agents(admin)
    host = unique("dhcp")
    report(dhcp_state(host))
    agent = agent_id(admin, host)
    net = network_with_subnet(admin, "10.9.6.0/24")
    assert hosts_of(admin, net["id"]) == [host]
    member = admin.as_project(unique("p"))
    for response, rule in (
            (member.get(f"agents/{agent}/dhcp-networks"), "get_dhcp-networks"),
            (member.post(f"agents/{agent}/dhcp-networks", {"network_id": net["id"]}),
             "create_dhcp-network"),
            (member.delete(f"agents/{agent}/dhcp-networks/{net['id']}"),
             "delete_dhcp-network"),
            (member.get(f"networks/{net['id']}/dhcp-agents"), "get_dhcp-agents")):
        assert_error(response, 403, "PolicyNotAuthorized",
                     f"rule:{rule} is disallowed by policy")
    assert hosts_of(admin, net["id"]) == [host]


def test_openstacksdk(admin: Api, report: Reporter, rpc_server: ServerProcess) -> None:
    only_new_agents(admin)
    host = unique("dhcp")
    report(dhcp_state(host))
    agent = agent_id(admin, host)
    net = admin.network(name=unique("net"))
    conn = openstack.connect(auth_type="none", auth={"endpoint": rpc_server.url})
    try:
        sdk_agent = conn.network.get_agent(agent)
        conn.network.add_dhcp_agent_to_network(sdk_agent, net["id"])
        assert [n.id for n in conn.network.dhcp_agent_hosting_networks(sdk_agent)] == [
            net["id"]]
        assert [a.host for a in conn.network.network_hosting_dhcp_agents(net["id"])] == [
            host]
        conn.network.remove_dhcp_agent_from_network(sdk_agent, net["id"])
        assert list(conn.network.network_hosting_dhcp_agents(net["id"])) == []
    finally:
        conn.close()


def test_removed_network_keeps_its_dhcp_port_for_the_next_agent(
        admin: Api, report: Reporter, plugin: PluginClient) -> None:
    only_new_agents(admin)
    first, second = unique("dhcp"), unique("dhcp")
    report(dhcp_state(first))
    net = network_with_subnet(admin, "10.9.7.0/24")
    assert hosts_of(admin, net["id"]) == [first]
    port = plugin.call("get_dhcp_port", host=first, network_id=net["id"])
    assert admin.delete(f"agents/{agent_id(admin, first)}/dhcp-networks/{net['id']}"
                        ).status_code == 204
    kept = admin.get(f"ports/{port['id']}").json()["port"]
    assert kept["device_id"] == "reserved_dhcp_port"
    assert kept["device_owner"] == "network:dhcp"
    report(dhcp_state(second))
    assert hosts_of(admin, net["id"]) == [second]
    claimed = plugin.call("get_dhcp_port", host=second, network_id=net["id"])
    assert claimed["id"] == port["id"]
    assert claimed["fixed_ips"] == port["fixed_ips"]
    assert claimed["device_id"].endswith(net["id"])
    assert claimed["device_id"] != port["device_id"]


# -- two agents per network, failover -------------------------------------------------


def wait_for(predicate: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.3)
    return bool(predicate())  # type: ignore[operator]


def test_agents_per_network_and_failover(bus: object, srv2: ServerProcess) -> None:
    api = Api(srv2.url)
    report = Reporter(bus, srv2.rpc_name)
    only_new_agents(api)
    hosts = sorted(unique("dhcp") for _ in range(3))
    states = [dhcp_state(h) for h in hosts]
    with Heartbeat(report, states) as beat:
        net = network_with_subnet(api, "10.9.8.0/24")
        serving = hosts_of(api, net["id"])
        assert len(serving) == 2 and set(serving) <= set(hosts)
        # One of them stops reporting: its network moves to the third agent.
        dead = serving[0]
        beat.states = [s for s in states if s["host"] != dead]
        assert wait_for(lambda: hosts_of(api, net["id"]) == sorted(
            h for h in hosts if h != dead), timeout=DOWN_TIME + 15)
        dead_agent = api.get(f"agents/{agent_id(api, dead)}").json()["agent"]
        assert dead_agent["alive"] is False
        # Another stops, with no spare agent left: an alive agent still serves the
        # network, so the dead one's binding goes.
        second, last = hosts_of(api, net["id"])
        beat.states = [s for s in states if s["host"] == last]
        assert wait_for(lambda: hosts_of(api, net["id"]) == [last],
                        timeout=DOWN_TIME + 15)
    # The last one stops: with nobody to take over, its binding stays.
    time.sleep(DOWN_TIME + 3)
    assert all(not a["alive"] for a in api.get(f"networks/{net['id']}/dhcp-agents")
               .json()["agents"])
    assert hosts_of(api, net["id"]) == [last]
    log = srv2.log.read_text()
    assert f"(DHCP agent on {dead}) is down since" in log
    assert log.count(f"(DHCP agent on {dead}) is down since") == 1
