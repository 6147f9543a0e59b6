"""Security group rules over HTTP (transcripts 026, 044, 080, 081, 097)."""

from __future__ import annotations

import pytest

from server import UNKNOWN, Api, error_of


def group(api: Api, **attrs) -> dict:
    response = api.post("security-groups", {"security_group": attrs})
    assert response.status_code == 201, response.text
    return response.json()["security_group"]


def post_rule(api: Api, **attrs):
    return api.post("security-group-rules", {"security_group_rule": attrs})


def rule(api: Api, **attrs) -> dict:
    response = post_rule(api, **attrs)
    assert response.status_code == 201, response.text
    return response.json()["security_group_rule"]


SSH = {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
       "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}


def test_create_shape_and_filter(own_project_admin: Api) -> None:  # 026, 044
    api = own_project_admin
    sg = group(api, name="sg1")
    made = rule(api, security_group_id=sg["id"], **SSH)
    assert made == {
        "id": made["id"], "project_id": sg["project_id"], "security_group_id": sg["id"],
        "ethertype": "IPv4", "direction": "ingress", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0",
        "remote_address_group_id": None, "normalized_cidr": "0.0.0.0/0",
        "remote_group_id": None, "belongs_to_default_sg": False, "description": "",
        "created_at": made["created_at"], "updated_at": made["updated_at"],
        "revision_number": 0, "tenant_id": sg["project_id"]}
    listed = api.get(f"security-group-rules?security_group_id={sg['id']}&direction=ingress")
    assert listed.json() == {"security_group_rules": [made]}
    assert api.get(f"security-group-rules/{made['id']}").json() == {
        "security_group_rule": made}


def test_duplicate(own_project_admin: Api) -> None:  # 080
    api = own_project_admin
    sg = group(api, name="dup")
    made = rule(api, security_group_id=sg["id"], **SSH)
    response = post_rule(api, security_group_id=sg["id"], **SSH)
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "SecurityGroupRuleExists", "detail": "",
        "message": f"Security group rule already exists. Rule id is {made['id']}."}
    # The same rule spelled differently is still the same rule.
    response = post_rule(api, security_group_id=sg["id"], direction="ingress",
                         protocol="6", port_range_min=22, port_range_max=22)
    assert response.status_code == 409
    # Duplicates inside one bulk request.
    response = api.post("security-group-rules", {"security_group_rules": [
        {"security_group_id": sg["id"], "direction": "ingress", "protocol": "udp"},
        {"security_group_id": sg["id"], "direction": "ingress", "protocol": "UDP"}]})
    assert response.status_code == 409
    assert error_of(response)["type"] == "DuplicateSecurityGroupRuleInPost"


@pytest.mark.parametrize(("attrs", "kind", "message"), [
    ({"protocol": "tcp", "port_range_min": 100, "port_range_max": 10},  # 081
     "SecurityGroupInvalidPortRange",
     "For TCP/UDP protocols, port_range_min must be <= port_range_max"),
    ({"protocol": "tcp", "port_range_min": 70000},
     "SecurityGroupInvalidPortValue", "Invalid value for port 70000"),
    ({"protocol": "udp", "port_range_min": 0, "port_range_max": 10},
     "SecurityGroupInvalidPortValue", "Invalid value for port 0"),
    ({"port_range_min": 1, "port_range_max": 2},
     "SecurityGroupProtocolRequiredWithPorts",
     "Must also specify protocol if port range is given."),
    ({"protocol": "icmp", "port_range_min": 256},
     "SecurityGroupInvalidIcmpValue",
     "Invalid value for ICMP type (port_range_min) 256. It must be 0 to 255."),
    ({"protocol": "icmp", "port_range_max": 3},
     "SecurityGroupMissingIcmpType",
     "ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is "
     "missing."),
    ({"remote_ip_prefix": "::/0"}, "SecurityGroupRuleParameterConflict",
     "Conflicting value ethertype IPv4 for CIDR ::/0"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": UNKNOWN},
     "SecurityGroupRemoteGroupAndRemoteIpPrefix",
     "Only remote_ip_prefix or remote_group_id may be provided."),
    ({"remote_ip_prefix": "nonsense"}, "InvalidCIDR",
     "Invalid CIDR nonsense given as IP prefix."),
    ({"ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType",
     "Security group rule for ethertype 'IPv5' not supported. Allowed values are "
     "['IPv4', 'IPv6']."),
    ({"direction": "sideways"}, "HTTPBadRequest",
     "Invalid input for direction. Reason: 'sideways' is not in ['ingress', 'egress']."),
])
def test_invalid(own_project_admin: Api, attrs: dict, kind: str, message: str) -> None:
    api = own_project_admin
    sg = group(api, name="bad")
    body = {"security_group_id": sg["id"], "direction": "ingress", **attrs}
    response = post_rule(api, **body)
    assert response.status_code == 400, response.text
    assert error_of(response) == {"type": kind, "message": message, "detail": ""}


def test_invalid_protocol(own_project_admin: Api) -> None:
    sg = group(own_project_admin, name="p")
    response = post_rule(own_project_admin, security_group_id=sg["id"],
                         direction="ingress", protocol="bogus")
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "SecurityGroupRuleInvalidProtocol"
    assert error["message"].startswith("Security group rule protocol bogus not supported.")


def test_missing_and_unknown_group(own_project_admin: Api) -> None:
    api = own_project_admin
    response = post_rule(api, direction="ingress")
    assert response.status_code == 400
    assert "security_group_id" in error_of(response)["message"]
    response = post_rule(api, security_group_id=UNKNOWN, direction="ingress")
    assert response.status_code == 404
    assert error_of(response) == {"type": "SecurityGroupNotFound", "detail": "",
                                  "message": f"Security group {UNKNOWN} does not exist"}
    sg = group(api, name="r")
    response = post_rule(api, security_group_id=sg["id"], direction="ingress",
                         remote_group_id=UNKNOWN)
    assert response.status_code == 404


def test_remote_group_id_of_any_form_that_is_no_group_is_not_found(
        own_project_admin: Api) -> None:
    """Upstream does not check remote_group_id's form: what is no group is a 404."""
    api = own_project_admin
    sg = group(api, name="remote")
    for remote in ("not-a-uuid", UNKNOWN):
        response = post_rule(api, security_group_id=sg["id"], direction="ingress",
                             remote_group_id=remote)
        assert response.status_code == 404, response.text
        assert error_of(response) == {"type": "SecurityGroupNotFound", "detail": "",
                                      "message": f"Security group {remote} does not exist"}
    rules = api.get(f"security-group-rules?security_group_id={sg['id']}").json()
    assert all(r["remote_group_id"] is None for r in rules["security_group_rules"])


@pytest.mark.parametrize("protocol", ["41", "43", "44", "58", "59", "60", "ipv6-encap",
                                      "ipv6-route", "ipv6-frag", "ipv6-nonxt",
                                      "ipv6-opts", "icmpv6", "ipv6-icmp"])
def test_ipv6_only_protocols_refused_on_ipv4(own_project_admin: Api, protocol: str
                                             ) -> None:
    api = own_project_admin
    sg = group(api, name="v6only")
    response = post_rule(api, security_group_id=sg["id"], direction="ingress",
                         ethertype="IPv4", protocol=protocol)
    assert response.status_code == 400, response.text
    assert error_of(response) == {
        "type": "SecurityGroupEthertypeConflictWithProtocol", "detail": "",
        "message": f"Invalid ethertype IPv4 for protocol {protocol}."}
    made = rule(api, security_group_id=sg["id"], direction="ingress", ethertype="IPv6",
                protocol=protocol)
    assert made["protocol"] == protocol


def test_values_normalised(own_project_admin: Api) -> None:
    api = own_project_admin
    sg = group(api, name="norm")
    made = rule(api, security_group_id=sg["id"], direction="egress", ethertype="ipv6",
                protocol="ICMPv6", remote_ip_prefix="2001:db8::5/64")
    assert (made["ethertype"], made["protocol"], made["remote_ip_prefix"],
            made["normalized_cidr"]) == ("IPv6", "icmpv6", "2001:db8::5/64", "2001:db8::/64")
    host = rule(api, security_group_id=sg["id"], direction="ingress", protocol=17,
                remote_ip_prefix="10.1.2.3")
    assert (host["protocol"], host["remote_ip_prefix"], host["normalized_cidr"]) == (
        "17", "10.1.2.3/32", "10.1.2.3/32")
    anything = rule(api, security_group_id=sg["id"], direction="ingress", protocol="any",
                    ethertype="IPv6")
    assert anything["protocol"] is None
    icmp = rule(api, security_group_id=sg["id"], direction="ingress", protocol="icmp",
                port_range_min=8, port_range_max=0)
    assert (icmp["port_range_min"], icmp["port_range_max"]) == (8, 0)


def test_delete_bumps_group_and_filters(own_project_admin: Api) -> None:  # 097
    api = own_project_admin
    sg = group(api, name="del")
    made = rule(api, security_group_id=sg["id"], **SSH)
    before = api.get(f"security-groups/{sg['id']}").json()["security_group"]
    assert api.delete(f"security-group-rules/{made['id']}").status_code == 204
    after = api.get(f"security-groups/{sg['id']}").json()["security_group"]
    assert after["revision_number"] == before["revision_number"] + 1
    response = api.delete(f"security-group-rules/{made['id']}")
    assert response.status_code == 404
    assert error_of(response) == {"type": "SecurityGroupRuleNotFound", "detail": "",
                                  "message": f"Security group rule {made['id']} does "
                                             "not exist"}


def test_list_filters_and_sort(own_project_admin: Api) -> None:
    api = own_project_admin
    sg = group(api, name="f")
    for port in (80, 443, 8080):
        rule(api, security_group_id=sg["id"], direction="ingress", protocol="tcp",
             port_range_min=port, port_range_max=port)
    base = f"security-group-rules?security_group_id={sg['id']}"
    body = api.get(base + "&protocol=tcp&sort_key=port_range_min&sort_dir=desc").json()
    assert [r["port_range_min"] for r in body["security_group_rules"]] == [8080, 443, 80]
    body = api.get(base + "&direction=egress&ethertype=IPv6&fields=id").json()
    assert len(body["security_group_rules"]) == 1
    assert set(body["security_group_rules"][0]) == {"id"}
    body = api.get(base + "&port_range_min=443").json()
    assert len(body["security_group_rules"]) == 1
    body = api.get(base + "&belongs_to_default_sg=false&limit=2").json()
    assert len(body["security_group_rules"]) == 2
    assert api.get(base + "&belongs_to_default_sg=true").json() == {
        "security_group_rules": []}


def test_other_project_cannot_see_rules(own_project_admin: Api) -> None:
    api = own_project_admin
    sg = group(api, name="mine")
    made = rule(api, security_group_id=sg["id"], **SSH)
    other = api.as_project("someone-else", ["member"])
    assert other.get(f"security-group-rules/{made['id']}").status_code == 404
    assert other.delete(f"security-group-rules/{made['id']}").status_code == 404
    listed = other.get(f"security-group-rules?security_group_id={sg['id']}").json()
    assert listed == {"security_group_rules": []}


def test_rule_quota(own_project_admin: Api) -> None:
    api = own_project_admin
    project = api.client.headers["X-Project-Id"]
    assert api.put(f"quotas/{project}", {"quota": {"security_group_rule": 7}}
                   ).status_code == 200
    sg = group(api, name="q")  # default group 4 + this one's 2 = 6
    rule(api, security_group_id=sg["id"], direction="ingress", protocol="tcp")
    response = post_rule(api, security_group_id=sg["id"], direction="ingress",
                         protocol="udp")
    assert response.status_code == 409
    assert error_of(response)["type"] == "OverQuota"
