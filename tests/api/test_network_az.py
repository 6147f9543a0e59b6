"""network_availability_zone: availability_zone_hints checked against the zones DHCP
agents report, and availability_zones from the DHCP agents hosting the network.

Agents report through the real report_state endpoint, run in this process against
the server's database; hosting is recorded as the DHCP scheduler records it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import openstack
import pytest
from sqlalchemy import insert, select

from neutrino.contract import topics
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
from rpc_helpers import dhcp_state
from server import Api, assert_error


@pytest.fixture
def dhcp_agent(server_db: Database) -> Callable[[str], str]:
    """Reports a DHCP agent in a zone; returns the agent's id."""
    endpoint = AgentStateEndpoint(server_db, 75)

    def report(zone: str) -> str:
        host = f"net-{uuid.uuid4().hex[:10]}"
        endpoint.report_state({}, agent_state={"agent_state": dhcp_state(host, zone)})
        return server_db.run(lambda s: s.scalars(select(models.Agent.id).where(
            models.Agent.host == host)).one())
    return report


def zone_name() -> str:
    return f"az-{uuid.uuid4().hex[:8]}"


def test_hints_default_and_known_zones(own_project_admin: Api,
                                       dhcp_agent: Callable[[str], str]) -> None:
    api = own_project_admin
    net = api.network()
    assert net["availability_zone_hints"] == []
    assert net["availability_zones"] == []
    zone1, zone2 = zone_name(), zone_name()
    dhcp_agent(zone1)
    dhcp_agent(zone2)
    net = api.network(availability_zone_hints=[zone2, zone1])
    assert net["availability_zone_hints"] == [zone2, zone1]
    shown = api.get(f"networks/{net['id']}").json()["network"]
    assert shown["availability_zone_hints"] == [zone2, zone1]
    assert shown["availability_zones"] == []
    listed = api.get("networks", params={"id": net["id"],
                                         "fields": "availability_zone_hints"}).json()
    assert listed["networks"] == [{"availability_zone_hints": [zone2, zone1]}]


def test_unknown_zone_is_not_found(own_project_admin: Api) -> None:
    api = own_project_admin
    zone = zone_name()
    response = api.post("networks", {"network": {"name": "az-missing",
                                                 "availability_zone_hints": [zone]}})
    assert_error(response, 404, "AvailabilityZoneNotFound",
                 f"AvailabilityZone {zone} could not be found.")
    # Nothing was created.
    names = api.get("networks", params={"name": "az-missing"}).json()["networks"]
    assert names == []


def test_router_zone_is_not_a_network_zone(own_project_admin: Api,
                                           server_db: Database) -> None:
    """Zones of L3 agents are routers' zones: not valid for networks."""
    zone = zone_name()
    endpoint = AgentStateEndpoint(server_db, 75)
    endpoint.report_state({}, agent_state={"agent_state": {
        "agent_type": topics.AGENT_TYPE_L3, "binary": "neutrino-l3-agent",
        "topic": "l3_agent", "host": f"l3-{uuid.uuid4().hex[:8]}", "start_flag": True,
        "availability_zone": zone, "configurations": {}}})
    response = own_project_admin.post("networks", {"network": {
        "availability_zone_hints": [zone]}})
    assert_error(response, 404, "AvailabilityZoneNotFound")


@pytest.mark.parametrize(("hints", "message"), [
    ("az1", "Invalid input for availability_zone_hints. Reason: 'az1' is not a list."),
    ([1], "Invalid input for availability_zone_hints. Reason: '1' is not a valid string."),
    (["a", "a"], "Invalid input for availability_zone_hints. Reason: Duplicate items in "
                 "the list: 'a, a'."),
])
def test_malformed_hints(own_project_admin: Api, hints: object, message: str) -> None:
    response = own_project_admin.post("networks", {"network": {
        "availability_zone_hints": hints}})
    assert_error(response, 400, "HTTPBadRequest", message)


def test_too_many_hints(own_project_admin: Api) -> None:
    hints = [f"zone-{i:02d}-{'x' * 20}" for i in range(10)]
    response = own_project_admin.post("networks", {"network": {
        "availability_zone_hints": hints}})
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: Too many availability_zone_hints "
                 "specified.")


def test_hints_cannot_change(own_project_admin: Api) -> None:
    net = own_project_admin.network()
    response = own_project_admin.put(f"networks/{net['id']}", {"network": {
        "availability_zone_hints": []}})
    assert_error(response, 400, "HTTPBadRequest",
                 "Cannot update read-only attribute availability_zone_hints")
    response = own_project_admin.put(f"networks/{net['id']}", {"network": {
        "availability_zones": ["x"]}})
    assert_error(response, 400, "HTTPBadRequest")


def test_zones_of_hosting_dhcp_agents(own_project_admin: Api, server_db: Database,
                                      dhcp_agent: Callable[[str], str]) -> None:
    zone_a, zone_b = sorted([zone_name(), zone_name()])
    agents = [dhcp_agent(zone_b), dhcp_agent(zone_a), dhcp_agent(zone_a)]
    net = own_project_admin.network()
    server_db.run(lambda s: s.execute(insert(models.NetworkDhcpAgentBinding), [
        {"network_id": net["id"], "dhcp_agent_id": agent} for agent in agents]))
    shown = own_project_admin.get(f"networks/{net['id']}").json()["network"]
    assert shown["availability_zones"] == [zone_a, zone_b]


def test_openstacksdk_creates_with_hints(conn: openstack.connection.Connection,
                                         dhcp_agent: Callable[[str], str]) -> None:
    zone = zone_name()
    dhcp_agent(zone)
    net = conn.network.create_network(name="az-sdk", availability_zone_hints=[zone])
    try:
        assert net.availability_zone_hints == [zone]
        assert conn.network.get_network(net.id).availability_zones == []
    finally:
        conn.network.delete_network(net.id)
