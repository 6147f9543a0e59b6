"""Pure rule validation and normalisation; which ports a group change affects."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from neutrino.db import models
from neutrino.resources import security_group as sgr
from neutrino.services.security_groups import ports_affected_by_groups


def test_convert_protocol() -> None:
    assert sgr.convert_protocol("TCP") == "tcp"
    assert sgr.convert_protocol(6) == "6"
    assert sgr.convert_protocol("255") == "255"
    assert sgr.convert_protocol("any") is None
    assert sgr.convert_protocol(None) is None
    for bad in ("bogus", 256, -1, True, 1.5):
        with pytest.raises(sgr.SecurityGroupRuleInvalidProtocol):
            sgr.convert_protocol(bad)


def test_convert_port_and_ethertype() -> None:
    assert sgr.convert_port("80") == 80
    assert sgr.convert_port(None) is None
    for bad in (65536, -1, "x", True):
        with pytest.raises(sgr.SecurityGroupInvalidPortValue):
            sgr.convert_port(bad)
    assert sgr.convert_ethertype("ipv6") == "IPv6"
    with pytest.raises(sgr.SecurityGroupRuleInvalidEtherType):
        sgr.convert_ethertype("IPv5")


def test_prefixes() -> None:
    assert sgr.convert_prefix("10.0.0.1") == "10.0.0.1/32"
    assert sgr.convert_prefix("10.0.0.5/24") == "10.0.0.5/24"
    assert sgr.normalized_cidr("10.0.0.5/24") == "10.0.0.0/24"
    assert sgr.normalized_cidr("2001:db8::5/64") == "2001:db8::/64"
    assert sgr.convert_prefix("") is None
    with pytest.raises(sgr.InvalidCIDR):
        sgr.convert_prefix("10.0.0.0/33")


def rule(**attrs) -> dict:
    base = {"security_group_id": "g", "direction": "ingress", "ethertype": "IPv4",
            "protocol": None, "port_range_min": None, "port_range_max": None,
            "remote_ip_prefix": None, "remote_group_id": None,
            "remote_address_group_id": None}
    return dict(base, **attrs)


@pytest.mark.parametrize(("attrs", "error"), [
    ({"protocol": "tcp", "port_range_min": 10, "port_range_max": 5},
     sgr.SecurityGroupInvalidPortRange),
    ({"protocol": "tcp", "port_range_min": 10}, sgr.SecurityGroupInvalidPortRange),
    ({"protocol": "sctp", "port_range_min": 0, "port_range_max": 5},
     sgr.SecurityGroupInvalidPortValue),
    ({"port_range_min": 10}, sgr.SecurityGroupProtocolRequiredWithPorts),
    ({"protocol": "icmp", "port_range_max": 1}, sgr.SecurityGroupMissingIcmpType),
    ({"protocol": "icmp", "port_range_min": 300}, sgr.SecurityGroupInvalidIcmpValue),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
     sgr.SecurityGroupInvalidProtocolForPort),
    ({"remote_ip_prefix": "::/0"}, sgr.SecurityGroupRuleParameterConflict),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
     sgr.SecurityGroupRuleParameterConflict),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "x"},
     sgr.SecurityGroupRemoteGroupAndRemoteIpPrefix),
    ({"remote_address_group_id": "a", "remote_group_id": "x"},
     sgr.SecurityGroupRemoteGroupAndRemoteAddressGroup),
    ({"protocol": "ipv6-icmp"}, sgr.SecurityGroupEthertypeConflictWithProtocol),
])
def test_invalid_rules(attrs: dict, error: type) -> None:
    with pytest.raises(error):
        sgr.validate_rule(rule(**attrs))


@pytest.mark.parametrize("attrs", [
    {"protocol": "tcp", "port_range_min": 1, "port_range_max": 65535},
    {"protocol": "udp", "port_range_min": 53, "port_range_max": 53},
    {"protocol": "icmp", "port_range_min": 8},
    {"protocol": "icmp", "port_range_min": 8, "port_range_max": 0},
    {"protocol": "gre", "port_range_min": 5, "port_range_max": 5},
    {"ethertype": "IPv6", "protocol": "ipv6-icmp", "remote_ip_prefix": "::/0"},
    {"remote_ip_prefix": "10.0.0.0/8"},
])
def test_valid_rules(attrs: dict) -> None:
    assert sgr.validate_rule(rule(**attrs)) == rule(**attrs)


def test_rule_key_equivalences() -> None:
    assert sgr.rule_key(rule(protocol="tcp")) == sgr.rule_key(rule(protocol="6"))
    assert sgr.rule_key(rule(remote_ip_prefix="0.0.0.0/0")) == sgr.rule_key(rule())
    assert sgr.rule_key(rule(remote_ip_prefix="10.0.0.5/24")) == sgr.rule_key(
        rule(remote_ip_prefix="10.0.0.0/24"))
    assert sgr.rule_key(rule()) != sgr.rule_key(rule(direction="egress"))


def test_group_name() -> None:
    assert sgr.group_name("web") == "web"
    with pytest.raises(sgr.SecurityGroupDefaultAlreadyExists):
        sgr.group_name("Default")


def test_ports_affected_by_groups() -> None:
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    now = models.utcnow()
    with Session(engine) as session:
        conn = session.connection()
        conn.execute(insert(models.Network), [{"id": "n", "project_id": "p", "name": "",
                                               "description": "", "created_at": now,
                                               "updated_at": now}])
        conn.execute(insert(models.SecurityGroup), [
            {"id": g, "project_id": "p", "created_at": now, "updated_at": now}
            for g in ("a", "b", "c")])
        conn.execute(insert(models.Port), [
            {"id": p, "project_id": "p", "network_id": "n", "mac_address": m,
             "created_at": now, "updated_at": now}
            for p, m in (("pa", "fa:16:3e:00:00:01"), ("pb", "fa:16:3e:00:00:02"),
                         ("pc", "fa:16:3e:00:00:03"))])
        conn.execute(insert(models.SecurityGroupPortBinding), [
            {"port_id": "pa", "security_group_id": "a"},
            {"port_id": "pb", "security_group_id": "b"},
            {"port_id": "pc", "security_group_id": "c"}])
        # b lets in traffic from members of a.
        conn.execute(insert(models.SecurityGroupRule), [{
            "id": "r", "project_id": "p", "security_group_id": "b", "remote_group_id": "a",
            "direction": "ingress", "ethertype": "IPv4", "created_at": now,
            "updated_at": now}])
        assert ports_affected_by_groups(session, ["a"]) == {"pa", "pb"}
        assert ports_affected_by_groups(session, {"b"}) == {"pb"}
        assert ports_affected_by_groups(session, ["c", "a"]) == {"pa", "pb", "pc"}
        assert ports_affected_by_groups(session, []) == set()
