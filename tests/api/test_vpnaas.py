"""VPNaaS (vpnaas, vpn-endpoint-groups) over HTTP against every backend: IKE and
IPsec policies, VPN services on routers, endpoint groups, IPsec site connections in
both modes (a service's subnet with peer_cidrs; endpoint groups), upstream's defaults,
checks and errors. The agents' status reports: tests/rpc/test_vpnaas_rpc.py."""

from __future__ import annotations

import uuid
from pathlib import Path

from l3_setup import external_network, project_network, topology, unique_cidr

from server import UNKNOWN, Api, assert_error

IKE, IPSEC, SERVICES = "vpn/ikepolicies", "vpn/ipsecpolicies", "vpn/vpnservices"
GROUPS, CONNECTIONS = "vpn/endpoint-groups", "vpn/ipsec-site-connections"
PEER = "198.51.100.7"


def _create(api: Api, path: str, kind: str, **attrs: object) -> dict:
    response = api.post(path, {kind: attrs})
    assert response.status_code == 201, response.text
    return response.json()[kind]


def _policies(api: Api) -> tuple[dict, dict]:
    return (_create(api, IKE, "ikepolicy", name="ike"),
            _create(api, IPSEC, "ipsecpolicy", name="ipsec"))


def _connection(api: Api, **attrs: object) -> object:
    return api.post(CONNECTIONS, {"ipsec_site_connection": {
        "peer_address": PEER, "peer_id": PEER, "psk": "secret", **attrs}})


def test_extensions_listed(api: Api) -> None:
    ext = api.get("extensions/vpnaas").json()["extension"]
    assert (ext["name"], ext["updated"]) == ("VPN service", "2013-05-29T10:00:00-00:00")
    groups = api.get("extensions/vpn-endpoint-groups").json()["extension"]
    assert groups["name"] == "VPN Endpoint Groups"


def test_policies(own_project_admin: Api) -> None:
    api = own_project_admin
    project = api.client.headers["X-Project-Id"]
    ike = _create(api, IKE, "ikepolicy", name="i")
    assert ike == {"id": ike["id"], "name": "i", "description": "",
                   "project_id": project, "tenant_id": project,
                   "auth_algorithm": "sha1", "encryption_algorithm": "aes-128",
                   "lifetime": {"units": "seconds", "value": 3600}, "pfs": "group5",
                   "phase1_negotiation_mode": "main", "ike_version": "v1"}
    ipsec = _create(api, IPSEC, "ipsecpolicy", lifetime={"value": 7200},
                    encryption_algorithm="aes-256-gcm-16", pfs="group14")
    assert {k: ipsec[k] for k in ("transform_protocol", "encapsulation_mode",
                                  "auth_algorithm", "encryption_algorithm", "pfs",
                                  "lifetime")} == {
        "transform_protocol": "esp", "encapsulation_mode": "tunnel",
        "auth_algorithm": "sha1", "encryption_algorithm": "aes-256-gcm-16",
        "pfs": "group14", "lifetime": {"units": "seconds", "value": 7200}}
    for body in ({"auth_algorithm": "md5"}, {"ike_version": "v3"}, {"pfs": "group1"},
                 {"lifetime": {"value": 59}}, {"lifetime": {"units": "minutes"}},
                 {"lifetime": {"bytes": 5}}, {"phase1_negotiation_mode": "quick"}):
        assert api.post(IKE, {"ikepolicy": body}).status_code == 400, body
    for body in ({"transform_protocol": "gre"}, {"encapsulation_mode": "beet"}):
        assert api.post(IPSEC, {"ipsecpolicy": body}).status_code == 400, body
    updated = api.put(f"{IKE}/{ike['id']}", {"ikepolicy": {
        "ike_version": "v2", "lifetime": {"value": 1800}}}).json()["ikepolicy"]
    assert (updated["ike_version"], updated["lifetime"]) == (
        "v2", {"units": "seconds", "value": 1800})
    assert [p["id"] for p in api.get(f"{IKE}?ike_version=v2").json()["ikepolicies"]] == \
        [ike["id"]]
    # Another project sees none of them.
    other = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    assert other.get(IKE).json()["ikepolicies"] == []
    assert_error(other.get(f"{IKE}/{ike['id']}"), 404, "IKEPolicyNotFound",
                 f"IKEPolicy {ike['id']} could not be found")
    reader = api.as_project(project, ["reader"])
    assert [p["id"] for p in reader.get(IPSEC).json()["ipsecpolicies"]] == [ipsec["id"]]
    assert_error(reader.post(IKE, {"ikepolicy": {}}), 403, "PolicyNotAuthorized")
    assert api.delete(f"{IKE}/{ike['id']}").status_code == 204
    assert_error(api.delete(f"{IPSEC}/{UNKNOWN}"), 404, "IPsecPolicyNotFound")
    quotas = api.get(f"quotas/{project}").json()["quota"]
    assert {k: quotas[k] for k in ("vpnservice", "ipsec_site_connection", "ikepolicy",
                                   "ipsecpolicy", "endpoint_group")} == dict.fromkeys(
        ("vpnservice", "ipsec_site_connection", "ikepolicy", "ipsecpolicy",
         "endpoint_group"), 10)


def test_service_and_connection_with_a_subnet(own_project_admin: Api) -> None:
    api = own_project_admin
    topo = topology(api, api)
    router_id, subnet = topo["router"]["id"], topo["subnet"]
    gw_ip = api.get(f"routers/{router_id}").json()["router"][
        "external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    # The router must have a gateway, the subnet be on it.
    bare = api.create("router", name="bare")
    assert_error(api.post(SERVICES, {"vpnservice": {"router_id": bare["id"]}}), 400,
                 "RouterIsNotExternal",
                 f"Router {bare['id']} has no external network gateway set")
    _, elsewhere = project_network(api)
    assert_error(api.post(SERVICES, {"vpnservice": {
        "router_id": router_id, "subnet_id": elsewhere["id"]}}), 400,
        "SubnetIsNotConnectedToRouter")
    assert_error(api.post(SERVICES, {"vpnservice": {"router_id": UNKNOWN}}), 404,
                 "RouterNotFound")
    service = _create(api, SERVICES, "vpnservice", name="vpn", router_id=router_id,
                      subnet_id=subnet["id"])
    assert {k: service[k] for k in ("status", "admin_state_up", "external_v4_ip",
                                    "external_v6_ip", "subnet_id")} == {
        "status": "PENDING_CREATE", "admin_state_up": True, "external_v4_ip": gw_ip,
        "external_v6_ip": None, "subnet_id": subnet["id"]}
    ike, ipsec = _policies(api)
    refs = {"vpnservice_id": service["id"], "ikepolicy_id": ike["id"],
            "ipsecpolicy_id": ipsec["id"]}
    # Upstream's checks, in its order.
    assert_error(_connection(api, **refs), 400, "MissingPeerCidrs")
    group = _create(api, GROUPS, "endpoint_group", type="cidr", endpoints=["10.9.0.0/24"])
    assert_error(_connection(api, **refs, peer_cidrs=["10.9.0.0/24"],
                             peer_ep_group_id=group["id"]), 400, "InvalidEndpointGroup",
                 "Endpoint group peer cannot be specified, when VPN Service has subnet "
                 "specified")
    assert_error(_connection(api, **refs, peer_cidrs=["10.9.0.0/24", "fd00::/64"]), 400,
                 "MixedIPVersionsForPeerCidrs")
    assert_error(_connection(api, **refs, peer_cidrs=["fd00::/64"]), 400,
                 "MixedIPVersionsForIPSecConnection")
    assert_error(_connection(api, **refs, peer_cidrs=["10.9.0.0/24"],
                             dpd={"interval": 60, "timeout": 60}), 400,
                 "IPsecSiteConnectionDpdIntervalValueError",
                 "ipsec_site_connection dpd_timeout is equal to or less than dpd_interval")
    assert_error(_connection(api, **refs, peer_cidrs=["10.9.0.0/24"], mtu=67), 400,
                 "IPsecSiteConnectionMtuError",
                 "ipsec_site_connection MTU 67 is too small for ipv4")
    assert _connection(api, **refs, peer_cidrs=["10.9.0.0/33"]).status_code == 400
    assert _connection(api, **refs, peer_cidrs=["10.9.0.0/24"],
                       dpd={"action": "explode"}).status_code == 400
    assert_error(_connection(api, **refs, peer_cidrs=["10.9.0.0/24"],
                             peer_address="2001:db8::7"), 400,
                 "ExternalNetworkHasNoSubnet",
                 f"Router's {router_id} external network has no IPv6 subnet")
    assert_error(_connection(api, **dict(refs, ikepolicy_id=UNKNOWN),
                             peer_cidrs=["10.9.0.0/24"]), 404, "IKEPolicyNotFound")
    conn = _create(api, CONNECTIONS, "ipsec_site_connection", **refs, name="c",
                   peer_address=PEER, peer_id=PEER, psk="secret",
                   peer_cidrs=["10.9.0.0/24", "10.10.0.0/24"])
    assert {k: conn[k] for k in ("status", "mtu", "initiator", "dpd", "route_mode",
                                 "auth_mode", "peer_cidrs", "local_id",
                                 "local_ep_group_id", "admin_state_up")} == {
        "status": "PENDING_CREATE", "mtu": 1500, "initiator": "bi-directional",
        "dpd": {"action": "hold", "interval": 30, "timeout": 120},
        "route_mode": "static", "auth_mode": "psk",
        "peer_cidrs": ["10.9.0.0/24", "10.10.0.0/24"], "local_id": "",
        "local_ep_group_id": None, "admin_state_up": True}
    listed = api.get(f"{CONNECTIONS}?vpnservice_id={service['id']}").json()
    assert [c["id"] for c in listed["ipsec_site_connections"]] == [conn["id"]]
    # What a connection uses stays while it does; nothing pending is updated.
    assert_error(api.put(f"{IKE}/{ike['id']}", {"ikepolicy": {"pfs": "group14"}}), 409,
                 "IKEPolicyInUse")
    assert_error(api.delete(f"{IPSEC}/{ipsec['id']}"), 409, "IPsecPolicyInUse")
    assert_error(api.delete(f"{SERVICES}/{service['id']}"), 409, "VPNServiceInUse",
                 f"VPNService {service['id']} is still in use")
    assert_error(api.put(f"{CONNECTIONS}/{conn['id']}", {"ipsec_site_connection": {
        "mtu": 1400}}), 400, "VPNStateInvalidToUpdate",
        f"Invalid state PENDING_CREATE of vpnaas resource {conn['id']} for updating")
    assert_error(api.put(f"{SERVICES}/{service['id']}", {"vpnservice": {"name": "x"}}),
                 400, "VPNStateInvalidToUpdate")
    assert_error(api.put(f"routers/{router_id}/remove_router_interface",
                         {"subnet_id": subnet["id"]}), 409, "SubnetInUseByVPNService")
    assert_error(api.delete(f"routers/{router_id}"), 409, "RouterInUse")
    # Once gone, all of it goes.
    assert api.delete(f"{CONNECTIONS}/{conn['id']}").status_code == 204
    assert_error(api.get(f"{CONNECTIONS}/{conn['id']}"), 404,
                 "IPsecSiteConnectionNotFound")
    for path, item in ((SERVICES, service), (IKE, ike), (IPSEC, ipsec), (GROUPS, group)):
        assert api.delete(f"{path}/{item['id']}").status_code == 204, path


def test_endpoint_groups(own_project_admin: Api) -> None:
    api = own_project_admin
    topo = topology(api, api)
    router_id, subnet = topo["router"]["id"], topo["subnet"]
    assert_error(api.post(GROUPS, {"endpoint_group": {"type": "cidr", "endpoints": []}}),
                 400, "MissingEndpointForEndpointGroup")
    assert_error(api.post(GROUPS, {"endpoint_group": {"type": "cidr",
                                                      "endpoints": ["10.0.0.300/24"]}}),
                 400, "InvalidEndpointInEndpointGroup")
    assert_error(api.post(GROUPS, {"endpoint_group": {"type": "subnet",
                                                      "endpoints": [UNKNOWN]}}),
                 400, "NonExistingSubnetInEndpointGroup")
    assert api.post(GROUPS, {"endpoint_group": {"type": "mpls",
                                                "endpoints": ["x"]}}).status_code == 400
    local = _create(api, GROUPS, "endpoint_group", name="local", type="subnet",
                    endpoints=[subnet["id"]])
    peer_cidr = unique_cidr()
    peer = _create(api, GROUPS, "endpoint_group", name="peer", type="cidr",
                   endpoints=[peer_cidr])
    assert (peer["type"], peer["endpoints"]) == ("cidr", [peer_cidr])
    assert api.put(f"{GROUPS}/{peer['id']}", {"endpoint_group": {
        "endpoints": ["10.1.0.0/24"]}}).status_code == 400  # fixed once made
    service = _create(api, SERVICES, "vpnservice", router_id=router_id)
    assert service["subnet_id"] is None
    ike, ipsec = _policies(api)
    refs = {"vpnservice_id": service["id"], "ikepolicy_id": ike["id"],
            "ipsecpolicy_id": ipsec["id"]}
    assert_error(_connection(api, **refs, peer_cidrs=[peer_cidr]), 400,
                 "PeerCidrsInvalid")
    assert_error(_connection(api, **refs), 400, "MissingRequiredEndpointGroup",
                 "Missing endpoint groups local and peer for IPSec site-to-site "
                 "connection")
    assert_error(_connection(api, **refs, local_ep_group_id=peer["id"],
                             peer_ep_group_id=peer["id"]), 400, "WrongEndpointGroupType",
                 f"Endpoint group {peer['id']} type is 'cidr' and should be 'subnet'")
    _, elsewhere = project_network(api)
    off_router = _create(api, GROUPS, "endpoint_group", type="subnet",
                         endpoints=[elsewhere["id"]])
    assert_error(_connection(api, **refs, local_ep_group_id=off_router["id"],
                             peer_ep_group_id=peer["id"]), 400,
                 "SubnetIsNotConnectedToRouter")
    conn = _create(api, CONNECTIONS, "ipsec_site_connection", **refs,
                   local_ep_group_id=local["id"], peer_ep_group_id=peer["id"],
                   peer_address=PEER, peer_id="@peer", psk="secret", mtu=1400)
    assert (conn["peer_cidrs"], conn["local_ep_group_id"], conn["mtu"]) == (
        [], local["id"], 1400)
    assert_error(api.delete(f"{GROUPS}/{local['id']}"), 400, "EndpointGroupInUse")
    assert_error(api.put(f"routers/{router_id}/remove_router_interface",
                         {"subnet_id": subnet["id"]}), 409,
                 "SubnetInUseByIPsecSiteConnection")
    assert_error(api.delete(f"subnets/{elsewhere['id']}"), 409,
                 "SubnetInUseByEndpointGroup")
    assert api.delete(f"{CONNECTIONS}/{conn['id']}").status_code == 204
    for group in (local, peer, off_router):
        assert api.delete(f"{GROUPS}/{group['id']}").status_code == 204


def test_other_projects_objects_are_not_found(own_project_admin: Api) -> None:
    api = own_project_admin
    ext, _ = external_network(api)
    member = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    r = member.create("router", external_gateway_info={"network_id": ext["id"]})
    theirs = _create(api, IKE, "ikepolicy")
    service = _create(member, SERVICES, "vpnservice", router_id=r["id"])
    assert service["status"] == "PENDING_CREATE"
    ipsec = _create(member, IPSEC, "ipsecpolicy")
    assert_error(_connection(member, vpnservice_id=service["id"],
                             ikepolicy_id=theirs["id"], ipsecpolicy_id=ipsec["id"]),
                 404, "IKEPolicyNotFound")
    # Another project's router is not found either.
    stranger = api.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    assert_error(stranger.post(SERVICES, {"vpnservice": {"router_id": r["id"]}}), 404,
                 "RouterNotFound")
    assert_error(stranger.delete(f"{SERVICES}/{service['id']}"), 404,
                 "VPNServiceNotFound")
    assert member.delete(f"{SERVICES}/{service['id']}").status_code == 204


def test_left_out_without_its_service_plugin(tmp_path: Path) -> None:
    """service_plugins without vpnaas: no alias, routes, quotas or RPC topic (a
    server in this process, on SQLite: only what is composed matters)."""
    from falcon import testing

    from neutrino import conf as conf_mod
    from neutrino.api.app import create_app
    from neutrino.core import build_core
    from neutrino.db import migrate
    from neutrino.db.engine import Database
    from neutrino.rpc.server import endpoints_for

    conf = conf_mod.new_conf([])
    conf.set_override("state_path", str(tmp_path))
    conf.set_override("service_plugins", [])
    db = Database(f"sqlite:///{tmp_path / 'neutrino.sqlite'}")
    try:
        migrate.upgrade(db)
        core = build_core(conf, db)
        client = testing.TestClient(create_app(core))
        aliases = {e["alias"] for e in client.simulate_get("/v2.0/extensions").json[
            "extensions"]}
        assert not aliases & {"vpnaas", "vpn-endpoint-groups"}
        assert client.simulate_get("/v2.0/extensions/vpnaas").status_code == 404
        assert client.simulate_get(f"/v2.0/{SERVICES}").status_code == 404
        assert "vpnservice" not in client.simulate_get("/v2.0/quotas/p1").json["quota"]
        assert "ipsec_driver" not in endpoints_for(conf, db, core)
    finally:
        db.engine.dispose()
