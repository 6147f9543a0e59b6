"""Trunks over HTTP (trunk, trunk-details): CRUD, sub-port actions, upstream's
checks and errors, trunk_details on the parent, sub-ports following the parent's
binding and the trunk's status, policy.

Agents report through the real report_state endpoint, run in this process against
the server's database (as tests/api/test_port_binding.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from neutrino.contract import topics
from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
from neutrino.services.desired_state import l2 as l2_state
from server import UNKNOWN, Api, assert_error, put_port

Report = Callable[..., str]
NO_VLAN = "this kernel has no 802.1Q VLAN sub-interfaces (8021q)"


@pytest.fixture
def report(server_db: Database) -> Report:
    endpoint = AgentStateEndpoint(server_db, 75)

    def send(host: str, **configurations: object) -> str:
        state = {"agent_type": topics.AGENT_TYPE_LINUXBRIDGE,
                 "binary": "neutrino-linuxbridge-agent", "topic": "N/A", "host": host,
                 "start_flag": True,
                 "configurations": dict(configurations, tunnel_types=["vxlan"],
                                        tunneling_ip="192.0.2.10")}
        return endpoint.report_state({}, agent_state={"agent_state": state})
    return send


def new_host() -> str:
    return f"trunk-host-{uuid.uuid4().hex[:10]}"


def create_trunk(api: Api, **attrs: object) -> dict:
    response = api.post("trunks", {"trunk": attrs})
    assert response.status_code == 201, response.text
    return response.json()["trunk"]


@pytest.fixture
def nets(own_project_admin: Api) -> tuple[dict, dict, dict]:
    api = own_project_admin
    out = []
    for n in range(3):
        net = api.network(name=f"trunk-net-{n}")
        api.subnet(net["id"], f"10.{60 + n}.0.0/24")
        out.append(net)
    return out[0], out[1], out[2]


def test_extensions_are_listed(api: Api) -> None:
    trunk = api.get("extensions/trunk").json()["extension"]
    assert trunk["name"] == "Trunk Extension"
    assert trunk["description"] == "Provides support for trunk ports"
    details = api.get("extensions/trunk-details").json()["extension"]
    assert details["name"] == "Trunk port details"


def test_lifecycle(own_project_admin: Api, nets: tuple[dict, dict, dict]) -> None:
    api = own_project_admin
    parent = api.port(nets[0]["id"])
    sub1, sub2 = api.port(nets[1]["id"]), api.port(nets[2]["id"])
    trunk = create_trunk(api, name="t1", port_id=parent["id"], sub_ports=[
        {"port_id": sub1["id"], "segmentation_type": "vlan", "segmentation_id": 101}])
    assert set(trunk) == {"admin_state_up", "id", "name", "project_id", "tenant_id",
                          "port_id", "status", "sub_ports", "description", "tags",
                          "created_at", "updated_at", "revision_number"}
    assert trunk["status"] == "DOWN" and trunk["admin_state_up"] is True
    assert trunk["description"] == "" and trunk["tags"] == []
    assert trunk["project_id"] == api.client.headers["X-Project-Id"]
    assert trunk["sub_ports"] == [{"segmentation_id": 101, "segmentation_type": "vlan",
                                   "port_id": sub1["id"]}]
    path = f"trunks/{trunk['id']}"
    # The sub-port belongs to the trunk now.
    port = api.get(f"ports/{sub1['id']}").json()["port"]
    assert (port["device_owner"], port["device_id"]) == ("trunk:subport", trunk["id"])
    # add_subports / get_subports / remove_subports
    response = api.put(path + "/add_subports", {"sub_ports": [
        {"port_id": sub2["id"], "segmentation_type": "vlan", "segmentation_id": 102}]})
    assert response.status_code == 200, response.text
    # The trunk is the whole body, not under "trunk", as upstream's plugin answers
    # (neutron-tempest-plugin's test_add_subports reads body["sub_ports"]).
    assert response.json()["id"] == trunk["id"]
    assert len(response.json()["sub_ports"]) == 2
    response = api.get(path + "/get_subports")
    assert response.status_code == 200
    assert response.json() == {"sub_ports": [
        {"segmentation_id": 101, "segmentation_type": "vlan", "port_id": sub1["id"]},
        {"segmentation_id": 102, "segmentation_type": "vlan", "port_id": sub2["id"]}]}
    # trunk_details on the parent, with the sub-ports' MACs; none on other ports
    details = api.get(f"ports/{parent['id']}").json()["port"]["trunk_details"]
    assert details == {"trunk_id": trunk["id"], "sub_ports": [
        {"segmentation_id": 101, "segmentation_type": "vlan", "port_id": sub1["id"],
         "mac_address": sub1["mac_address"]},
        {"segmentation_id": 102, "segmentation_type": "vlan", "port_id": sub2["id"],
         "mac_address": sub2["mac_address"]}]}
    assert "trunk_details" not in api.get(f"ports/{sub1['id']}").json()["port"]
    # each action with its own method only
    assert api.put(path + "/get_subports", {}).status_code == 405
    assert api.get(path + "/add_subports").status_code == 405
    assert api.get(f"trunks/{UNKNOWN}/get_subports").status_code == 404
    response = api.put(path + "/remove_subports", {"sub_ports": [{"port_id": sub1["id"]}]})
    assert response.status_code == 200, response.text
    assert [s["port_id"] for s in response.json()["sub_ports"]] == [sub2["id"]]
    port = api.get(f"ports/{sub1['id']}").json()["port"]
    assert (port["device_owner"], port["device_id"]) == ("", "")
    response = api.put(path + "/remove_subports", {"sub_ports": [{"port_id": sub1["id"]}]})
    assert_error(response, 404, "SubPortNotFound",
                 f"SubPort on trunk {trunk['id']} with parent port {sub1['id']} could "
                 "not be found.")
    # update, list, filters, tags
    response = api.put(path, {"trunk": {"name": "renamed", "description": "d"}})
    assert response.json()["trunk"]["name"] == "renamed"
    assert response.json()["trunk"]["revision_number"] > trunk["revision_number"]
    listed = api.get(f"trunks?port_id={parent['id']}").json()["trunks"]
    assert [t["id"] for t in listed] == [trunk["id"]]
    assert api.put(path + "/tags/blue").status_code == 201
    assert [t["id"] for t in api.get("trunks?tags=blue").json()["trunks"]] == [trunk["id"]]
    assert api.put(path, {"trunk": {"status": "ACTIVE"}}).status_code == 400
    # delete: the sub-ports are released, the parent loses trunk_details
    assert api.delete(path).status_code == 204
    assert_error(api.get(path), 404, "TrunkNotFound",
                 f"Trunk {trunk['id']} could not be found.")
    port = api.get(f"ports/{sub2['id']}").json()["port"]
    assert (port["device_owner"], port["device_id"]) == ("", "")
    assert "trunk_details" not in api.get(f"ports/{parent['id']}").json()["port"]


def test_port_in_use(own_project_admin: Api, nets: tuple[dict, dict, dict]) -> None:
    api = own_project_admin
    parent, sub = api.port(nets[0]["id"]), api.port(nets[1]["id"])
    trunk = create_trunk(api, port_id=parent["id"], sub_ports=[
        {"port_id": sub["id"], "segmentation_type": "vlan", "segmentation_id": 10}])
    # a parent again, a sub-port as a parent
    assert_error(api.post("trunks", {"trunk": {"port_id": parent["id"]}}), 409,
                 "ParentPortInUse", f"Port {parent['id']} is currently in use and is "
                 "not eligible for use as a parent port.")
    assert_error(api.post("trunks", {"trunk": {"port_id": sub["id"]}}), 409,
                 "TrunkPortInUse", f"Port {sub['id']} is in use by another trunk.")
    # the parent or a used sub-port as a sub-port
    other = create_trunk(api, port_id=api.port(nets[2]["id"])["id"])
    for port_id, type_ in ((parent["id"], "ParentPortInUse"), (sub["id"], "TrunkPortInUse")):
        response = api.put(f"trunks/{other['id']}/add_subports", {"sub_ports": [
            {"port_id": port_id, "segmentation_type": "vlan", "segmentation_id": 20}]})
        assert_error(response, 409, type_)
    # a trunk's parent as its own sub-port
    response = api.put(f"trunks/{other['id']}/add_subports", {"sub_ports": [
        {"port_id": other["port_id"], "segmentation_type": "vlan", "segmentation_id": 3}]})
    assert_error(response, 409, "ParentPortInUse")
    # ports in a trunk are not deleted
    assert_error(api.delete(f"ports/{parent['id']}"), 409, "PortInUseAsTrunkParent",
                 f"Port {parent['id']} is currently a parent port for trunk "
                 f"{trunk['id']}.")
    assert_error(api.delete(f"ports/{sub['id']}"), 409, "PortInUseAsSubPort",
                 f"Port {sub['id']} is currently a subport for trunk {trunk['id']}.")
    # a port with a device cannot become a sub-port
    used = api.port(nets[1]["id"], device_id="vm-1", device_owner="compute:nova")
    response = api.put(f"trunks/{other['id']}/add_subports", {"sub_ports": [
        {"port_id": used["id"], "segmentation_type": "vlan", "segmentation_id": 30}]})
    assert_error(response, 409, "PortInUse")
    # network-owned ports are no parents
    dhcp_like = api.port(nets[1]["id"], device_owner="network:dhcp", device_id="d")
    assert_error(api.post("trunks", {"trunk": {"port_id": dhcp_like["id"]}}), 409,
                 "ParentPortInUse")
    assert_error(api.post("trunks", {"trunk": {"port_id": UNKNOWN}}), 404, "PortNotFound")


def test_segmentation(own_project_admin: Api, nets: tuple[dict, dict, dict]) -> None:
    api = own_project_admin
    trunk = create_trunk(api, port_id=api.port(nets[0]["id"])["id"])
    path = f"trunks/{trunk['id']}/add_subports"
    sub, sub2 = api.port(nets[1]["id"]), api.port(nets[2]["id"])

    def add(*subports: dict) -> object:
        return api.put(path, {"sub_ports": list(subports)})
    for seg_id in (0, 4095):
        assert_error(add({"port_id": sub["id"], "segmentation_type": "vlan",
                          "segmentation_id": seg_id}), 400, "InvalidInput",
                     f"Invalid input for operation: Segmentation ID '{seg_id}' is not "
                     "in range.")
    assert_error(add({"port_id": sub["id"], "segmentation_type": "gre",
                      "segmentation_id": 5}), 400, "InvalidInput",
                 "Invalid input for operation: Unknown segmentation_type 'gre'.")
    assert_error(add({"port_id": sub["id"], "segmentation_type": "vlan",
                      "segmentation_id": "x"}), 400, "InvalidInput")
    assert_error(add({"port_id": sub["id"], "segmentation_type": "vlan"}), 400,
                 "InvalidInput")
    # the same id twice in one request, then against what the trunk has
    assert_error(add({"port_id": sub["id"], "segmentation_type": "vlan",
                      "segmentation_id": 7},
                     {"port_id": sub2["id"], "segmentation_type": "vlan",
                      "segmentation_id": 7}), 400, "InvalidInput")
    assert add({"port_id": sub["id"], "segmentation_type": "vlan",
                "segmentation_id": 7}).status_code == 200
    assert_error(add({"port_id": sub2["id"], "segmentation_type": "vlan",
                      "segmentation_id": 7}), 409, "DuplicateSubPort",
                 "segmentation_type vlan and segmentation_id 7 already in use on trunk "
                 f"{trunk['id']}.")
    # inherit takes the sub-port network's segmentation: a VXLAN one is no VLAN
    response = add({"port_id": sub2["id"], "segmentation_type": "inherit"})
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: Unknown segmentation_type 'vxlan'.")
    # shape errors on create
    for bad in ("x", ["x"], [{"segmentation_id": 1}], [{"port_id": "nope"}]):
        response = api.post("trunks", {"trunk": {"port_id": sub2["id"], "sub_ports": bad}})
        assert_error(response, 400, "HTTPBadRequest")
    assert_error(api.put(path, {"nothing": []}), 400, "InvalidInput")
    assert len(api.get(f"trunks/{trunk['id']}").json()["trunk"]["sub_ports"]) == 1


def test_mtu(own_project_admin: Api) -> None:
    api = own_project_admin
    small = api.network(name="small", mtu=1400)
    big = api.network(name="big", mtu=1450)
    parent, sub = api.port(small["id"]), api.port(big["id"])
    response = api.post("trunks", {"trunk": {"port_id": parent["id"], "sub_ports": [
        {"port_id": sub["id"], "segmentation_type": "vlan", "segmentation_id": 5}]}})
    assert_error(response, 409, "SubPortMtuGreaterThanTrunkPortMtu",
                 f"MTU 1450 of subport {sub['id']} cannot be greater than MTU 1400 of "
                 f"trunk {parent['id']}.")
    assert api.get(f"trunks?port_id={parent['id']}").json()["trunks"] == []
    # the other way round is fine
    assert create_trunk(api, port_id=sub["id"], sub_ports=[
        {"port_id": parent["id"], "segmentation_type": "vlan", "segmentation_id": 5}])


def test_disabled_trunk(own_project_admin: Api, nets: tuple[dict, dict, dict]) -> None:
    api = own_project_admin
    sub = api.port(nets[1]["id"])
    trunk = create_trunk(api, port_id=api.port(nets[0]["id"])["id"], admin_state_up=False,
                         sub_ports=[{"port_id": sub["id"], "segmentation_type": "vlan",
                                     "segmentation_id": 9}])
    path = f"trunks/{trunk['id']}"
    message = f"Trunk {trunk['id']} is currently disabled."
    assert_error(api.put(path + "/add_subports", {"sub_ports": [
        {"port_id": api.port(nets[2]["id"])["id"], "segmentation_type": "vlan",
         "segmentation_id": 10}]}), 409, "TrunkDisabled", message)
    assert_error(api.put(path + "/remove_subports", {"sub_ports": [{"port_id": sub["id"]}]}),
                 409, "TrunkDisabled", message)
    assert_error(api.delete(path), 409, "TrunkDisabled", message)
    assert api.put(path, {"trunk": {"admin_state_up": True}}).status_code == 200
    assert api.delete(path).status_code == 204


def test_subports_follow_the_parent_binding(own_project_admin: Api, report: Report,
                                            server_db: Database,
                                            nets: tuple[dict, dict, dict]) -> None:
    api = own_project_admin
    host = new_host()
    report(host, trunk_supported=True)
    parent, sub = api.port(nets[0]["id"]), api.port(nets[1]["id"])
    trunk = create_trunk(api, port_id=parent["id"], sub_ports=[
        {"port_id": sub["id"], "segmentation_type": "vlan", "segmentation_id": 11}])
    assert api.get(f"ports/{sub['id']}").json()["port"]["binding:host_id"] == ""
    assert put_port(api, parent["id"], **{"binding:host_id": host}).status_code == 200
    port = api.get(f"ports/{sub['id']}").json()["port"]
    assert (port["binding:host_id"], port["binding:vif_type"]) == (host, "bridge")
    # bound, waiting for the agent to wire the sub-ports
    assert api.get(f"trunks/{trunk['id']}").json()["trunk"]["status"] == "BUILD"
    # a sub-port added later takes the host too
    sub2 = api.port(nets[2]["id"])
    assert api.put(f"trunks/{trunk['id']}/add_subports", {"sub_ports": [
        {"port_id": sub2["id"], "segmentation_type": "vlan",
         "segmentation_id": 12}]}).status_code == 200
    assert api.get(f"ports/{sub2['id']}").json()["port"]["binding:host_id"] == host
    # the host's "l2" desired state carries the trunk on the parent (contract/trunk.py)
    desired = server_db.run(lambda s: l2_state.build(s, host), write=False)
    by_id = {p["id"]: p for p in desired["ports"]}
    assert set(by_id) == {parent["id"], sub["id"], sub2["id"]}
    assert by_id[parent["id"]]["trunk"] == {
        "trunk_id": trunk["id"], "admin_state_up": True, "sub_ports": [
            {"port_id": sub["id"], "device": "tap" + sub["id"][:11],
             "segmentation_type": "vlan", "segmentation_id": 11,
             "mac_address": sub["mac_address"]},
            {"port_id": sub2["id"], "device": "tap" + sub2["id"][:11],
             "segmentation_type": "vlan", "segmentation_id": 12,
             "mac_address": sub2["mac_address"]}]}
    assert "trunk" not in by_id[sub["id"]]
    # the parent bound by the Linux bridge driver: the trunk can still go
    assert api.delete(f"trunks/{trunk['id']}").status_code == 204
    assert api.get(f"ports/{sub2['id']}").json()["port"]["binding:host_id"] == ""
    # unbound parent: DOWN
    trunk = create_trunk(api, port_id=parent["id"])
    assert put_port(api, parent["id"], **{"binding:host_id": ""}).status_code == 200
    assert api.get(f"trunks/{trunk['id']}").json()["trunk"]["status"] == "DOWN"


def test_host_without_vlan_support(own_project_admin: Api, report: Report,
                                   nets: tuple[dict, dict, dict]) -> None:
    """The agent says it cannot make VLAN sub-interfaces: the sub-ports' binding
    fails and the trunk goes to ERROR; no more sub-ports until that is resolved."""
    api = own_project_admin
    host = new_host()
    report(host, trunk_supported=False, trunk_unsupported_reason=NO_VLAN)
    parent, sub = api.port(nets[0]["id"]), api.port(nets[1]["id"])
    trunk = create_trunk(api, port_id=parent["id"], sub_ports=[
        {"port_id": sub["id"], "segmentation_type": "vlan", "segmentation_id": 11}])
    assert put_port(api, parent["id"], **{"binding:host_id": host}).status_code == 200
    assert api.get(f"ports/{parent['id']}").json()["port"]["binding:vif_type"] == "bridge"
    port = api.get(f"ports/{sub['id']}").json()["port"]
    assert (port["binding:host_id"], port["binding:vif_type"]) == (host, "binding_failed")
    assert api.get(f"trunks/{trunk['id']}").json()["trunk"]["status"] == "ERROR"
    agents = api.get(f"agents?host={host}").json()["agents"]
    assert agents[0]["configurations"]["trunk_supported"] is False
    response = api.put(f"trunks/{trunk['id']}/add_subports", {"sub_ports": [
        {"port_id": api.port(nets[2]["id"])["id"], "segmentation_type": "vlan",
         "segmentation_id": 12}]})
    assert_error(response, 409, "TrunkInErrorState")
    # removing the sub-port resolves it
    assert api.put(f"trunks/{trunk['id']}/remove_subports",
                   {"sub_ports": [{"port_id": sub["id"]}]}).status_code == 200
    assert api.get(f"trunks/{trunk['id']}").json()["trunk"]["status"] == "BUILD"


def test_bound_parent_without_trunk_driver(own_project_admin: Api,
                                           nets: tuple[dict, dict, dict]) -> None:
    """A parent bound where no trunk driver is in charge (no agent: binding failed)
    can neither be trunked nor untrunked (upstream's ParentPortInUse, TrunkInUse)."""
    api = own_project_admin
    parent = api.port(nets[0]["id"])
    trunk = create_trunk(api, port_id=parent["id"])
    assert put_port(api, parent["id"], **{"binding:host_id": new_host()}).status_code == 200
    assert_error(api.delete(f"trunks/{trunk['id']}"), 409, "TrunkInUse",
                 f"Trunk {trunk['id']} is currently in use.")
    bound = api.port(nets[1]["id"], **{"binding:host_id": new_host()})
    assert_error(api.post("trunks", {"trunk": {"port_id": bound["id"]}}), 409,
                 "ParentPortInUse")
    assert put_port(api, parent["id"], **{"binding:host_id": ""}).status_code == 200
    assert api.delete(f"trunks/{trunk['id']}").status_code == 204


def test_policy(own_project_admin: Api, nets: tuple[dict, dict, dict]) -> None:
    """A project's own trunks; another project sees none of them (404)."""
    api = own_project_admin
    project = f"p-{uuid.uuid4().hex}"
    member = api.as_project(project, ["member"])
    net = member.network(name="member-net")
    member.subnet(net["id"], "10.70.0.0/24")
    parent, sub = member.port(net["id"]), member.port(net["id"])
    trunk = create_trunk(member, port_id=parent["id"], sub_ports=[
        {"port_id": sub["id"], "segmentation_type": "vlan", "segmentation_id": 4}])
    assert trunk["project_id"] == project
    assert member.get(f"trunks/{trunk['id']}/get_subports").status_code == 200
    stranger = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    assert stranger.get("trunks").json()["trunks"] == []
    assert_error(stranger.get(f"trunks/{trunk['id']}"), 404, "TrunkNotFound")
    assert stranger.get(f"trunks/{trunk['id']}/get_subports").status_code == 404
    assert stranger.delete(f"trunks/{trunk['id']}").status_code == 404
    # another project's port is not found for a member
    assert_error(stranger.post("trunks", {"trunk": {"port_id": api.port(
        nets[0]["id"])["id"]}}), 404, "PortNotFound")
    reader = api.as_project(project, ["reader"])
    assert reader.get(f"trunks/{trunk['id']}").status_code == 200
    assert reader.put(f"trunks/{trunk['id']}", {"trunk": {"name": "x"}}).status_code == 403
    assert member.delete(f"trunks/{trunk['id']}").status_code == 204


def test_openstacksdk(conn, own_project_admin: Api,  # noqa: ANN001 - openstack's Connection
                      nets: tuple[dict, dict, dict]) -> None:
    api = own_project_admin
    parent, sub1, sub2 = (api.port(nets[0]["id"]), api.port(nets[1]["id"]),
                          api.port(nets[2]["id"]))
    trunk = conn.network.create_trunk(name="sdk-trunk", port_id=parent["id"], sub_ports=[
        {"port_id": sub1["id"], "segmentation_type": "vlan", "segmentation_id": 100}])
    assert trunk.status == "DOWN" and trunk.is_admin_state_up
    conn.network.add_trunk_subports(trunk, [
        {"port_id": sub2["id"], "segmentation_type": "vlan", "segmentation_id": 200}])
    got = conn.network.get_trunk_subports(trunk)
    assert sorted(s["segmentation_id"] for s in got["sub_ports"]) == [100, 200]
    conn.network.delete_trunk_subports(trunk, [{"port_id": sub1["id"]}])
    got = conn.network.get_trunk_subports(trunk)
    assert [s["port_id"] for s in got["sub_ports"]] == [sub2["id"]]
    assert [t.id for t in conn.network.trunks(name="sdk-trunk")
            if t.port_id == parent["id"]] == [trunk.id]
    conn.network.delete_trunk(trunk)
    assert conn.network.find_trunk(trunk.id) is None
