"""Port binding through the API: binding:* attributes, binding by the linuxbridge
mechanism driver to hosts whose Linux bridge agent reported state, rebinding,
unbinding, policy and validation.

Agents report through the real report_state endpoint, run in this process against
the server's database (the session server uses the in-process bus, which a test
process cannot reach)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import openstack
import pytest
from sqlalchemy import update

from neutrino.contract import topics
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
from server import Api, assert_error, post_port, put_port

BRIDGE_DETAILS = {"port_filter": True, "connectivity": "l2",
                  "bound_drivers": {"0": "linuxbridge"}}
BINDING_ATTRS = {"binding:host_id", "binding:vnic_type", "binding:profile",
                 "binding:vif_type", "binding:vif_details"}


Report = Callable[..., str]


@pytest.fixture
def report(server_db: Database) -> Report:
    endpoint = AgentStateEndpoint(server_db, 75)

    def send(host: str, agent_type: str = topics.AGENT_TYPE_LINUXBRIDGE,
             **configurations: object) -> str:
        state = {"agent_type": agent_type, "binary": "neutrino-linuxbridge-agent",
                 "topic": "N/A", "host": host, "start_flag": True,
                 "configurations": dict(configurations, tunneling_ip="192.0.2.10")}
        return endpoint.report_state({}, agent_state={"agent_state": state})
    return send


def make_dead(db: Database, host: str) -> None:
    old = models.utcnow() - dt.timedelta(hours=1)
    db.run(lambda s: s.execute(update(models.Agent).where(models.Agent.host == host)
                               .values(heartbeat_timestamp=old)))


def new_host() -> str:
    return f"compute-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def vxlan_net(own_project_admin: Api) -> dict:
    net = own_project_admin.network(name="bind-net")
    own_project_admin.subnet(net["id"], "10.20.0.0/24")
    return net


def binding_of(port: dict) -> dict:
    return {k: port[k] for k in BINDING_ATTRS}


def test_extension_is_listed(api: Api) -> None:
    ext = api.get("extensions/binding").json()["extension"]
    assert ext["name"] == "Port Binding"
    assert ext["description"] == ("Expose port bindings of a virtual port to external "
                                  "application")


def test_a_new_port_is_unbound(own_project_admin: Api, vxlan_net: dict) -> None:
    port = own_project_admin.port(vxlan_net["id"])
    assert binding_of(port) == {"binding:host_id": "", "binding:vnic_type": "normal",
                                "binding:profile": {}, "binding:vif_type": "unbound",
                                "binding:vif_details": {}}
    shown = own_project_admin.get(f"ports/{port['id']}").json()["port"]
    assert binding_of(shown) == binding_of(port)


def test_bind_to_host_with_linuxbridge_agent(own_project_admin: Api, vxlan_net: dict,
                                            report: Report) -> None:
    host = new_host()
    assert report(host, tunnel_types=["vxlan"]) == "new"
    port = own_project_admin.port(vxlan_net["id"], **{
        "binding:host_id": host, "binding:profile": {"migrating_to": "x"}})
    assert port["binding:host_id"] == host
    assert port["binding:vif_type"] == "bridge"
    assert port["binding:vif_details"] == BRIDGE_DETAILS
    assert port["binding:profile"] == {"migrating_to": "x"}
    assert port["status"] == "DOWN"
    shown = own_project_admin.get(f"ports/{port['id']}").json()["port"]
    assert binding_of(shown) == binding_of(port)
    listed = own_project_admin.get("ports", params={"binding:host_id": host}).json()
    assert [p["id"] for p in listed["ports"]] == [port["id"]]
    other = own_project_admin.port(vxlan_net["id"])
    unbound = own_project_admin.get("ports", params={
        "binding:host_id": "", "network_id": vxlan_net["id"]}).json()["ports"]
    assert [p["id"] for p in unbound] == [other["id"]]
    failed = own_project_admin.get("ports", params={
        "binding:vif_type": "bridge", "network_id": vxlan_net["id"]}).json()["ports"]
    assert [p["id"] for p in failed] == [port["id"]]


def test_binding_fails_without_a_suitable_agent(own_project_admin: Api, vxlan_net: dict,
                                                report: Report, server_db: Database
                                                ) -> None:
    no_agent, dead, no_vxlan, dhcp_only = (new_host() for _ in range(4))
    report(dead, tunnel_types=["vxlan"])
    make_dead(server_db, dead)
    report(no_vxlan, tunnel_types=["gre"], interface_mappings={"physnet1": "eth1"})
    report(dhcp_only, agent_type=topics.AGENT_TYPE_DHCP)
    for host in (no_agent, dead, no_vxlan, dhcp_only):
        port = own_project_admin.port(vxlan_net["id"], **{"binding:host_id": host})
        assert port["binding:host_id"] == host
        assert port["binding:vif_type"] == "binding_failed", host
        assert port["binding:vif_details"] == {}


def test_agent_administratively_down_does_not_bind(own_project_admin: Api,
                                                   vxlan_net: dict, report: Report,
                                                   api: Api) -> None:
    host = new_host()
    report(host, tunnel_types=["vxlan"])
    agent = api.get("agents", params={"host": host}).json()["agents"][0]
    api.put(f"agents/{agent['id']}", {"agent": {"admin_state_up": False}})
    port = own_project_admin.port(vxlan_net["id"], **{"binding:host_id": host})
    assert port["binding:vif_type"] == "binding_failed"


def test_flat_network_needs_the_physnet_mapped(own_project_admin: Api, report: Report
                                               ) -> None:
    physnet = f"phys-{uuid.uuid4().hex[:8]}"
    net = own_project_admin.network(**{"provider:network_type": "flat",
                                       "provider:physical_network": physnet})
    mapped, unmapped = new_host(), new_host()
    report(mapped, interface_mappings={physnet: "eth1"}, tunnel_types=["vxlan"])
    report(unmapped, interface_mappings={"other": "eth1"}, tunnel_types=["vxlan"])
    port = own_project_admin.port(net["id"], **{"binding:host_id": mapped})
    assert port["binding:vif_type"] == "bridge"
    port = own_project_admin.port(net["id"], **{"binding:host_id": unmapped})
    assert port["binding:vif_type"] == "binding_failed"


def test_rebind_and_unbind(own_project_admin: Api, vxlan_net: dict, report: Report
                           ) -> None:
    first, second = new_host(), new_host()
    report(first, tunnel_types=["vxlan"])
    port = own_project_admin.port(vxlan_net["id"], **{"binding:host_id": first})
    assert port["binding:vif_type"] == "bridge"
    revision = port["revision_number"]

    moved = put_port(own_project_admin, port["id"], **{"binding:host_id": second})
    assert moved.status_code == 200, moved.text
    moved = moved.json()["port"]
    assert (moved["binding:host_id"], moved["binding:vif_type"]) == (second,
                                                                     "binding_failed")
    assert moved["binding:vif_details"] == {}
    assert moved["revision_number"] > revision
    # The agent of the second host comes up: the next update of the port binds it.
    report(second, tunnel_types=["vxlan"])
    renamed = put_port(own_project_admin, port["id"], name="retry").json()["port"]
    assert renamed["binding:vif_type"] == "bridge"
    assert renamed["binding:vif_details"] == BRIDGE_DETAILS

    back = put_port(own_project_admin, port["id"], **{"binding:host_id": first}
                    ).json()["port"]
    assert (back["binding:host_id"], back["binding:vif_type"]) == (first, "bridge")

    unbound = put_port(own_project_admin, port["id"], **{"binding:host_id": ""}
                       ).json()["port"]
    assert binding_of(unbound) == {"binding:host_id": "", "binding:vnic_type": "normal",
                                   "binding:profile": {}, "binding:vif_type": "unbound",
                                   "binding:vif_details": {}}
    # null unbinds too (as nova sends it)
    put_port(own_project_admin, port["id"], **{"binding:host_id": first})
    unbound = put_port(own_project_admin, port["id"], **{"binding:host_id": None}
                       ).json()["port"]
    assert (unbound["binding:host_id"], unbound["binding:vif_type"]) == ("", "unbound")
    shown = own_project_admin.get(f"ports/{port['id']}").json()["port"]
    assert binding_of(shown) == binding_of(unbound)


def test_vnic_type_other_than_normal_is_not_bound_by_linuxbridge(
        own_project_admin: Api, vxlan_net: dict, report: Report) -> None:
    host = new_host()
    report(host, tunnel_types=["vxlan"])
    port = own_project_admin.port(vxlan_net["id"], **{"binding:host_id": host,
                                                      "binding:vnic_type": "direct"})
    assert (port["binding:vnic_type"], port["binding:vif_type"]) == ("direct",
                                                                     "binding_failed")
    fixed = put_port(own_project_admin, port["id"], **{"binding:vnic_type": "normal"})
    assert fixed.json()["port"]["binding:vif_type"] == "bridge"


def test_invalid_values_are_refused(own_project_admin: Api, vxlan_net: dict) -> None:
    def count() -> int:
        return len(own_project_admin.get("ports", params={
            "network_id": vxlan_net["id"]}).json()["ports"])
    before = count()
    response = post_port(own_project_admin, vxlan_net["id"],
                         **{"binding:vnic_type": "fast"})
    error = assert_error(response, 400, "HTTPBadRequest")
    assert error["message"].startswith(
        "Invalid input for binding:vnic_type. Reason: 'fast' is not in ['normal', "
        "'direct', 'macvtap', ")
    response = post_port(own_project_admin, vxlan_net["id"], **{"binding:profile": "x"})
    assert_error(response, 400, "HTTPBadRequest",
                 "Invalid input for binding:profile. Reason: 'x' is not a dictionary.")
    response = post_port(own_project_admin, vxlan_net["id"], **{"binding:host_id": 5})
    assert response.status_code == 400
    response = post_port(own_project_admin, vxlan_net["id"],
                         **{"binding:vif_type": "bridge"})
    assert_error(response, 400, "HTTPBadRequest",
                 "Attribute 'binding:vif_type' not allowed in POST")
    assert count() == before
    port = own_project_admin.port(vxlan_net["id"])
    response = put_port(own_project_admin, port["id"], **{"binding:vnic_type": "fast"})
    assert response.status_code == 400
    response = put_port(own_project_admin, port["id"], **{"binding:vif_details": {}})
    assert_error(response, 400, "HTTPBadRequest",
                 "Cannot update read-only attribute binding:vif_details")
    shown = own_project_admin.get(f"ports/{port['id']}").json()["port"]
    assert shown["binding:vnic_type"] == "normal"
    assert shown["revision_number"] == port["revision_number"]


def test_project_members_and_binding(api: Api, report: Report) -> None:
    member = api.as_project(f"p-{uuid.uuid4().hex[:8]}")
    net = member.network(name="member-net")
    member.subnet(net["id"], "10.30.0.0/24")
    host = new_host()
    report(host, tunnel_types=["vxlan"])

    response = post_port(member, net["id"], **{"binding:host_id": host})
    assert_error(response, 403, "PolicyNotAuthorized",
                 "(rule:create_port and rule:create_port:binding:host_id) is "
                 "disallowed by policy")
    response = post_port(member, net["id"], **{"binding:profile": {"a": 1}})
    assert response.status_code == 403
    # The owner chooses its vnic_type and sees it; the rest is hidden.
    port = member.port(net["id"], **{"binding:vnic_type": "macvtap"})
    assert port["binding:vnic_type"] == "macvtap"
    assert not (BINDING_ATTRS - {"binding:vnic_type"}) & set(port)
    shown = member.get(f"ports/{port['id']}").json()["port"]
    assert not (BINDING_ATTRS - {"binding:vnic_type"}) & set(shown)
    listed = member.get("ports", params={"id": port["id"]}).json()["ports"]
    assert not (BINDING_ATTRS - {"binding:vnic_type"}) & set(listed[0])
    updated = put_port(member, port["id"], **{"binding:vnic_type": "normal"})
    assert updated.status_code == 200, updated.text
    response = put_port(member, port["id"], **{"binding:host_id": host})
    assert_error(response, 403, "PolicyNotAuthorized")
    # The admin binds the member's port; the member still does not see where.
    bound = put_port(api, port["id"], **{"binding:host_id": host}).json()["port"]
    assert bound["binding:vif_type"] == "bridge"
    shown = member.get(f"ports/{port['id']}").json()["port"]
    assert "binding:host_id" not in shown and "binding:vif_type" not in shown


def test_openstacksdk_binds(conn: openstack.connection.Connection, report: Report
                            ) -> None:
    host = new_host()
    report(host, tunnel_types=["vxlan"])
    net = conn.network.create_network(name="sdk-bind")
    try:
        port = conn.network.create_port(network_id=net.id, binding_host_id=host)
        assert port.binding_vif_type == "bridge"
        assert port.binding_vif_details == BRIDGE_DETAILS
        assert port.binding_vnic_type == "normal"
        assert [p.id for p in conn.network.ports(binding_host_id=host)] == [port.id]
        port = conn.network.update_port(port, binding_host_id="")
        assert port.binding_vif_type == "unbound"
        conn.network.delete_port(port)
    finally:
        conn.network.delete_network(net)
