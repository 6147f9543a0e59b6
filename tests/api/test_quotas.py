"""/v2.0/quotas: limits, defaults, usage details, enforcement (transcripts 048-050,
keystone/021-022).

Every registered resource is reported, as upstream does (upstream also has
router_route, which is not implemented here).

Unknown resource keys in PUT answer 400 "Unrecognized attribute(s) 'foo'" — the quota
body is validated against the registered resources as any other resource body is
(transcript 055), which is what upstream's quota extension does.
"""

from __future__ import annotations

import uuid

import pytest

from server import Api, error_of

DEFAULTS = {"network": 100, "subnet": 100, "subnetpool": -1, "port": 500, "router": 10,
            "floatingip": 50, "rbac_policy": 10, "security_group": 10,
            "security_group_rule": 100,
            # FWaaS v2 (issue 16), with its service plugin (on by default)
            "firewall_group": 10, "firewall_policy": 10, "firewall_rule": 100,
            # VPNaaS (issue 16), with its service plugin (on in the tests' servers)
            "vpnservice": 10, "ipsec_site_connection": 10, "ikepolicy": 10,
            "ipsecpolicy": 10, "endpoint_group": 10}


def project() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def pid() -> str:
    return project()


def quota(api: Api, pid: str, suffix: str = "") -> dict:
    response = api.get(f"quotas/{pid}{suffix}")
    assert response.status_code == 200, response.text
    return response.json()["quota"]


def test_show_defaults(api: Api, pid: str) -> None:
    assert quota(api, pid) == DEFAULTS
    assert quota(api, pid, "/default") == DEFAULTS


def test_details_count_usage(api: Api, pid: str) -> None:
    assert quota(api, pid, "/details") == {
        name: {"limit": limit, "used": 0, "reserved": 0} for name, limit in DEFAULTS.items()}
    member = api.as_project(pid)
    net = member.network()
    member.network()
    member.subnet(net["id"], "10.0.0.0/24")
    member.port(net["id"])
    member.port(net["id"])
    member.port(net["id"])
    details = quota(member, pid, "/details")
    # (security_group usage is the project's default group, if a port made it.)
    assert {k: details[k] for k in ("network", "subnet", "port")} == {
        "network": {"limit": 100, "used": 2, "reserved": 0},
        "subnet": {"limit": 100, "used": 1, "reserved": 0},
        "port": {"limit": 500, "used": 3, "reserved": 0}}


def test_update_show_and_reset(api: Api, pid: str) -> None:
    response = api.put(f"quotas/{pid}", {"quota": {"network": 7, "port": -1}})
    assert response.status_code == 200, response.text
    changed = {**DEFAULTS, "network": 7, "port": -1}
    assert response.json() == {"quota": changed}
    assert quota(api, pid) == changed
    assert quota(api, pid, "/default") == DEFAULTS
    assert quota(api, pid, "/details")["network"] == {"limit": 7, "used": 0, "reserved": 0}
    # Updating again changes only what is given.
    assert api.put(f"quotas/{pid}", {"quota": {"subnet": "3"}}).json()["quota"] == dict(
        changed, subnet=3)
    listed = {q["project_id"]: q for q in api.get("quotas").json()["quotas"]}
    assert listed[pid] == dict(changed, subnet=3, project_id=pid, tenant_id=pid)
    response = api.delete(f"quotas/{pid}")
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert quota(api, pid) == DEFAULTS
    assert pid not in {q["project_id"] for q in api.get("quotas").json()["quotas"]}
    # Deleting a project without quotas is fine too.
    assert api.delete(f"quotas/{pid}").status_code == 204


def test_member_reads_own_quota_only(api: Api, pid: str) -> None:
    member = api.as_project(pid)
    assert quota(member, pid) == DEFAULTS
    assert quota(member, pid, "/default") == DEFAULTS
    assert quota(member, pid, "/details")["network"]["limit"] == 100
    other = project()
    for suffix in ("", "/default", "/details"):
        response = member.get(f"quotas/{other}{suffix}")
        assert response.status_code == 403, (suffix, response.text)
        assert error_of(response) == {
            "type": "PolicyNotAuthorized",
            "message": "rule:get_quota is disallowed by policy", "detail": ""}
    response = member.get("quotas")
    assert response.status_code == 403, response.text
    assert error_of(response)["type"] == "PolicyNotAuthorized"


def test_member_cannot_update_or_delete(api: Api, pid: str) -> None:
    member = api.as_project(pid)
    response = member.put(f"quotas/{pid}", {"quota": {"network": 1000}})
    assert response.status_code == 403, response.text
    assert error_of(response) == {"type": "PolicyNotAuthorized",
                                  "message": "rule:update_quota is disallowed by policy",
                                  "detail": ""}
    response = member.delete(f"quotas/{pid}")
    assert response.status_code == 403, response.text
    assert error_of(response)["message"] == "rule:delete_quota is disallowed by policy"
    assert quota(api, pid) == DEFAULTS


def test_current_project_shortcut(api: Api, pid: str) -> None:
    member = api.as_project(pid)
    assert member.get("quotas/tenant").json() == {"tenant": {"tenant_id": pid}}
    assert member.get("quotas/project").json() == {"project": {"project_id": pid}}


@pytest.mark.parametrize("value", ["abc", 1.5, None, [], {}, True])
def test_invalid_value_is_400(api: Api, pid: str, value: object) -> None:
    response = api.put(f"quotas/{pid}", {"quota": {"network": value}})
    assert response.status_code == 400, response.text
    assert error_of(response)["type"] in ("InvalidInput", "HTTPBadRequest")
    assert quota(api, pid) == DEFAULTS


@pytest.mark.parametrize("value", [-2, -100, 2**31])
def test_out_of_range_value_is_400(api: Api, pid: str, value: int) -> None:
    response = api.put(f"quotas/{pid}", {"quota": {"network": value}})
    assert response.status_code == 400, response.text
    err = error_of(response)
    assert err["type"] == "HTTPBadRequest"
    assert err["message"].startswith("Invalid input for network. Reason: ")
    assert quota(api, pid) == DEFAULTS


def test_unknown_resource_is_400(api: Api, pid: str) -> None:
    response = api.put(f"quotas/{pid}", {"quota": {"network": 5, "bogus": 1}})
    assert response.status_code == 400, response.text
    assert error_of(response) == {"type": "HTTPBadRequest",
                                  "message": "Unrecognized attribute(s) 'bogus'",
                                  "detail": ""}
    assert quota(api, pid) == DEFAULTS


@pytest.mark.parametrize("body", [{}, {"quotas": {}}, {"quota": 5}, [], "x"])
def test_bad_body_is_400(api: Api, pid: str, body: object) -> None:
    response = api.put(f"quotas/{pid}", body)
    assert response.status_code == 400, response.text
    assert error_of(response)["type"] == "HTTPBadRequest"


def test_over_quota_is_409_and_creates_nothing(api: Api, pid: str) -> None:
    api.put(f"quotas/{pid}", {"quota": {"network": 1, "port": 1}})
    member = api.as_project(pid)
    net = member.network()
    response = member.post("networks", {"network": {"name": "too-many"}})
    assert response.status_code == 409, response.text
    assert error_of(response) == {"type": "OverQuota",
                                  "message": "Quota exceeded for resources: ['network'].",
                                  "detail": ""}
    member.port(net["id"])
    response = member.post("ports", {"port": {"network_id": net["id"]}})
    assert response.status_code == 409, response.text
    assert error_of(response)["message"] == "Quota exceeded for resources: ['port']."
    assert len(member.get("networks", params={"project_id": pid}).json()["networks"]) == 1
    assert len(member.get("ports", params={"project_id": pid}).json()["ports"]) == 1
    # Admin creating on behalf of the project is limited the same way.
    response = api.post("networks", {"network": {"project_id": pid}})
    assert response.status_code == 409, response.text
    # Raising the limit lets it through.
    api.put(f"quotas/{pid}", {"quota": {"network": 2}})
    assert member.post("networks", {"network": {}}).status_code == 201


def test_zero_quota(api: Api, pid: str) -> None:
    api.put(f"quotas/{pid}", {"quota": {"network": 0}})
    response = api.as_project(pid).post("networks", {"network": {}})
    assert response.status_code == 409, response.text


def test_unlimited(api: Api, pid: str) -> None:
    api.put(f"quotas/{pid}", {"quota": {"subnet": -1, "network": 1}})
    member = api.as_project(pid)
    net = member.network()
    for i in range(3):
        member.subnet(net["id"], f"10.{i}.0.0/24")
    assert quota(member, pid, "/details")["subnet"] == {"limit": -1, "used": 3,
                                                        "reserved": 0}


def test_bulk_over_quota_rejects_the_whole_bulk(api: Api, pid: str) -> None:
    api.put(f"quotas/{pid}", {"quota": {"network": 2}})
    member = api.as_project(pid)
    member.network(name="first")
    response = member.post("networks", {"networks": [{"name": "b1"}, {"name": "b2"}]})
    assert response.status_code == 409, response.text
    assert error_of(response)["type"] == "OverQuota"
    names = {n["name"] for n in member.get("networks", params={"project_id": pid}
                                           ).json()["networks"]}
    assert names == {"first"}
    # A bulk that fits is created whole.
    api.put(f"quotas/{pid}", {"quota": {"network": 3}})
    response = member.post("networks", {"networks": [{"name": "b1"}, {"name": "b2"}]})
    assert response.status_code == 201, response.text
    assert quota(member, pid, "/details")["network"]["used"] == 3


def test_quota_of_other_project_does_not_limit(api: Api, pid: str) -> None:
    api.put(f"quotas/{pid}", {"quota": {"network": 0}})
    other = project()
    assert api.as_project(other).post("networks", {"network": {}}).status_code == 201
    assert quota(api, other, "/details")["network"]["used"] == 1


def test_concurrent_creates_do_not_exceed_quota(api: Api, pid: str, backend: str) -> None:
    from concurrent.futures import ThreadPoolExecutor
    api.put(f"quotas/{pid}", {"quota": {"network": 3}})

    def create(i: int) -> int:
        return api.as_project(pid).post("networks", {"network": {"name": f"c{i}"}}
                                        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(create, range(8)))
    assert sorted(codes) == [201] * 3 + [409] * 5, codes
    assert quota(api, pid, "/details")["network"]["used"] == 3
