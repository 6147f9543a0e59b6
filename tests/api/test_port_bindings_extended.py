"""binding-extended: several bindings per port (/v2.0/ports/{id}/bindings), one
ACTIVE (the port's binding:* attributes) and INACTIVE ones for other hosts, as a live
migration uses them.

Agents report through the real report_state endpoint against the server's database
(as in test_port_binding.py), so the linuxbridge mechanism driver binds to them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from neutrino.contract import topics
from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
from server import Api, assert_error

BRIDGE_DETAILS = {"port_filter": True, "connectivity": "l2",
                  "bound_drivers": {"0": "linuxbridge"}}


@pytest.fixture
def new_host(server_db: Database) -> Callable[[], str]:
    """A host name whose Linux bridge agent has just reported."""
    endpoint = AgentStateEndpoint(server_db, 75)

    def make() -> str:
        host = f"compute-{uuid.uuid4().hex[:10]}"
        state = {"agent_type": topics.AGENT_TYPE_LINUXBRIDGE,
                 "binary": "neutrino-linuxbridge-agent", "topic": "N/A", "host": host,
                 "start_flag": True, "configurations": {"tunneling_ip": "192.0.2.10",
                                                          "tunnel_types": ["vxlan"]}}
        endpoint.report_state({}, agent_state={"agent_state": state})
        return host
    return make


@pytest.fixture
def vm_port(own_project_admin: Api) -> Callable[..., dict]:
    net = own_project_admin.network(name="mig-net")
    own_project_admin.subnet(net["id"], "10.30.0.0/24")

    def make(**attrs: object) -> dict:
        return own_project_admin.port(net["id"], device_owner="compute:nova", **attrs)
    return make


def bound(host: str, status: str, **extra: object) -> dict:
    return {"host": host, "vif_type": "bridge", "vif_details": BRIDGE_DETAILS,
            "vnic_type": "normal", "profile": {}, "status": status, **extra}


def unbound(status: str) -> dict:
    return {"host": "", "vif_type": "unbound", "vif_details": {}, "vnic_type": "normal",
            "profile": {}, "status": status}


def test_extension_is_listed(api: Api) -> None:
    ext = api.get("extensions/binding-extended").json()["extension"]
    assert ext["name"] == "Port Bindings Extended"


def test_live_migration(own_project_admin: Api, vm_port: Callable[..., dict],
                        new_host: Callable[[], str]) -> None:
    api = own_project_admin
    source, target = new_host(), new_host()
    port = vm_port(**{"binding:host_id": source})
    path = f"ports/{port['id']}/bindings"
    assert api.get(path).json() == {"bindings": [bound(source, "ACTIVE")]}
    # Nova asks for a binding on the destination: INACTIVE, bound there.
    response = api.post(path, {"binding": {"host": target, "profile": {"migrating": "yes"}}})
    assert response.status_code == 201, response.text
    assert response.json() == {"binding": bound(target, "INACTIVE",
                                                profile={"migrating": "yes"})}
    listed = api.get(path).json()["bindings"]
    assert sorted(b["status"] for b in listed) == ["ACTIVE", "INACTIVE"]
    assert api.get(f"{path}?status=INACTIVE").json()["bindings"] == [
        bound(target, "INACTIVE", profile={"migrating": "yes"})]
    assert api.get(f"{path}/{target}?fields=host").json() == {"binding": {"host": target}}
    # The port itself still says where it runs.
    shown = api.get(f"ports/{port['id']}").json()["port"]
    assert shown["binding:host_id"] == source
    # Activation: the port moves to the destination; the source binding stays INACTIVE.
    response = api.put(f"{path}/{target}/activate")
    assert response.status_code == 200, response.text
    assert response.json() == {"binding": bound(target, "ACTIVE",
                                                profile={"migrating": "yes"})}
    shown = api.get(f"ports/{port['id']}").json()["port"]
    assert (shown["binding:host_id"], shown["binding:profile"], shown["status"]) == (
        target, {"migrating": "yes"}, "DOWN")
    assert shown["revision_number"] > port["revision_number"]
    assert api.get(f"{path}/{source}").json() == {"binding": bound(source, "INACTIVE")}
    assert_error(api.put(f"{path}/{target}/activate"), 409, "PortBindingAlreadyActive",
                 f"Binding for port {port['id']} on host {target} is already active.")
    # Nova then drops the source's binding.
    assert api.delete(f"{path}/{source}").status_code == 204
    assert api.get(path).json() == {"bindings": [bound(target, "ACTIVE",
                                                       profile={"migrating": "yes"})]}
    assert_error(api.get(f"{path}/{source}"), 404, "PortBindingNotFound",
                 f"Binding for port {port['id']} for host {source} could not be found.")
    assert_error(api.delete(f"{path}/{source}"), 404, "PortBindingNotFound")


def test_unbound_port_keeps_an_unbound_active_binding(
        own_project_admin: Api, vm_port: Callable[..., dict],
        new_host: Callable[[], str]) -> None:
    api = own_project_admin
    host = new_host()
    port = vm_port()
    path = f"ports/{port['id']}/bindings"
    assert api.post(path, {"binding": {"host": host}}).status_code == 201
    listed = api.get(path).json()["bindings"]
    assert listed == [unbound("ACTIVE"), bound(host, "INACTIVE")]
    assert api.put(f"{path}/{host}/activate").status_code == 200
    assert api.get(path).json()["bindings"] == [bound(host, "ACTIVE"),
                                                unbound("INACTIVE")]


def test_update_a_binding(own_project_admin: Api, vm_port: Callable[..., dict],
                          new_host: Callable[[], str]) -> None:
    api = own_project_admin
    source, target = new_host(), new_host()
    port = vm_port(**{"binding:host_id": source})
    path = f"ports/{port['id']}/bindings"
    api.post(path, {"binding": {"host": target}})
    response = api.put(f"{path}/{target}", {"binding": {"profile": {"k": "v"}}})
    assert response.status_code == 200, response.text
    assert response.json() == {"binding": bound(target, "INACTIVE", profile={"k": "v"})}
    # The active one is the port's: changed as the port's own attributes.
    response = api.put(f"{path}/{source}", {"binding": {"profile": {"a": "b"}}})
    assert response.json() == {"binding": bound(source, "ACTIVE", profile={"a": "b"})}
    assert api.get(f"ports/{port['id']}").json()["port"]["binding:profile"] == {"a": "b"}
    assert_error(api.put(f"{path}/nowhere", {"binding": {"profile": {}}}), 404,
                 "PortBindingNotFound")
    assert_error(api.put(f"{path}/{target}", {"binding": {"host": "x"}}), 400,
                 "HTTPBadRequest", "Unrecognized attribute(s) 'host'")


def test_errors(own_project_admin: Api, vm_port: Callable[..., dict],
                new_host: Callable[[], str]) -> None:
    api = own_project_admin
    host = new_host()
    port = vm_port(**{"binding:host_id": host})
    path = f"ports/{port['id']}/bindings"
    assert_error(api.post(path, {"binding": {"host": host}}), 409,
                 "PortBindingAlreadyExists",
                 f"Binding for port {port['id']} on host {host} already exists.")
    other = new_host()
    assert api.post(path, {"binding": {"host": other}}).status_code == 201
    assert_error(api.post(path, {"binding": {"host": other}}), 409,
                 "PortBindingAlreadyExists")
    # No agent there: the mechanism drivers cannot bind it (upstream's 500).
    assert_error(api.post(path, {"binding": {"host": "no-agent-here"}}), 500,
                 "PortBindingError", f"Binding for port {port['id']} for host no-agent-here "
                 "could not be created or updated.")
    assert_error(api.put(f"{path}/no-agent-here/activate"), 404, "PortBindingNotFound")
    assert_error(api.post(path, {"binding": {}}), 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'host' not specified")
    assert_error(api.post(path, {"binding": {"host": other, "vnic_type": "bogus"}}), 400,
                 "HTTPBadRequest")
    assert_error(api.get(f"{path}?bogus=1"), 400, "HTTPBadRequest")
    missing = "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50"
    assert_error(api.get(f"ports/{missing}/bindings"), 404, "PortNotFound")
    # Only compute ports move between hosts.
    net_id = port["network_id"]
    dhcp_like = api.port(net_id, device_owner="network:dhcp")
    response = api.post(f"ports/{dhcp_like['id']}/bindings", {"binding": {"host": other}})
    assert_error(response, 400, "BadRequest", f"Bad port request: Invalid port "
                 f"{dhcp_like['id']}. Operation only valid on compute ports.")
    # Deleting the port deletes its bindings.
    assert api.delete(f"ports/{port['id']}").status_code == 204
    assert_error(api.get(path), 404, "PortNotFound")


def test_policy(own_project_admin: Api, vm_port: Callable[..., dict],
                new_host: Callable[[], str]) -> None:
    project = own_project_admin.client.headers["X-Project-Id"]
    member = own_project_admin.as_project(project)
    host = new_host()
    port = vm_port(**{"binding:host_id": host})
    path = f"ports/{port['id']}/bindings"
    # Bindings are the cloud's business: the owner sees none and may change none.
    assert member.get(path).json() == {"bindings": []}
    assert_error(member.get(f"{path}/{host}"), 404, "PortBindingNotFound")
    assert_error(member.post(path, {"binding": {"host": new_host()}}), 403,
                 "PolicyNotAuthorized")
    assert_error(member.put(f"{path}/{host}/activate"), 403, "PolicyNotAuthorized")
    assert_error(member.delete(f"{path}/{host}"), 403, "PolicyNotAuthorized")
    # ... unlike the service role (Nova).
    nova = own_project_admin.as_project("service-project", ["service"])
    assert nova.get(path).json()["bindings"][0]["host"] == host
