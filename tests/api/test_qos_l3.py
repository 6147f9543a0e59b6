"""QoS on floating IPs (qos-fip) and router gateways (qos-gateway-ip) over HTTP:
qos_policy_id set, shown, changed and cleared; a policy the caller may not use is
not found; a policy in use cannot be deleted; the bindings go with their objects."""

from __future__ import annotations

import uuid

from l3_setup import external_network, floatingip, router, topology

from server import Api, assert_error


def policy(api: Api, **attrs: object) -> dict:
    response = api.post("qos/policies", {"policy": attrs})
    assert response.status_code == 201, response.text
    made = response.json()["policy"]
    response = api.post(f"qos/policies/{made['id']}/bandwidth_limit_rules",
                        {"bandwidth_limit_rule": {"max_kbps": 1000}})
    assert response.status_code == 201, response.text
    return made


def test_extensions_listed(api: Api) -> None:
    aliases = {e["alias"] for e in api.get("extensions").json()["extensions"]}
    assert {"qos-fip", "qos-gateway-ip"} <= aliases


def test_floating_ip_policy(own_project_admin: Api) -> None:
    api = own_project_admin
    topo = topology(api, api)
    gold, silver = policy(api, name="gold"), policy(api, name="silver")
    fip = floatingip(api, topo["ext"]["id"], qos_policy_id=gold["id"])
    assert fip["qos_policy_id"] == gold["id"]
    assert api.get(f"floatingips/{fip['id']}").json()["floatingip"]["qos_policy_id"] == \
        gold["id"]
    plain = floatingip(api, topo["ext"]["id"])
    assert plain["qos_policy_id"] is None
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {
        "qos_policy_id": silver["id"]}})
    assert response.status_code == 200, response.text
    assert response.json()["floatingip"]["qos_policy_id"] == silver["id"]
    # the association is untouched by a policy change, and the reverse
    vm = api.port(topo["net"]["id"])
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": vm["id"]}})
    assert response.json()["floatingip"]["qos_policy_id"] == silver["id"]
    assert_error(api.delete(f"qos/policies/{silver['id']}"), 409, "QosPolicyInUse")
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {"qos_policy_id": None}})
    assert response.json()["floatingip"]["qos_policy_id"] is None
    assert response.json()["floatingip"]["port_id"] == vm["id"]
    assert api.delete(f"qos/policies/{silver['id']}").status_code == 204
    # malformed and unknown policies
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {"qos_policy_id": "x"}})
    assert_error(response, 400, "HTTPBadRequest")
    missing = str(uuid.uuid4())
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {
        "qos_policy_id": missing}})
    assert_error(response, 404, "QosPolicyNotFound", f"QoS policy {missing} could not be "
                 "found.")
    # deleting the floating IP frees the policy
    used = floatingip(api, topo["ext"]["id"], qos_policy_id=gold["id"])
    assert_error(api.delete(f"qos/policies/{gold['id']}"), 409, "QosPolicyInUse")
    assert api.delete(f"floatingips/{used['id']}").status_code == 204
    assert api.delete(f"qos/policies/{gold['id']}").status_code == 204


def test_a_project_uses_its_own_or_shared_policies(api: Api) -> None:
    admin_project = api.as_project(f"p-{uuid.uuid4().hex}", ["admin"])
    private = policy(admin_project, name="private")
    shared = policy(admin_project, name="shared", shared=True)
    user = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    ext, _ = external_network(api)
    response = user.post("floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "qos_policy_id": private["id"]}})
    assert_error(response, 404, "QosPolicyNotFound")
    fip = floatingip(user, ext["id"], qos_policy_id=shared["id"])
    assert fip["qos_policy_id"] == shared["id"]
    assert user.delete(f"floatingips/{fip['id']}").status_code == 204


def test_router_gateway_policy(own_project_admin: Api) -> None:
    api = own_project_admin
    ext, _ = external_network(api)
    gold, silver = policy(api, name="gold"), policy(api, name="silver")
    r = router(api, external_gateway_info={"network_id": ext["id"],
                                           "qos_policy_id": gold["id"]})
    assert r["external_gateway_info"]["qos_policy_id"] == gold["id"]
    plain = router(api, external_gateway_info={"network_id": ext["id"]})
    assert plain["external_gateway_info"]["qos_policy_id"] is None
    response = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": {
        "network_id": ext["id"], "qos_policy_id": silver["id"]}}})
    assert response.status_code == 200, response.text
    info = response.json()["router"]["external_gateway_info"]
    assert info["qos_policy_id"] == silver["id"] and info["external_fixed_ips"]
    assert_error(api.delete(f"qos/policies/{silver['id']}"), 409, "QosPolicyInUse")
    # the gateway info given again without the key keeps the policy
    response = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": {
        "network_id": ext["id"], "enable_snat": False}}})
    assert response.json()["router"]["external_gateway_info"]["qos_policy_id"] == \
        silver["id"]
    response = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": {
        "network_id": ext["id"], "qos_policy_id": str(uuid.uuid4())}}})
    assert_error(response, 404, "QosPolicyNotFound")
    # clearing the gateway clears its policy
    response = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": {}}})
    assert response.status_code == 200, response.text
    assert api.delete(f"qos/policies/{silver['id']}").status_code == 204
    response = api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": {
        "network_id": ext["id"]}}})
    assert response.json()["router"]["external_gateway_info"]["qos_policy_id"] is None
    assert api.delete(f"routers/{r['id']}").status_code == 204
