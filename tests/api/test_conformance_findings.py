"""Behaviour differences upstream's API tests (`make conformance`) found, each as
tempest exercises it (the tempest test named in each docstring)."""

from __future__ import annotations

import uuid

import pytest
from rbac_helpers import pid, share, three_projects

from neutrino.rpc.endpoints import AgentStateEndpoint
from rpc_helpers import dhcp_state
from server import Api, assert_error


@pytest.fixture
def abc(api: Api) -> tuple[Api, Api, Api]:
    return three_projects(api)


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()["rbac_policy"]


def test_wildcard_external_policy_lets_projects_set_gateways(own_project_admin: Api,
                                                             abc) -> None:
    """ExternalNetworksRBACTestJSON.test_delete_policies_while_project_attached_to_net."""
    admin = own_project_admin
    _, b, _ = abc
    net = admin.network()
    admin.subnet(net["id"], "203.0.113.0/24", enable_dhcp=False)
    wildcard = created(share(admin, net["id"], "*", action="access_as_external"))
    response = b.post("routers", {"router": {
        "name": "r", "external_gateway_info": {"network_id": net["id"]}}})
    assert response.status_code == 201, response.text
    router = response.json()["router"]
    # The wildcard is what B's gateway needs.
    assert_error(admin.delete(f"rbac-policies/{wildcard['id']}"), 409, "RbacPolicyInUse")
    own = created(share(admin, net["id"], pid(b), action="access_as_external"))
    assert admin.delete(f"rbac-policies/{wildcard['id']}").status_code == 204
    assert_error(admin.delete(f"rbac-policies/{own['id']}"), 409, "RbacPolicyInUse")
    wildcard = created(share(admin, net["id"], "*", action="access_as_external"))
    assert admin.delete(f"rbac-policies/{own['id']}").status_code == 204
    assert admin.delete(f"routers/{router['id']}").status_code == 204
    assert admin.delete(f"rbac-policies/{wildcard['id']}").status_code == 204
    # No policy lets B in any more: the network is not found for it.
    assert_error(b.post("routers", {"router": {
        "name": "r2", "external_gateway_info": {"network_id": net["id"]}}}), 404,
        "NetworkNotFound")


def test_policy_sharing_a_subnetpool_is_invisible_to_its_target(own_project_admin: Api,
                                                                abc) -> None:
    """RbacSubnetPoolTest.test_regular_client_blocked_from_sharing_anothers_policy."""
    admin = own_project_admin
    _, b, c = abc
    response = admin.post("subnetpools", {"subnetpool": {
        "name": "pool", "prefixes": ["10.231.0.0/16"], "default_prefixlen": 24}})
    assert response.status_code == 201, response.text
    pool = response.json()["subnetpool"]
    policy = created(share(admin, pool["id"], pid(b), object_type="subnetpool"))
    response = share(b, pool["id"], pid(c), object_type="subnetpool")
    assert response.status_code == 400, response.text
    assert b.get("rbac-policies").json()["rbac_policies"] == []
    assert_error(b.get(f"rbac-policies/{policy['id']}"), 404, "RbacPolicyNotFound")
    assert [p["id"] for p in admin.get(
        f"rbac-policies?object_id={pool['id']}").json()["rbac_policies"]] == [policy["id"]]


def test_agent_type_filter_ignores_case(api: Api, server_db) -> None:
    """tempest's DHCPAgentSchedulersTestJSON (and the plugin's port tests) look for
    agent_type "DHCP Agent": upstream's MySQL collation finds "DHCP agent"; so do we,
    on every backend."""
    host = f"h-{uuid.uuid4().hex[:10]}"
    AgentStateEndpoint(server_db, 75).report_state(
        {}, agent_state={"agent_state": dhcp_state(host, "nova")})

    def hosts(agent_type: str) -> list[str]:
        response = api.get("agents", params={"agent_type": agent_type, "host": host})
        assert response.status_code == 200, response.text
        return [a["host"] for a in response.json()["agents"]]
    assert hosts("DHCP agent") == [host]
    assert hosts("DHCP Agent") == [host]
    assert hosts("dhcp AGENT") == [host]
    assert hosts("L3 agent") == []


def test_external_networks_subnets_are_seen_by_every_project(own_project_admin: Api,
                                                             abc) -> None:
    """tempest NetworksTest.test_external_network_visibility: with
    subnet-external-network announced, an external network's subnets are visible to
    every project (as the network is), by a reader too."""
    admin = own_project_admin
    _, b, _ = abc
    net = admin.network(**{"router:external": True})
    subnet = admin.subnet(net["id"], "198.18.40.0/24", enable_dhcp=False)
    internal = admin.network()
    hidden = admin.subnet(internal["id"], "198.18.41.0/24")
    for client in (b, b.as_project(pid(b), roles=["reader"])):
        listed = client.get("subnets", params={"network_id": net["id"]}).json()["subnets"]
        assert [s["id"] for s in listed] == [subnet["id"]]
        assert listed[0]["router:external"] is True
        shown = client.get(f"subnets/{subnet['id']}")
        assert shown.status_code == 200, shown.text
        assert subnet["id"] in {s["id"] for s in client.get("subnets").json()["subnets"]}
        assert hidden["id"] not in {s["id"] for s in client.get("subnets").json()["subnets"]}
        assert_error(client.get(f"subnets/{hidden['id']}"), 404, "SubnetNotFound")
    # No longer external: no longer seen.
    assert admin.put(f"networks/{net['id']}",
                     {"network": {"router:external": False}}).status_code == 200
    assert b.get("subnets", params={"network_id": net["id"]}).json()["subnets"] == []


def test_gateway_ip_of_a_router_interface_cannot_move(own_project_admin: Api) -> None:
    """neutron_tempest_plugin RoutersTest.test_router_interface_update_and_remove_
    gateway_ip: the gateway moves freely until a router interface holds it, then
    changing or removing it is 409 GatewayIpInUse."""
    api = own_project_admin
    net = api.network()
    subnet = api.subnet(net["id"], "10.100.0.48/28",
                        allocation_pools=[{"start": "10.100.0.58", "end": "10.100.0.62"}])
    moved = api.put(f"subnets/{subnet['id']}", {"subnet": {"gateway_ip": "10.100.0.50"}})
    assert moved.status_code == 200, moved.text
    router = api.create("router", name="r")
    response = api.put(f"routers/{router['id']}/add_router_interface",
                       {"subnet_id": subnet["id"]})
    assert response.status_code == 200, response.text
    port_id = response.json()["port_id"]
    for gateway in ("10.100.0.51", None):
        assert_error(api.put(f"subnets/{subnet['id']}", {"subnet": {"gateway_ip": gateway}}),
                     409, "GatewayIpInUse",
                     f"Current gateway ip 10.100.0.50 already in use by port {port_id}. "
                     "Unable to update.")
    # Giving the same address again changes nothing and is fine.
    assert api.put(f"subnets/{subnet['id']}", {"subnet": {
        "gateway_ip": "10.100.0.50"}}).status_code == 200
    api.put(f"routers/{router['id']}/remove_router_interface", {"subnet_id": subnet["id"]})
    assert api.put(f"subnets/{subnet['id']}", {"subnet": {
        "gateway_ip": "10.100.0.51"}}).json()["subnet"]["gateway_ip"] == "10.100.0.51"
