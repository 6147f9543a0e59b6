"""Load balancing (issue 16): the Octavia v2 API over HTTP, with the noop provider
(nothing runs; the dataplane test drives the haproxy one)."""

from __future__ import annotations

import random
import uuid

import pytest

from server import Api, ServerProcess

LB = "/v2/lbaas"


@pytest.fixture
def member(server: ServerProcess, backend: str) -> Api:
    return Api(server.url, backend=backend).as_project(f"p-{uuid.uuid4().hex}", ["member"])


def _subnet(api: Api) -> dict:
    net = api.network(name="lb-net")
    return api.subnet(net["id"], f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.0/24")


def _ok(response, status: int = 201) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    return response.json()


def _fault(response, status: int, text: str) -> None:  # noqa: ANN001
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"faultcode", "faultstring", "debuginfo"}, body
    assert text in body["faultstring"], body
    assert body["debuginfo"] is None


def test_load_balancer_lifecycle_and_status_tree(member: Api, api: Api) -> None:
    subnet = _subnet(member)
    lb = _ok(member.post(f"{LB}/loadbalancers", {"loadbalancer": {
        "name": "web", "vip_subnet_id": subnet["id"], "provider": "noop"}}))["loadbalancer"]
    assert lb["provisioning_status"] == "PENDING_CREATE"
    assert lb["operating_status"] == "OFFLINE"
    assert lb["vip_network_id"] == subnet["network_id"] and lb["listeners"] == []
    port = _ok(member.get(f"ports/{lb['vip_port_id']}"), 200)["port"]
    assert port["device_owner"] == "Octavia"
    assert port["fixed_ips"][0]["ip_address"] == lb["vip_address"]
    got = _ok(member.get(f"{LB}/loadbalancers/{lb['id']}"), 200)["loadbalancer"]
    assert (got["provisioning_status"], got["operating_status"]) == ("ACTIVE", "ONLINE")

    listener = _ok(member.post(f"{LB}/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80}}))["listener"]
    assert listener["connection_limit"] == -1 and listener["timeout_client_data"] == 50000
    _fault(member.post(f"{LB}/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 80}}), 409,
        "already using protocol_port 80")
    pool = _ok(member.post(f"{LB}/pools", {"pool": {
        "listener_id": listener["id"], "protocol": "HTTP",
        "lb_algorithm": "ROUND_ROBIN"}}))["pool"]
    assert pool["listeners"] == [{"id": listener["id"]}]
    members = [_ok(member.post(f"{LB}/pools/{pool['id']}/members", {"member": {
        "address": f"192.0.2.{n}", "protocol_port": 8080}}))["member"] for n in (1, 2)]
    assert members[0]["weight"] == 1 and members[0]["backup"] is False
    _fault(member.post(f"{LB}/pools/{pool['id']}/members", {"member": {
        "address": "192.0.2.1", "protocol_port": 8080}}), 409, "already using ip")
    hm = _ok(member.post(f"{LB}/healthmonitors", {"healthmonitor": {
        "pool_id": pool["id"], "type": "HTTP", "delay": 2, "timeout": 1,
        "max_retries": 2}}))["healthmonitor"]
    assert (hm["http_method"], hm["url_path"], hm["expected_codes"],
            hm["max_retries_down"]) == ("GET", "/", "200", 3)
    policy = _ok(member.post(f"{LB}/l7policies", {"l7policy": {
        "listener_id": listener["id"], "action": "REDIRECT_TO_URL",
        "redirect_url": "http://example.com/"}}))["l7policy"]
    assert policy["position"] == 1 and policy["redirect_http_code"] == 302
    rule = _ok(member.post(f"{LB}/l7policies/{policy['id']}/rules", {"rule": {
        "type": "PATH", "compare_type": "STARTS_WITH", "value": "/old"}}))["rule"]
    assert rule["invert"] is False

    tree = _ok(member.get(f"{LB}/loadbalancers/{lb['id']}/status"), 200)["statuses"]
    [tl] = tree["loadbalancer"]["listeners"]
    [tp] = tl["pools"]
    assert tp["health_monitor"]["id"] == hm["id"]
    assert {m["address"] for m in tp["members"]} == {"192.0.2.1", "192.0.2.2"}
    # Checked by a monitor the noop provider never runs: not up.
    assert {m["operating_status"] for m in tp["members"]} == {"OFFLINE"}
    assert tree["loadbalancer"]["provisioning_status"] == "ACTIVE"

    listed = _ok(member.get(f"{LB}/pools/{pool['id']}/members",
                            params={"address": "192.0.2.2", "fields": "id,address"}), 200)
    assert listed["members"] == [{"id": members[1]["id"], "address": "192.0.2.2"}]
    assert _ok(member.get(f"{LB}/loadbalancers/{lb['id']}"), 200)["loadbalancer"][
        "pools"] == [{"id": pool["id"]}]
    # Another project sees none of it; the admin does.
    other = member.as_project(f"p-{uuid.uuid4().hex}", ["member"])
    _fault(other.get(f"{LB}/loadbalancers/{lb['id']}"), 404,
           f"Load Balancer {lb['id']} could not be found.")
    assert other.get(f"{LB}/loadbalancers").json()["loadbalancers"] == []
    assert _ok(api.get(f"{LB}/listeners/{listener['id']}"), 200)["listener"]["id"]

    _fault(member.delete(f"{LB}/loadbalancers/{lb['id']}"), 400, "it has children")
    assert member.delete(f"{LB}/pools/{pool['id']}/members/{members[0]['id']}"
                         ).status_code == 204
    assert member.get(f"{LB}/pools/{pool['id']}/members/{members[0]['id']}"
                      ).status_code == 404
    assert member.delete(f"{LB}/loadbalancers/{lb['id']}",
                         params={"cascade": "true"}).status_code == 204
    _fault(member.get(f"{LB}/pools/{pool['id']}"), 404, "could not be found")
    assert member.get(f"ports/{lb['vip_port_id']}").status_code == 404


def test_validation_and_policy(member: Api) -> None:
    subnet = _subnet(member)
    _fault(member.post(f"{LB}/loadbalancers", {"loadbalancer": {"name": "x"}}), 400,
           "vip_subnet_id")
    _fault(member.post(f"{LB}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet["id"], "bogus": 1}}), 400, "bogus")
    _fault(member.post(f"{LB}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": "nope"}}), 400, "Value should be UUID format")
    _fault(member.post(f"{LB}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet["id"], "provider": "amphora"}}), 400,
        "Provider 'amphora' is not enabled.")
    lb = _ok(member.post(f"{LB}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet["id"], "provider": "noop"}}))["loadbalancer"]
    _fault(member.post(f"{LB}/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "FTP", "protocol_port": 21}}), 400,
        "Invalid input for field/attribute protocol. Value: 'FTP'.")
    _fault(member.post(f"{LB}/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "TCP"}}), 400,
        "protocol_port. Value: 'Unset'. Mandatory field missing.")
    pool = _ok(member.post(f"{LB}/pools", {"pool": {
        "loadbalancer_id": lb["id"], "protocol": "TCP",
        "lb_algorithm": "LEAST_CONNECTIONS"}}))["pool"]
    _fault(member.post(f"{LB}/healthmonitors", {"healthmonitor": {
        "pool_id": pool["id"], "type": "TCP", "delay": 1, "timeout": 5,
        "max_retries": 1}}), 400, "timeout must be less than or equal")
    _fault(member.post(f"{LB}/healthmonitors", {"healthmonitor": {
        "pool_id": pool["id"], "type": "TCP", "delay": 5, "timeout": 1,
        "max_retries": 1, "url_path": "/x"}}), 400, "url_path is not a valid option")
    _fault(member.put(f"{LB}/pools/{pool['id']}", {"pool": {"protocol": "HTTP"}}), 400,
           "protocol")
    updated = _ok(member.put(f"{LB}/pools/{pool['id']}", {"pool": {"name": "renamed"}}),
                  200)["pool"]
    assert updated["name"] == "renamed"
    _fault(member.post(f"{LB}/pools", "garbage"), 400, "no 'pool' object")
    reader = Api(member.base_url, backend=member.backend).as_project(
        member.client.headers["X-Project-Id"], ["reader"])
    assert reader.get(f"{LB}/pools/{pool['id']}").status_code == 200
    _fault(reader.put(f"{LB}/pools/{pool['id']}", {"pool": {"name": "no"}}), 403,
           "Policy does not allow")
    # The haproxy provider needs an alive load balancer agent: none here.
    _fault(member.post(f"{LB}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet["id"], "provider": "haproxy"}}), 503, "no load balancer agent")
    assert member.delete(f"{LB}/loadbalancers/{lb['id']}",
                         params={"cascade": "true"}).status_code == 204


def test_quotas(member: Api, api: Api) -> None:
    project = member.client.headers["X-Project-Id"]
    defaults = _ok(api.get(f"{LB}/quotas/defaults"), 200)["quota"]
    assert defaults["load_balancer"] == defaults["loadbalancer"] == -1
    _fault(member.put(f"{LB}/quotas/{project}", {"quota": {"load_balancer": 1}}), 403,
           "Policy does not allow")
    set_to = _ok(api.put(f"{LB}/quotas/{project}", {"quota": {"loadbalancer": 1}}), 202)
    assert set_to["quota"]["load_balancer"] == 1
    _fault(api.put(f"{LB}/quotas/{project}", {"quota": {"load_balancer": "x"}}), 400,
           "load_balancer")
    assert _ok(member.get(f"{LB}/quotas/{project}"), 200)["quota"]["load_balancer"] == 1
    subnet = _subnet(member)
    body = {"loadbalancer": {"vip_subnet_id": subnet["id"], "provider": "noop"}}
    lb = _ok(member.post(f"{LB}/loadbalancers", body))["loadbalancer"]
    _fault(member.post(f"{LB}/loadbalancers", body), 403, "Quota has been met")
    assert project in {q["project_id"] for q in api.get(f"{LB}/quotas").json()["quotas"]}
    assert api.delete(f"{LB}/quotas/{project}").status_code == 202
    assert member.delete(f"{LB}/loadbalancers/{lb['id']}").status_code == 204
