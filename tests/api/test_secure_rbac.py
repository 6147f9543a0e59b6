"""Secure-RBAC defaults over HTTP: project readers, project members, admins, the
service role, and the legacy defaults with ``[oslo_policy] enforce_new_defaults =
false``.

Requests use noauth headers; `Api.as_project` sends the roles Keystone would imply
(member implies reader), `reader` alone is a read-only user."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from backends import database
from server import Api, ServerProcess, assert_error, put_port


def project() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def owned(api: Api) -> dict:
    """A project with a network, a subnet and a port, made by its member."""
    pid = project()
    member = api.as_project(pid, ["member"])
    net = member.network(name="rbac-net")
    subnet = member.subnet(net["id"], "10.77.0.0/24")
    port = member.port(net["id"], name="rbac-port")
    return {"project": pid, "net": net, "subnet": subnet, "port": port}


def test_reader_reads_but_changes_nothing(api: Api, owned: dict) -> None:
    reader = api.as_project(owned["project"], ["reader"])
    net_id = owned["net"]["id"]
    assert reader.get(f"networks/{net_id}").status_code == 200
    assert [n["id"] for n in reader.get("networks").json()["networks"]
            if n["project_id"] == owned["project"]] == [net_id]
    assert reader.get(f"ports/{owned['port']['id']}").status_code == 200
    assert reader.get(f"subnets/{owned['subnet']['id']}").status_code == 200
    assert_error(reader.post("networks", {"network": {"name": "no"}}), 403,
                 "PolicyNotAuthorized", "rule:create_network is disallowed by policy")
    assert_error(reader.put(f"networks/{net_id}", {"network": {"name": "renamed"}}), 403,
                 "PolicyNotAuthorized", "rule:update_network is disallowed by policy")
    assert_error(put_port(reader, owned["port"]["id"], name="renamed"), 403,
                 "PolicyNotAuthorized")
    assert_error(reader.delete(f"ports/{owned['port']['id']}"), 403, "PolicyNotAuthorized")
    assert_error(reader.post("ports", {"port": {"network_id": net_id}}), 403,
                 "PolicyNotAuthorized")
    assert_error(reader.post("security-groups", {"security_group": {"name": "x"}}), 403,
                 "PolicyNotAuthorized")
    # Nothing changed.
    assert api.get(f"networks/{net_id}").json()["network"]["name"] == "rbac-net"
    assert api.get(f"ports/{owned['port']['id']}").status_code == 200


def test_member_changes_own_resources(api: Api, owned: dict) -> None:
    member = api.as_project(owned["project"], ["member"])
    response = member.put(f"networks/{owned['net']['id']}", {"network": {"name": "new"}})
    assert response.status_code == 200, response.text
    assert member.delete(f"ports/{owned['port']['id']}").status_code == 204


def test_member_of_another_project_sees_nothing(api: Api, owned: dict) -> None:
    stranger = api.as_project(project(), ["member"])
    net_id = owned["net"]["id"]
    assert_error(stranger.get(f"networks/{net_id}"), 404, "NetworkNotFound")
    assert net_id not in {n["id"] for n in stranger.get("networks").json()["networks"]}
    assert_error(stranger.put(f"networks/{net_id}", {"network": {"name": "x"}}), 404,
                 "NetworkNotFound")
    assert_error(stranger.get(f"ports/{owned['port']['id']}"), 404, "PortNotFound")
    # An admin of another project is still an admin.
    other_admin = api.as_project(project(), ["admin"])
    assert other_admin.get(f"networks/{net_id}").status_code == 200


def test_admin_sees_every_project(api: Api, owned: dict) -> None:
    ids = {n["id"] for n in api.get("networks").json()["networks"]}
    assert owned["net"]["id"] in ids
    assert api.get(f"ports/{owned['port']['id']}").status_code == 200


def test_role_names_are_case_insensitive(api: Api, owned: dict) -> None:
    reader = api.as_project(owned["project"], ["Reader"])
    assert reader.get(f"networks/{owned['net']['id']}").status_code == 200


def test_project_user_without_roles_gets_nothing(api: Api, owned: dict) -> None:
    nobody = api.as_project(owned["project"], [])
    assert_error(nobody.get(f"networks/{owned['net']['id']}"), 404, "NetworkNotFound")
    assert_error(nobody.post("networks", {"network": {}}), 403, "PolicyNotAuthorized")


def test_service_role_binds_ports(api: Api, owned: dict) -> None:
    """Nova, with the service role in its own project, reads and binds the ports of
    instances of any project, and sees the binding details."""
    nova = api.as_project("service", ["service"])
    port_id = owned["port"]["id"]
    shown = nova.get(f"ports/{port_id}")
    assert shown.status_code == 200, shown.text
    assert "binding:host_id" in shown.json()["port"]
    host = f"compute-{uuid.uuid4().hex[:8]}"
    response = put_port(nova, port_id, device_id=str(uuid.uuid4()),
                        device_owner="compute:nova", **{"binding:host_id": host,
                                                        "binding:profile": {"pci": "x"}})
    assert response.status_code == 200, response.text
    port = response.json()["port"]
    assert port["binding:host_id"] == host
    assert port["binding:profile"] == {"pci": "x"}
    assert api.get(f"ports/{port_id}").json()["port"]["binding:host_id"] == host
    # The project's member neither sets nor sees where its port is bound.
    member = api.as_project(owned["project"], ["member"])
    assert "binding:host_id" not in member.get(f"ports/{port_id}").json()["port"]
    assert_error(put_port(member, port_id, **{"binding:host_id": "elsewhere"}), 403,
                 "PolicyNotAuthorized")
    # The service role is no administrator: others' networks stay as they are.
    net_id = owned["net"]["id"]
    assert nova.put(f"networks/{net_id}", {"network": {"name": "x"}}).status_code in (
        403, 404)
    assert api.get(f"networks/{net_id}").json()["network"]["name"] == "rbac-net"
    assert_error(nova.post("networks", {"network": {"shared": True}}), 403,
                 "PolicyNotAuthorized")


# -- legacy defaults ------------------------------------------------------------------

@pytest.fixture(scope="module")
def legacy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("legacy-policy")
    with database("sqlite", state) as url, ServerProcess(
            state, url, extra_conf="[oslo_policy]\nenforce_new_defaults = false\n") as proc:
        yield proc


def test_legacy_defaults_when_new_defaults_are_off(legacy_server: ServerProcess) -> None:
    admin = Api(legacy_server.url)
    pid = project()
    # Any role of the project makes its owner under the legacy rules.
    reader = admin.as_project(pid, ["reader"])
    created = reader.post("networks", {"network": {"name": "legacy"}})
    assert created.status_code == 201, created.text
    net_id = created.json()["network"]["id"]
    renamed = reader.put(f"networks/{net_id}", {"network": {"name": "renamed"}})
    assert renamed.status_code == 200, renamed.text
    nobody = admin.as_project(pid, [])
    assert nobody.get(f"networks/{net_id}").status_code == 200
    # Other projects are still kept out, and admin-only stays admin-only.
    assert_error(admin.as_project(project(), ["member"]).get(f"networks/{net_id}"), 404,
                 "NetworkNotFound")
    assert_error(reader.put(f"networks/{net_id}", {"network": {"shared": True}}), 403,
                 "PolicyNotAuthorized")
    log = (legacy_server.state_dir / "server.log").read_text()
    assert "enforce_new_defaults = false" in log
