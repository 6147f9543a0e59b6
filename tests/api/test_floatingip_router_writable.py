"""floating-ip-router-writable: router_id on floating IP create and update names the
router hosting the floating IP (a router the caller sees, with a gateway on the
floating network), even when it has no interface on the port's subnet (two-router
topologies); without it the directly connected router is used, as before."""

from __future__ import annotations

import uuid

import pytest
from l3_setup import external_network, floatingip, router, unique_cidr

from server import UNKNOWN, Api, assert_error


@pytest.fixture
def api(own_project_admin: Api) -> Api:
    return own_project_admin


def indirect_topology(api: Api, ext_id: str) -> tuple[dict, dict, dict]:
    """project net -- inner router -- transit net -- outer router (gateway on ext).
    Returns (project port, inner router, outer router)."""
    project = api.network()
    project_subnet = api.subnet(project["id"], unique_cidr())
    transit = api.network()
    api.subnet(transit["id"], unique_cidr())
    inner = router(api)
    outer = router(api, external_gateway_info={"network_id": ext_id})
    assert api.put(f"routers/{inner['id']}/add_router_interface",
                   {"subnet_id": project_subnet["id"]}).status_code == 200
    for r in (inner, outer):
        port = api.port(transit["id"])
        assert api.put(f"routers/{r['id']}/add_router_interface",
                       {"port_id": port["id"]}).status_code == 200
    return api.port(project["id"]), inner, outer


def test_extension_listed(api: Api) -> None:
    body = api.get("extensions/floating-ip-router-writable").json()["extension"]
    assert body["name"] == "Floating IP Router (writable)"


def test_create_and_update_with_router(api: Api) -> None:
    ext, _ = external_network(api, unique_cidr())
    port, inner, outer = indirect_topology(api, ext["id"])
    # Not directly connected: without router_id there is no router for it.
    response = api.post("floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "port_id": port["id"]}})
    assert_error(response, 404, "ExternalGatewayForFloatingIPNotFound")
    fip = floatingip(api, ext["id"], port_id=port["id"], router_id=outer["id"])
    assert (fip["router_id"], fip["port_id"]) == (outer["id"], port["id"])
    assert fip["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    shown = api.get(f"floatingips/{fip['id']}").json()["floatingip"]
    assert shown["router_id"] == outer["id"]
    listed = api.get("floatingips", params={"router_id": outer["id"]}).json()
    assert [f["id"] for f in listed["floatingips"]] == [fip["id"]]
    # Disassociate, then associate again through an update naming the router.
    gone = api.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
    assert gone.json()["floatingip"]["router_id"] is None
    again = api.put(f"floatingips/{fip['id']}", {"floatingip": {
        "port_id": port["id"], "router_id": outer["id"]}})
    assert again.status_code == 200, again.text
    assert again.json()["floatingip"]["router_id"] == outer["id"]
    # Back to the directly connected router: there is none.
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {"router_id": None}})
    assert_error(response, 404, "ExternalGatewayForFloatingIPNotFound")
    assert api.get(f"floatingips/{fip['id']}").json()["floatingip"][
        "router_id"] == outer["id"]


def test_router_without_gateway_on_the_floating_network(api: Api) -> None:
    ext, _ = external_network(api, unique_cidr())
    other_ext, _ = external_network(api, unique_cidr())
    port, _, outer = indirect_topology(api, other_ext["id"])
    response = api.post("floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "port_id": port["id"],
        "router_id": outer["id"]}})
    error = assert_error(response, 409, "FloatingIPRouterGatewayMismatch")
    assert outer["id"] in error["message"] and ext["id"] in error["message"]
    fip = floatingip(api, ext["id"])
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {
        "port_id": port["id"], "router_id": outer["id"]}})
    assert_error(response, 409, "FloatingIPRouterGatewayMismatch")
    assert api.get(f"floatingips/{fip['id']}").json()["floatingip"]["port_id"] is None


def test_unknown_or_invisible_router(api: Api) -> None:
    ext, _ = external_network(api, unique_cidr())
    member = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    _, _, outer = indirect_topology(api, ext["id"])
    net = member.network()
    member.subnet(net["id"], unique_cidr())
    port = member.port(net["id"])
    for router_id, status in ((UNKNOWN, 404), (outer["id"], 404)):
        response = member.post("floatingips", {"floatingip": {
            "floating_network_id": ext["id"], "port_id": port["id"],
            "router_id": router_id}})
        assert_error(response, status, "RouterNotFound")
    response = member.post("floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "router_id": "not-a-uuid"}})
    assert_error(response, 400, "HTTPBadRequest")


def test_isolated_port_still_refused(api: Api) -> None:
    ext, _ = external_network(api, unique_cidr())
    net = api.network()
    api.subnet(net["id"], unique_cidr())
    port = api.port(net["id"])
    fip = floatingip(api, ext["id"])
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}})
    assert_error(response, 404, "ExternalGatewayForFloatingIPNotFound")


def test_router_id_without_port_is_checked_not_kept(api: Api) -> None:
    ext, _ = external_network(api, unique_cidr())
    _, _, outer = indirect_topology(api, ext["id"])
    fip = floatingip(api, ext["id"], router_id=outer["id"])
    assert fip["router_id"] is None and fip["port_id"] is None
    assert_error(api.post("floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "router_id": UNKNOWN}}), 404, "RouterNotFound")
