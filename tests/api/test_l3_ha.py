"""Router HA (l3-ha) through the API and the L3 agents' RPC, against a real server
on RabbitMQ with stand-in L3 agents that report over the bus: the `ha` attribute
(admin-only, default from l3_ha, changed only while the router is down), the
project's hidden HA network and its lifecycle, one HA port per scheduled agent,
max_l3_agents_per_router, VRRP ids, the "l3" desired state of a HA router, and
`ha_state` in ``/routers/{id}/l3-agents`` as the agents report it."""

from __future__ import annotations

import uuid

import pytest
from l3_setup import external_network, project_network

from rpc_helpers import PluginClient, Reporter, l3_state
from server import Api, ServerProcess, assert_error

HA_OWNER = "network:router_ha_interface"


@pytest.fixture(scope="module")
def rpc_server_options() -> dict[str, object]:
    return {"max_l3_agents_per_router": 2}


@pytest.fixture
def admin(rpc_server: ServerProcess) -> Api:
    return Api(rpc_server.url).as_project(f"p-{uuid.uuid4().hex}", ["admin"])


@pytest.fixture
def zone_agents(report: Reporter) -> tuple[str, list[str]]:
    """Three L3 agents in a zone of their own (HA routers hinted to it)."""
    zone = f"az-{uuid.uuid4().hex[:6]}"
    hosts = sorted(f"ha-{uuid.uuid4().hex[:6]}" for _ in range(3))
    for host in hosts:
        report(l3_state(host, zone))
    return zone, hosts


def project_of(api: Api) -> str:
    return str(api.client.headers["X-Project-Id"])


def l3_agents(api: Api, router_id: str) -> list[dict]:
    response = api.get(f"routers/{router_id}/l3-agents")
    assert response.status_code == 200, response.text
    return response.json()["agents"]


def ha_network(api: Api, project: str) -> list[dict]:
    return api.get("networks", params={"name": f"HA network tenant {project}"}
                   ).json()["networks"]


def ha_ports(api: Api, router_id: str) -> list[dict]:
    return api.get("ports", params={"device_id": router_id, "device_owner": HA_OWNER}
                   ).json()["ports"]


def test_ha_router_network_ports_and_states(admin: Api, zone_agents: tuple[str, list[str]],
                                            plugin: PluginClient) -> None:
    zone, hosts = zone_agents
    project = project_of(admin)
    assert ha_network(admin, project) == []
    router = admin.create("router", ha=True, availability_zone_hints=[zone])
    assert router["ha"] is True
    # The project's HA network: owned by no project, the configured CIDR.
    nets = ha_network(admin, project)
    assert len(nets) == 1 and nets[0]["project_id"] == "" and nets[0]["admin_state_up"]
    subnets = admin.get("subnets", params={"network_id": nets[0]["id"]}).json()["subnets"]
    assert [(s["cidr"], s["gateway_ip"], s["enable_dhcp"]) for s in subnets] == [
        ("169.254.192.0/18", None, False)]
    # max_l3_agents_per_router = 2 of the three agents, each with its HA port.
    agents = l3_agents(admin, router["id"])
    assert len(agents) == 2 and {a["host"] for a in agents} < set(hosts)
    assert [a["ha_state"] for a in agents] == ["standby", "standby"]
    ports = ha_ports(admin, router["id"])
    assert sorted(p["binding:host_id"] for p in ports) == sorted(a["host"] for a in agents)
    assert all(p["network_id"] == nets[0]["id"] and p["project_id"] == ""
               and p["name"] == f"HA port tenant {project}" for p in ports)
    # The project does not see its HA network nor the HA ports.
    member = admin.as_project(project, ["member"])
    assert ha_network(member, project) == []
    assert member.get("networks", params={"id": nets[0]["id"]}).json()["networks"] == []
    # A second HA router of the project: same network, another VRRP id.
    second = admin.create("router", ha=True, availability_zone_hints=[zone])
    assert len(ha_network(admin, project)) == 1
    first_host = agents[0]["host"]
    state = plugin.call("sync_routers", host=first_host)
    mine = {r["id"]: r for r in state["routers"]}
    assert router["id"] in mine
    shown = mine[router["id"]]
    assert shown["ha"] is True and shown["ha_vr_id"] in range(1, 255)
    ha_if = shown["ha_interface"]
    port_of_host = [p for p in ports if p["binding:host_id"] == first_host][0]
    assert ha_if["port_id"] == port_of_host["id"]
    assert ha_if["device"] == "ha-" + port_of_host["id"][:11]
    assert ha_if["fixed_ips"][0]["cidr"] == "169.254.192.0/18"
    if second["id"] in mine:
        assert mine[second["id"]]["ha_vr_id"] != shown["ha_vr_id"]
    # The agent reports the router active: ha_state follows.
    plugin.call("update_ha_routers_states", host=first_host,
                states={router["id"]: "active"})
    states = {a["host"]: a["ha_state"] for a in l3_agents(admin, router["id"])}
    assert states[first_host] == "active"
    assert sorted(states.values()) == ["active", "standby"]
    # Unknown states and routers not on that agent are ignored.
    plugin.call("update_ha_routers_states", host=first_host,
                states={router["id"]: "bogus", str(uuid.uuid4()): "active"})
    assert {a["host"]: a["ha_state"] for a in l3_agents(admin, router["id"])} == states
    # Deleting the first keeps the network (the second is HA), the last removes it.
    admin.delete(f"routers/{router['id']}")
    assert ha_ports(admin, router["id"]) == []
    assert len(ha_network(admin, project)) == 1
    admin.delete(f"routers/{second['id']}")
    assert ha_network(admin, project) == []
    assert admin.get(f"networks/{nets[0]['id']}").status_code == 404


def test_active_router_ports_bound_to_active_host(
        admin: Api, zone_agents: tuple[str, list[str]], plugin: PluginClient) -> None:
    zone, _ = zone_agents
    ext, _ = external_network(admin)
    _, subnet = project_network(admin)
    router = admin.create("router", ha=True, availability_zone_hints=[zone],
                          external_gateway_info={"network_id": ext["id"]})
    assert admin.put(f"routers/{router['id']}/add_router_interface",
                     {"subnet_id": subnet["id"]}).status_code == 200
    first, second = sorted(a["host"] for a in l3_agents(admin, router["id"]))

    def hosts() -> set[str]:
        ports = admin.get("ports", params={"device_id": router["id"]}).json()["ports"]
        return {p["binding:host_id"] for p in ports if p["device_owner"] != HA_OWNER}
    # No agent reports it active: the first agent that asks gets the ports ...
    plugin.call("sync_routers", host=second)
    plugin.call("sync_routers", host=first)
    assert hosts() == {second}
    # ... and they follow the active one.
    plugin.call("update_ha_routers_states", host=first, states={router["id"]: "active"})
    assert hosts() == {first}
    plugin.call("sync_routers", host=second)
    assert hosts() == {first}
    # A split (both active): the one that took over last has them; a sync of the
    # other does not take them back ...
    plugin.call("update_ha_routers_states", host=second, states={router["id"]: "active"})
    assert hosts() == {second}
    plugin.call("sync_routers", host=first)
    assert hosts() == {second}
    # ... and when it steps down they go to the one still active.
    plugin.call("update_ha_routers_states", host=second, states={router["id"]: "standby"})
    assert hosts() == {first}
    # A report about a router the agent does not host moves nothing.
    other = admin.create("router", availability_zone_hints=[zone],
                         external_gateway_info={"network_id": ext["id"]})
    other_host = l3_agents(admin, other["id"])[0]["host"]
    plugin.call("sync_routers", host=other_host)
    stranger = [h for h in (first, second) if h != other_host][0]
    plugin.call("update_ha_routers_states", host=stranger, states={other["id"]: "active"})
    gw = admin.get("ports", params={"device_id": other["id"]}).json()["ports"]
    assert {p["binding:host_id"] for p in gw} == {other_host}


def test_ha_attribute_rules(admin: Api, zone_agents: tuple[str, list[str]]) -> None:
    zone, _ = zone_agents
    project = project_of(admin)
    legacy = admin.create("router", availability_zone_hints=[zone])
    assert legacy["ha"] is False  # l3_ha = false
    assert [a["ha_state"] for a in l3_agents(admin, legacy["id"])] == [None]
    # Changing ha needs the router down (before and in the request), as upstream.
    response = admin.put(f"routers/{legacy['id']}", {"router": {"ha": True}})
    assert_error(response, 400, "BadRequest",
                 "Bad router request: Cannot change HA attribute of active routers. "
                 "Please set router admin_state_up to False prior to upgrade.")
    assert ha_network(admin, project) == []  # nothing left by the refusal
    assert admin.put(f"routers/{legacy['id']}",
                     {"router": {"admin_state_up": False}}).status_code == 200
    response = admin.put(f"routers/{legacy['id']}", {"router": {"ha": True}})
    assert response.status_code == 200, response.text
    assert response.json()["router"]["ha"] is True
    assert len(ha_network(admin, project)) == 1
    # Down routers are scheduled like the others: two agents, two HA ports.
    assert len(ha_ports(admin, legacy["id"])) == len(l3_agents(admin, legacy["id"])) == 2
    response = admin.put(f"routers/{legacy['id']}", {"router": {"ha": False}})
    assert response.status_code == 200 and response.json()["router"]["ha"] is False
    assert ha_ports(admin, legacy["id"]) == [] and ha_network(admin, project) == []
    assert len(l3_agents(admin, legacy["id"])) == 1
    # A project may not ask for it (admin-only) nor see it.
    member = admin.as_project(project, ["member"])
    assert_error(member.post("routers", {"router": {"ha": True}}), 403,
                 "PolicyNotAuthorized")
    assert "ha" not in member.get(f"routers/{legacy['id']}").json()["router"]
    assert "l3-ha" in {e["alias"] for e in admin.get("extensions").json()["extensions"]}


def test_ha_router_agents_manual(admin: Api, zone_agents: tuple[str, list[str]]) -> None:
    zone, hosts = zone_agents
    router = admin.create("router", ha=True, availability_zone_hints=[zone])
    bound = {a["host"] for a in l3_agents(admin, router["id"])}
    spare = [h for h in hosts if h not in bound][0]
    spare_id = admin.get("agents", params={"host": spare}).json()["agents"][0]["id"]
    # A HA router takes more agents by hand (a legacy one refuses with 409).
    response = admin.post(f"agents/{spare_id}/l3-routers", {"router_id": router["id"]})
    assert response.status_code == 201, response.text
    assert len(ha_ports(admin, router["id"])) == 3
    assert admin.delete(f"agents/{spare_id}/l3-routers/{router['id']}").status_code == 204
    assert sorted(p["binding:host_id"] for p in ha_ports(admin, router["id"])) == sorted(bound)
    admin.delete(f"routers/{router['id']}")
    assert ha_network(admin, project_of(admin)) == []
