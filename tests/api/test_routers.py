"""Routers over HTTP: create/show, gateway (ext-gw-mode), interfaces by subnet and by
port, extra routes (extraroute, extraroute-atomic), in-use checks, policy, quota."""

from __future__ import annotations

import uuid

from l3_setup import external_network, project_network, router, topology, unique_cidr

from server import UNKNOWN, Api, assert_error, error_of


def member(api: Api) -> Api:
    return api.as_project(f"p-{uuid.uuid4().hex}", ["member"])


def add_interface(api: Api, router_id: str, **body: str):
    return api.put(f"routers/{router_id}/add_router_interface", body)


def remove_interface(api: Api, router_id: str, **body: str):
    return api.put(f"routers/{router_id}/remove_router_interface", body)


def test_create_defaults(own_project_admin: Api) -> None:
    r = router(own_project_admin, name="router1")
    assert {k: r[k] for k in ("name", "admin_state_up", "status", "external_gateway_info",
                              "description", "availability_zones", "distributed", "ha",
                              "availability_zone_hints", "routes", "flavor_id", "tags")} == {
        "name": "router1", "admin_state_up": True, "status": "ACTIVE",
        "external_gateway_info": None, "description": "", "availability_zones": [],
        "distributed": False, "ha": False, "availability_zone_hints": [], "routes": [],
        "flavor_id": None, "tags": []}
    assert r["project_id"] == r["tenant_id"] == own_project_admin.client.headers[
        "X-Project-Id"]
    shown = own_project_admin.get(f"routers/{r['id']}").json()["router"]
    assert shown == r
    listed = own_project_admin.get(f"routers?name=router1&id={r['id']}").json()["routers"]
    assert listed == [r]


def test_gateway_set_and_cleared(own_project_admin: Api) -> None:
    api = own_project_admin
    ext, ext_subnet = external_network(api, "198.51.100.0/24")
    r = router(api, external_gateway_info={"network_id": ext["id"]})
    info = r["external_gateway_info"]
    assert info["network_id"] == ext["id"] and info["enable_snat"] is True
    [ip] = info["external_fixed_ips"]
    assert ip["subnet_id"] == ext_subnet["id"] and ip["ip_address"].startswith("198.51.100.")
    [port] = api.get(f"ports?device_id={r['id']}").json()["ports"]
    assert port["device_owner"] == "network:router_gateway"
    assert port["network_id"] == ext["id"] and port["project_id"] == ""
    # The port belongs to the router: the port API cannot delete it.
    assert_error(api.delete(f"ports/{port['id']}"), 409, "L3PortInUse")
    # enable_snat alone changes, the address stays.
    response = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": {
        "network_id": ext["id"], "enable_snat": False}}})
    assert response.status_code == 200, response.text
    updated = response.json()["router"]
    assert updated["external_gateway_info"]["enable_snat"] is False
    assert updated["external_gateway_info"]["external_fixed_ips"] == [ip]
    assert updated["revision_number"] > r["revision_number"]
    # A chosen address (admin only).
    wanted = [{"subnet_id": ext_subnet["id"], "ip_address": "198.51.100.77"}]
    updated = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": {
        "network_id": ext["id"], "external_fixed_ips": wanted}}}).json()["router"]
    assert updated["external_gateway_info"]["external_fixed_ips"] == wanted
    response = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": {}}})
    assert response.status_code == 200, response.text
    assert response.json()["router"]["external_gateway_info"] is None
    assert api.get(f"ports?device_id={r['id']}").json()["ports"] == []


def test_gateway_needs_external_network(own_project_admin: Api) -> None:
    api = own_project_admin
    net, _ = project_network(api)
    response = api.post("routers", {"router": {"external_gateway_info": {
        "network_id": net["id"]}}})
    assert_error(response, 400, "BadRequest",
                 f"Bad router request: Network {net['id']} is not an external network.")
    response = api.post("routers", {"router": {"external_gateway_info": {
        "network_id": UNKNOWN}}})
    assert_error(response, 404, "NetworkNotFound")
    response = api.post("routers", {"router": {"external_gateway_info": {"foo": 1}}})
    assert response.status_code == 400
    project = api.client.headers["X-Project-Id"]
    # Nothing was written by the refused requests.
    assert api.get(f"routers?project_id={project}").json()["routers"] == []


def test_gateway_on_a_network_the_caller_cannot_see_is_not_found(
        own_project_admin: Api) -> None:
    """As upstream: the network is looked up as the caller sees it (404), before
    being found not external (400)."""
    admin = own_project_admin
    user = member(admin)
    hidden = admin.network(name="hidden")
    response = user.post("routers", {"router": {"external_gateway_info": {
        "network_id": hidden["id"]}}})
    assert_error(response, 404, "NetworkNotFound",
                 f"Network {hidden['id']} could not be found.")
    shared = admin.network(name="shared", shared=True)
    response = user.post("routers", {"router": {"external_gateway_info": {
        "network_id": shared["id"]}}})
    assert_error(response, 400, "BadRequest",
                 f"Bad router request: Network {shared['id']} is not an external network.")
    project = user.client.headers["X-Project-Id"]
    assert admin.get(f"routers?project_id={project}").json()["routers"] == []


def test_gateway_on_an_external_network_without_subnets(own_project_admin: Api) -> None:
    """Upstream makes the gateway port with no address (and logs it)."""
    api = own_project_admin
    ext = api.network(name="public-empty", **{"router:external": True})
    r = router(api, external_gateway_info={"network_id": ext["id"]})
    assert r["external_gateway_info"]["network_id"] == ext["id"]
    assert r["external_gateway_info"]["external_fixed_ips"] == []
    [port] = api.get(f"ports?device_id={r['id']}").json()["ports"]
    assert (port["device_owner"], port["network_id"], port["fixed_ips"]) == (
        "network:router_gateway", ext["id"], [])
    shown = api.get(f"routers/{r['id']}").json()["router"]
    assert shown["external_gateway_info"] == r["external_gateway_info"]
    response = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": None}})
    assert response.status_code == 200, response.text
    assert api.get(f"ports?device_id={r['id']}").json()["ports"] == []


def test_interface_by_subnet(own_project_admin: Api) -> None:
    api = own_project_admin
    net, subnet = project_network(api, "10.20.30.0/24")
    r = router(api)
    response = add_interface(api, r["id"], subnet_id=subnet["id"])
    assert response.status_code == 200, response.text
    info = response.json()
    assert set(info) == {"id", "project_id", "port_id", "network_id", "subnet_id",
                         "subnet_ids"}
    assert info["id"] == r["id"] and info["network_id"] == net["id"]
    assert info["subnet_id"] == subnet["id"] and info["subnet_ids"] == [subnet["id"]]
    port = api.get(f"ports/{info['port_id']}").json()["port"]
    assert port["device_owner"] == "network:router_interface"
    assert port["device_id"] == r["id"]
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.20.30.1"}]
    assert api.get(f"routers/{r['id']}").json()["router"]["revision_number"] > \
        r["revision_number"]
    # Upstream's checks.
    assert_error(add_interface(api, r["id"], subnet_id=subnet["id"]), 400, "BadRequest",
                 f"Bad router request: Router already has a port on subnet {subnet['id']}.")
    assert_error(api.delete(f"ports/{info['port_id']}"), 409, "L3PortInUse",
                 f"Port {info['port_id']} has owner network:router_interface and "
                 "therefore cannot be deleted directly via the port API.")
    assert_error(api.delete(f"routers/{r['id']}"), 409, "RouterInUse",
                 f"Router {r['id']} still has ports")
    assert_error(api.delete(f"subnets/{subnet['id']}"), 409, "SubnetInUse")
    response = remove_interface(api, r["id"], subnet_id=subnet["id"])
    assert response.status_code == 200, response.text
    assert response.json() == info
    assert api.get(f"ports/{info['port_id']}").status_code == 404
    assert_error(remove_interface(api, r["id"], subnet_id=subnet["id"]), 404,
                 "RouterInterfaceNotFoundForSubnet",
                 f"Router {r['id']} has no interface on subnet {subnet['id']}")
    assert api.delete(f"routers/{r['id']}").status_code == 204
    assert_error(api.get(f"routers/{r['id']}"), 404, "RouterNotFound",
                 f"Router {r['id']} could not be found")


def test_interface_checks(own_project_admin: Api) -> None:
    api = own_project_admin
    r = router(api)
    net, subnet = project_network(api, "10.40.0.0/24")
    no_gw = api.subnet(net["id"], "10.41.0.0/24", gateway_ip=None)
    assert_error(add_interface(api, r["id"], subnet_id=no_gw["id"]), 400, "BadRequest",
                 "Bad router request: Subnet for router interface must have a gateway IP.")
    assert_error(add_interface(api, r["id"]), 400, "BadRequest",
                 "Bad router request: Either subnet_id or port_id must be specified.")
    port = api.port(net["id"])
    assert_error(add_interface(api, r["id"], subnet_id=subnet["id"], port_id=port["id"]),
                 400, "BadRequest",
                 "Bad router request: Cannot specify both subnet-id and port-id.")
    assert_error(add_interface(api, r["id"], subnet_id=UNKNOWN), 404, "SubnetNotFound")
    assert_error(add_interface(api, UNKNOWN, subnet_id=subnet["id"]), 404, "RouterNotFound")
    assert add_interface(api, r["id"], subnet_id=subnet["id"]).status_code == 200
    other, overlapping = project_network(api, "10.40.0.128/25")
    response = add_interface(api, r["id"], subnet_id=overlapping["id"])
    assert_error(response, 400, "BadRequest")
    assert "overlaps with cidr 10.40.0.0/24" in error_of(response)["message"]
    # Nothing half-written: no port was left on the refused subnets.
    assert api.get(f"ports?network_id={other['id']}").json()["ports"] == []


def test_interface_by_port(own_project_admin: Api) -> None:
    api = own_project_admin
    net, subnet = project_network(api)
    r = router(api)
    port = api.port(net["id"])
    response = add_interface(api, r["id"], port_id=port["id"])
    assert response.status_code == 200, response.text
    assert response.json()["port_id"] == port["id"]
    assert response.json()["subnet_ids"] == [subnet["id"]]
    shown = api.get(f"ports/{port['id']}").json()["port"]
    assert shown["device_owner"] == "network:router_interface"
    assert shown["device_id"] == r["id"]
    other = router(api)
    assert_error(add_interface(api, other["id"], port_id=port["id"]), 409, "PortInUse")
    assert_error(remove_interface(api, other["id"], port_id=port["id"]), 404,
                 "RouterInterfaceNotFound",
                 f"Router {other['id']} does not have an interface with id {port['id']}")
    assert remove_interface(api, r["id"], port_id=port["id"]).status_code == 200


def test_routes(own_project_admin: Api) -> None:
    api = own_project_admin
    net, subnet = project_network(api, "10.50.0.0/24")
    r = router(api)
    assert add_interface(api, r["id"], subnet_id=subnet["id"]).status_code == 200
    path = f"routers/{r['id']}"
    response = api.put(path, {"router": {"routes": [
        {"destination": "192.168.0.0/16", "nexthop": "10.99.0.5"}]}})
    assert_error(response, 400, "InvalidRoutes")
    assert "the nexthop is not connected with router" in error_of(response)["message"]
    response = api.put(path, {"router": {"routes": [
        {"destination": "192.168.0.0/16", "nexthop": "10.50.0.1"}]}})
    assert_error(response, 400, "InvalidRoutes")
    assert "the nexthop is used by router" in error_of(response)["message"]
    assert api.put(path, {"router": {"routes": [
        {"destination": "not-a-cidr", "nexthop": "10.50.0.5"}]}}).status_code == 400
    route = {"destination": "192.168.0.0/16", "nexthop": "10.50.0.5"}
    response = api.put(path, {"router": {"routes": [route]}})
    assert response.status_code == 200, response.text
    assert response.json()["router"]["routes"] == [route]
    too_many = [{"destination": f"172.16.{i}.0/24", "nexthop": "10.50.0.5"}
                for i in range(31)]
    assert_error(api.put(path, {"router": {"routes": too_many}}), 400, "RoutesExhausted")
    assert api.get(path).json()["router"]["routes"] == [route]
    assert_error(remove_interface(api, r["id"], subnet_id=subnet["id"]), 409,
                 "RouterInterfaceInUseByRoute")
    # extraroute-atomic
    extra = {"destination": "172.31.0.0/16", "nexthop": "10.50.0.6"}
    response = api.put(f"{path}/add_extraroutes", {"router": {"routes": [extra]}})
    assert response.status_code == 200, response.text
    assert response.json()["router"]["routes"] == [extra, route]
    response = api.put(f"{path}/remove_extraroutes", {"router": {"routes": [route]}})
    assert response.json()["router"]["routes"] == [extra]
    assert api.post("routers", {"router": {"routes": [route]}}).status_code == 400
    assert api.put(path, {"router": {"routes": None}}).json()["router"]["routes"] == []


def test_project_policy(own_project_admin: Api) -> None:
    admin = own_project_admin
    alice, bob = member(admin), member(admin)
    ext, _ = external_network(admin)
    r = router(alice, name="alice-router", external_gateway_info={"network_id": ext["id"]})
    assert r["external_gateway_info"]["network_id"] == ext["id"]
    assert "ha" not in r and "distributed" not in r  # admin-only fields
    assert [x["id"] for x in alice.get("routers").json()["routers"]] == [r["id"]]
    assert bob.get("routers").json()["routers"] == []
    assert_error(bob.get(f"routers/{r['id']}"), 404, "RouterNotFound")
    assert_error(bob.put(f"routers/{r['id']}", {"router": {"name": "x"}}), 404,
                 "RouterNotFound")
    net, subnet = project_network(bob)
    assert_error(add_interface(bob, r["id"], subnet_id=subnet["id"]), 404, "RouterNotFound")
    assert_error(add_interface(alice, r["id"], subnet_id=subnet["id"]), 404,
                 "SubnetNotFound")
    response = alice.post("routers", {"router": {"external_gateway_info": {
        "network_id": ext["id"], "enable_snat": False}}})
    assert_error(response, 403, "PolicyNotAuthorized")
    assert_error(alice.post("routers", {"router": {"ha": True}}), 403,
                 "PolicyNotAuthorized")
    assert_error(admin.post("routers", {"router": {"distributed": True}}), 400,
                 "BadRequest")
    assert_error(admin.post("routers", {"router": {"flavor_id": UNKNOWN}}), 404,
                 "FlavorNotFound")
    assert_error(admin.post("routers", {"router": {"availability_zone_hints": ["nowhere"]}}),
                 404, "AvailabilityZoneNotFound",
                 "AvailabilityZone nowhere could not be found.")


def test_quota(own_project_admin: Api) -> None:
    api = member(own_project_admin)
    for _ in range(10):
        router(api)
    assert_error(api.post("routers", {"router": {}}), 409, "OverQuota",
                 "Quota exceeded for resources: ['router'].")
    project = api.client.headers["X-Project-Id"]
    details = own_project_admin.get(f"quotas/{project}/details").json()["quota"]
    assert details["router"] == {"limit": 10, "used": 10, "reserved": 0}
    assert details["floatingip"]["limit"] == 50


def test_gateway_and_interface_overlap_refused(own_project_admin: Api) -> None:
    api = own_project_admin
    cidr = unique_cidr()
    ext, _ = external_network(api, cidr)
    _, subnet = project_network(api, cidr)
    r = router(api)
    assert add_interface(api, r["id"], subnet_id=subnet["id"]).status_code == 200
    response = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": {
        "network_id": ext["id"]}}})
    assert_error(response, 400, "BadRequest")
    assert api.get(f"routers/{r['id']}").json()["router"]["external_gateway_info"] is None


def test_topology_helper(own_project_admin: Api) -> None:
    t = topology(own_project_admin, own_project_admin)
    shown = own_project_admin.get(f"routers/{t['router']['id']}").json()["router"]
    assert shown["external_gateway_info"]["network_id"] == t["ext"]["id"]


def test_tags(own_project_admin: Api) -> None:
    api = own_project_admin
    r = router(api, tags=["red"])
    assert r["tags"] == ["red"]
    assert api.put(f"routers/{r['id']}/tags/blue").status_code == 201
    assert api.get(f"routers/{r['id']}").json()["router"]["tags"] == ["blue", "red"]
    listed = api.get(f"routers?tags=blue&id={r['id']}").json()["routers"]
    assert [x["id"] for x in listed] == [r["id"]]


def test_remove_by_subnet_keeps_the_ports_other_addresses(own_project_admin: Api) -> None:
    """A router port on two subnets: removing one subnet takes only its address (the
    port stays an interface); removing the last one deletes the port (upstream)."""
    api = own_project_admin
    net, v4 = project_network(api)
    v6 = api.subnet(net["id"], "2001:db8:1234::/64")
    port = api.port(net["id"], fixed_ips=[{"subnet_id": v4["id"]},
                                          {"subnet_id": v6["id"]}])
    r = router(api)
    added = add_interface(api, r["id"], port_id=port["id"])
    assert added.status_code == 200, added.text
    assert added.json()["subnet_ids"] == sorted([v4["id"], v6["id"]])
    response = remove_interface(api, r["id"], subnet_id=v6["id"])
    assert response.status_code == 200, response.text
    assert response.json() == {"id": r["id"], "project_id": r["project_id"],
                               "port_id": port["id"], "network_id": net["id"],
                               "subnet_id": v6["id"], "subnet_ids": [v6["id"]]}
    kept = api.get(f"ports/{port['id']}").json()["port"]
    assert [ip["subnet_id"] for ip in kept["fixed_ips"]] == [v4["id"]]
    assert (kept["device_owner"], kept["device_id"]) == ("network:router_interface",
                                                         r["id"])
    assert kept["revision_number"] > port["revision_number"]
    # The freed subnet can be attached again, and the address is free again.
    assert_error(remove_interface(api, r["id"], subnet_id=v6["id"]), 404,
                 "RouterInterfaceNotFoundForSubnet")
    response = remove_interface(api, r["id"], subnet_id=v4["id"])
    assert response.status_code == 200, response.text
    assert response.json()["subnet_ids"] == [v4["id"]]
    assert api.get(f"ports/{port['id']}").status_code == 404
    assert api.delete(f"routers/{r['id']}").status_code == 204


def test_router_port_owner_of_another_projects_router(own_project_admin: Api) -> None:
    """Upstream's DeviceIDNotOwnedByTenant: a project cannot make its port an
    interface of another project's router (create or update); changing its own
    router port's device_owner is not refused (upstream neither)."""
    admin = own_project_admin
    theirs = router(admin)
    user = member(admin)
    net, subnet = project_network(user)
    response = user.post("ports", {"port": {
        "network_id": net["id"], "device_owner": "network:router_interface",
        "device_id": theirs["id"]}})
    assert_error(response, 409, "DeviceIDNotOwnedByTenant",
                 f"The following device_id {theirs['id']} is not owned by your tenant "
                 "or matches another tenants router.")
    port = user.port(net["id"])
    response = user.put(f"ports/{port['id']}", {"port": {
        "device_owner": "network:router_interface", "device_id": theirs["id"]}})
    assert_error(response, 409, "DeviceIDNotOwnedByTenant")
    unchanged = user.get(f"ports/{port['id']}").json()["port"]
    assert (unchanged["device_owner"], unchanged["device_id"]) == ("", "")
    mine = router(user)
    assert add_interface(user, mine["id"], subnet_id=subnet["id"]).status_code == 200
    [interface] = user.get(f"ports?device_id={mine['id']}").json()["ports"]
    response = user.put(f"ports/{interface['id']}", {"port": {"name": "renamed"}})
    assert response.status_code == 200, response.text
    # An administrator may name any router.
    response = admin.put(f"ports/{port['id']}", {"port": {
        "device_owner": "network:router_interface", "device_id": theirs["id"]}})
    assert response.status_code == 200, response.text
