"""Floating IP port forwardings over HTTP (floating-ip-port-forwarding and its
-description, -port-ranges, -detail, expose-port-forwarding-in-fip): create, show,
list with filters, update, delete; the conflicts with port associations; range
rules; the floating IP's router and port_forwardings; policy by the floating IP's
owner."""

from __future__ import annotations

import uuid

from l3_setup import floatingip, project_network, router, topology

from server import Api, assert_error

ALIASES = ("floating-ip-port-forwarding", "floating-ip-port-forwarding-description",
           "floating-ip-port-forwarding-detail", "floating-ip-port-forwarding-port-ranges",
           "expose-port-forwarding-in-fip")


def member(api: Api, project: str | None = None) -> Api:
    return api.as_project(project or f"p-{uuid.uuid4().hex}", ["member"])


def pf_path(fip: dict, pf_id: str | None = None) -> str:
    base = f"floatingips/{fip['id']}/port_forwardings"
    return f"{base}/{pf_id}" if pf_id else base


def create_pf(api: Api, fip: dict, **attrs: object) -> dict:
    response = api.post(pf_path(fip), {"port_forwarding": attrs})
    assert response.status_code == 201, response.text
    return response.json()["port_forwarding"]


def setup(api: Api) -> tuple[dict, dict, dict]:
    """(topology, a VM port on the project subnet, a free floating IP)."""
    topo = topology(api, api)
    vm = api.port(topo["net"]["id"])
    return topo, vm, floatingip(api, topo["ext"]["id"])


def test_extensions_listed(api: Api) -> None:
    aliases = {e["alias"] for e in api.get("extensions").json()["extensions"]}
    assert set(ALIASES) <= aliases
    ext = api.get("extensions/floating-ip-port-forwarding").json()["extension"]
    assert ext["name"] == "Floating IP Port Forwarding"


def test_create_show_list_update_delete(own_project_admin: Api) -> None:
    api = own_project_admin
    topo, vm, fip = setup(api)
    address = vm["fixed_ips"][0]["ip_address"]
    pf = create_pf(api, fip, internal_port_id=vm["id"], internal_ip_address=address,
                   internal_port=22, external_port=2222, protocol="TCP",
                   description="ssh")
    assert pf == {"id": pf["id"], "external_port": 2222, "internal_port": 22,
                  "internal_ip_address": address, "protocol": "tcp",
                  "internal_port_id": vm["id"], "description": "ssh"}
    assert api.get(pf_path(fip, pf["id"])).json()["port_forwarding"] == pf
    # The floating IP now has the router and shows the forwarding (with -detail's
    # id and internal_port_id).
    shown = api.get(f"floatingips/{fip['id']}").json()["floatingip"]
    assert shown["router_id"] == topo["router"]["id"]
    assert shown["port_id"] is None and shown["fixed_ip_address"] is None
    assert shown["port_forwardings"] == [{
        "id": pf["id"], "internal_port_id": vm["id"], "internal_ip_address": address,
        "internal_port": 22, "external_port": 2222, "protocol": "tcp"}]
    udp = create_pf(api, fip, internal_port_id=vm["id"], internal_ip_address=address,
                    internal_port_range="5000:5009", external_port_range="6000:6009",
                    protocol="udp")
    assert udp["internal_port_range"] == "5000:5009"
    assert udp["external_port_range"] == "6000:6009"
    assert "external_port" not in udp and udp["description"] == ""
    listed = api.get(pf_path(fip)).json()["port_forwardings"]
    assert sorted(p["id"] for p in listed) == sorted([pf["id"], udp["id"]])
    assert [p["id"] for p in api.get(pf_path(fip) + "?protocol=udp").json()[
        "port_forwardings"]] == [udp["id"]]
    assert [p["id"] for p in api.get(pf_path(fip) + "?external_port=2222").json()[
        "port_forwardings"]] == [pf["id"]]
    assert [p["id"] for p in api.get(pf_path(fip) + "?external_port_range=6000:6009")
            .json()["port_forwardings"]] == [udp["id"]]
    # a single port is not the start of a range
    assert api.get(pf_path(fip) + "?external_port=6000").json()["port_forwardings"] == []
    fields = api.get(pf_path(fip, pf["id"]) + "?fields=protocol").json()
    assert fields == {"port_forwarding": {"protocol": "tcp"}}
    assert_error(api.get(pf_path(fip) + "?internal_port=22"), 400,
                 "PortForwardingNotSupportFilterField",
                 "Port Forwarding filter internal_port is not supported.")
    page = api.get(pf_path(fip) + "?limit=1&sort_key=external_port&sort_dir=asc").json()
    assert [p["id"] for p in page["port_forwardings"]] == [pf["id"]]
    assert page["port_forwardings_links"][0]["rel"] == "next"
    # update
    response = api.put(pf_path(fip, pf["id"]), {"port_forwarding": {
        "external_port": 2200, "description": "new"}})
    assert response.status_code == 200, response.text
    assert response.json()["port_forwarding"] == dict(pf, external_port=2200,
                                                      description="new")
    response = api.put(pf_path(fip, pf["id"]), {"port_forwarding": {
        "external_port_range": "2300:2301", "internal_port_range": "30:31"}})
    assert response.status_code == 200, response.text
    got = response.json()["port_forwarding"]
    assert got["external_port_range"] == "2300:2301" and "external_port" not in got
    # delete: the floating IP keeps its router until the last one goes
    assert api.delete(pf_path(fip, pf["id"])).status_code == 204
    assert_error(api.get(pf_path(fip, pf["id"])), 404, "PortForwardingNotFound",
                 f"Port Forwarding {pf['id']} could not be found.")
    assert api.get(f"floatingips/{fip['id']}").json()["floatingip"]["router_id"] == \
        topo["router"]["id"]
    assert api.delete(pf_path(fip, udp["id"])).status_code == 204
    shown = api.get(f"floatingips/{fip['id']}").json()["floatingip"]
    assert shown["router_id"] is None and shown["port_forwardings"] == []


def test_validation(own_project_admin: Api) -> None:
    api = own_project_admin
    topo, vm, fip = setup(api)
    address = vm["fixed_ips"][0]["ip_address"]
    base = {"internal_port_id": vm["id"], "internal_ip_address": address,
            "protocol": "tcp"}

    def refused(status: int, type_: str, message: str | None = None, **attrs: object
                ) -> None:
        response = api.post(pf_path(fip), {"port_forwarding": dict(base, **attrs)})
        assert_error(response, status, type_, message)

    refused(400, "HTTPBadRequest", "Invalid input for protocol. Reason: 'gre' is not in "
            "['dccp', 'icmp', 'ipv6-icmp', 'sctp', 'tcp', 'udp'].",
            protocol="gre", internal_port=1, external_port=1)
    refused(400, "HTTPBadRequest", None, internal_port=0, external_port=1)
    refused(400, "HTTPBadRequest", None, internal_port=1, external_port=65536)
    refused(400, "HTTPBadRequest", None, internal_port_range="10:5", external_port=1)
    refused(400, "HTTPBadRequest", None, internal_port_range="a:b", external_port=1)
    refused(400, "BadRequest", "Bad port_forwarding request: You must provide the "
            "external_port or the external_port_range.", internal_port=1)
    refused(400, "BadRequest", None, internal_port=1, external_port=2,
            external_port_range="2:3")
    refused(400, "BadRequest", "Bad port_forwarding request: Invalid ranges of internal "
            "and/or external ports. The relation between internal and external ports "
            "must be N-N or 1-N.", internal_port_range="10:12", external_port_range="20:21")
    refused(400, "BadRequest", None, internal_port=80, external_port=8080,
            internal_ip_address="10.255.255.1")
    missing = dict(base)
    del missing["internal_port_id"]
    response = api.post(pf_path(fip), {"port_forwarding": dict(
        missing, internal_port=1, external_port=1)})
    assert_error(response, 400, "HTTPBadRequest")
    response = api.post(pf_path(fip), {"port_forwarding": dict(
        base, internal_port=1, external_port=1, internal_port_id=str(uuid.uuid4()))})
    assert_error(response, 404, "PortNotFound")
    response = api.post(f"floatingips/{uuid.uuid4()}/port_forwardings",
                        {"port_forwarding": dict(base, internal_port=1, external_port=1)})
    assert_error(response, 404, "FloatingIPNotFound")
    # N:1 is fine, collisions are not
    create_pf(api, fip, **base, internal_port=80, external_port_range="8000:8009")
    refused(400, "BadRequest", "Bad port_forwarding request: There is a port collision "
            "with the external_port_range. The following ranges collides: 8000:8009 and "
            "8005:8005.", internal_port=81, external_port=8005)
    refused(400, "BadRequest", None, internal_port_range="70:80",
            external_port_range="9070:9080")
    # another protocol may use the same ports
    create_pf(api, fip, **dict(base, protocol="udp"), internal_port=80, external_port=8005)
    # a network no router connects to the floating network
    lonely_net, _ = project_network(api)
    lonely = api.port(lonely_net["id"])
    response = api.post(pf_path(fip), {"port_forwarding": {
        "internal_port_id": lonely["id"], "protocol": "tcp", "internal_port": 1,
        "external_port": 1, "internal_ip_address": lonely["fixed_ips"][0]["ip_address"]}})
    assert_error(response, 400, "BadRequest")
    assert "is not reachable from subnet" in response.json()["NeutronError"]["message"]


def test_conflicts_with_port_association(own_project_admin: Api) -> None:
    api = own_project_admin
    topo, vm, fip = setup(api)
    address = vm["fixed_ips"][0]["ip_address"]
    pf = create_pf(api, fip, internal_port_id=vm["id"], internal_ip_address=address,
                   internal_port=22, external_port=22, protocol="tcp")
    # a floating IP with forwardings is neither associated nor deleted
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": vm["id"]}})
    assert_error(response, 409, "FipInUseByPortForwarding",
                 f"Floating IP {fip['id']} in use by Port Forwarding resources.")
    assert_error(api.delete(f"floatingips/{fip['id']}"), 409, "FipInUseByPortForwarding")
    # disassociating (no port anyway) keeps the forwardings' router
    assert api.put(f"floatingips/{fip['id']}", {"floatingip": {}}).status_code == 200
    assert api.get(f"floatingips/{fip['id']}").json()["floatingip"]["router_id"] == \
        topo["router"]["id"]
    # a floating IP associated to a port gets no forwardings
    other_vm = api.port(topo["net"]["id"])
    associated = floatingip(api, topo["ext"]["id"], port_id=other_vm["id"])
    response = api.post(pf_path(associated), {"port_forwarding": {
        "internal_port_id": vm["id"], "internal_ip_address": address, "protocol": "tcp",
        "internal_port": 23, "external_port": 23}})
    assert_error(response, 409, "FloatingIPPortAlreadyAssociated")
    # a port that has a floating IP gets no forwardings
    response = api.post(pf_path(fip), {"port_forwarding": {
        "internal_port_id": other_vm["id"], "protocol": "tcp", "internal_port": 23,
        "external_port": 23,
        "internal_ip_address": other_vm["fixed_ips"][0]["ip_address"]}})
    assert_error(response, 409, "PortHasBindingFloatingIP")
    # deleting the internal port deletes its forwardings and frees the floating IP
    assert api.delete(f"ports/{vm['id']}").status_code == 204
    assert_error(api.get(pf_path(fip, pf["id"])), 404, "PortForwardingNotFound")
    shown = api.get(f"floatingips/{fip['id']}").json()["floatingip"]
    assert shown["router_id"] is None and shown["port_forwardings"] == []
    assert api.delete(f"floatingips/{fip['id']}").status_code == 204


def test_port_losing_its_address_loses_forwardings(own_project_admin: Api) -> None:
    api = own_project_admin
    topo = topology(api, api)
    subnet_id = topo["subnet"]["id"]
    vm = api.port(topo["net"]["id"], fixed_ips=[{"subnet_id": subnet_id},
                                                {"subnet_id": subnet_id}])
    first, second = (ip["ip_address"] for ip in vm["fixed_ips"])
    fip = floatingip(api, topo["ext"]["id"])
    kept = create_pf(api, fip, internal_port_id=vm["id"], protocol="tcp",
                     internal_ip_address=first, internal_port=80, external_port=80)
    lost = create_pf(api, fip, internal_port_id=vm["id"], protocol="tcp",
                     internal_ip_address=second, internal_port=80, external_port=81)
    response = api.put(f"ports/{vm['id']}", {"port": {"fixed_ips": [
        {"subnet_id": subnet_id, "ip_address": first}]}})
    assert response.status_code == 200, response.text
    assert_error(api.get(pf_path(fip, lost["id"])), 404, "PortForwardingNotFound")
    assert api.get(pf_path(fip, kept["id"])).json()["port_forwarding"] == kept
    assert api.get(f"floatingips/{fip['id']}").json()["floatingip"]["router_id"] == \
        topo["router"]["id"]
    response = api.put(f"ports/{vm['id']}", {"port": {"fixed_ips": [
        {"subnet_id": subnet_id, "ip_address": second}]}})
    assert response.status_code == 200, response.text
    assert api.get(pf_path(fip)).json()["port_forwardings"] == []
    assert api.get(f"floatingips/{fip['id']}").json()["floatingip"]["router_id"] is None


def test_policy_follows_the_floating_ip_owner(api: Api) -> None:
    project = f"p-{uuid.uuid4().hex}"
    owner = member(api, project)
    topo = topology(api, owner)
    vm = owner.port(topo["net"]["id"])
    fip = floatingip(owner, topo["ext"]["id"])
    pf = create_pf(owner, fip, internal_port_id=vm["id"], protocol="tcp",
                   internal_ip_address=vm["fixed_ips"][0]["ip_address"],
                   internal_port=80, external_port=8080)
    stranger = member(api)
    assert_error(stranger.get(pf_path(fip)), 404, "FloatingIPNotFound")
    assert_error(stranger.get(pf_path(fip, pf["id"])), 404, "FloatingIPNotFound")
    assert_error(stranger.delete(pf_path(fip, pf["id"])), 404, "FloatingIPNotFound")
    reader = api.as_project(project, ["reader"])
    assert reader.get(pf_path(fip, pf["id"])).status_code == 200
    response = reader.put(pf_path(fip, pf["id"]), {"port_forwarding": {
        "description": "x"}})
    assert_error(response, 403, "PolicyNotAuthorized")
    assert api.get(pf_path(fip, pf["id"])).status_code == 200  # admin
    # a stranger's port is not found for the owner either
    other = member(api)
    net, _ = project_network(other)
    theirs = other.port(net["id"])
    response = owner.post(pf_path(fip), {"port_forwarding": {
        "internal_port_id": theirs["id"], "protocol": "tcp", "internal_port": 1,
        "external_port": 1, "internal_ip_address": theirs["fixed_ips"][0]["ip_address"]}})
    assert_error(response, 404, "PortNotFound")
    assert owner.delete(pf_path(fip, pf["id"])).status_code == 204


def test_other_router_cannot_take_the_floating_ip(own_project_admin: Api) -> None:
    api = own_project_admin
    topo, vm, fip = setup(api)
    create_pf(api, fip, internal_port_id=vm["id"], protocol="tcp",
              internal_ip_address=vm["fixed_ips"][0]["ip_address"],
              internal_port=80, external_port=80)
    net, subnet = project_network(api)
    second = router(api, external_gateway_info={"network_id": topo["ext"]["id"]})
    response = api.put(f"routers/{second['id']}/add_router_interface",
                       {"subnet_id": subnet["id"]})
    assert response.status_code == 200, response.text
    far = api.port(net["id"])
    response = api.post(pf_path(fip), {"port_forwarding": {
        "internal_port_id": far["id"], "protocol": "tcp", "internal_port": 81,
        "external_port": 81, "internal_ip_address": far["fixed_ips"][0]["ip_address"]}})
    assert_error(response, 400, "BadRequest")
    assert "can not reach it" in response.json()["NeutronError"]["message"]
