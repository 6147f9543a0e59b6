"""FWaaS v2's pure decisions: a group's status after a write, a rule's checks and
its port ranges (services/fwaas_groups.py status_of, resources/fwaas.py)."""

from __future__ import annotations

import pytest

from neutrino.resources import fwaas as fr
from neutrino.services.fwaas_groups import status_of

P1, P2 = "policy-1", "policy-2"


def old(status: str = "ACTIVE", ports: tuple[str, ...] = ("a",), ingress: str | None = P1,
        egress: str | None = None, up: bool = True) -> dict:
    return {"status": status, "ports": list(ports), "ingress_firewall_policy_id": ingress,
            "egress_firewall_policy_id": egress, "admin_state_up": up}


@pytest.mark.parametrize(("ports", "ingress", "egress", "before", "up", "status"), [
    ([], P1, None, None, True, "INACTIVE"),           # nothing to enforce: no ports
    (["a"], None, None, None, True, "INACTIVE"),      # ... or no policy
    (["a"], P1, None, None, True, "PENDING_CREATE"),
    (["a"], None, P2, None, False, "PENDING_CREATE"),
    (["a"], P1, None, old(), True, "ACTIVE"),         # name, description: unchanged
    (["a", "b"], P1, None, old(), True, "PENDING_UPDATE"),
    (["a"], P2, None, old(), True, "PENDING_UPDATE"),
    (["a"], P1, P2, old(), True, "PENDING_UPDATE"),
    (["a"], P1, None, old(), False, "PENDING_UPDATE"),  # admin state: the agents act
    (["a"], P1, None, old("INACTIVE", ports=()), True, "PENDING_UPDATE"),
    (["a"], P1, None, old("ERROR"), True, "ERROR"),
    ([], P1, None, old(), True, "INACTIVE"),
])
def test_status_after_a_write(ports: list[str], ingress: str | None, egress: str | None,
                              before: dict | None, up: bool, status: str) -> None:
    assert status_of(ports, ingress, egress, before, up) == status


def rule(**attrs: object) -> dict:
    return {"protocol": None, "ip_version": 4, "source_ip_address": None,
            "destination_ip_address": None, "source_port": None,
            "destination_port": None, **attrs}


@pytest.mark.parametrize(("attrs", "error"), [
    ({"protocol": "icmp", "source_port": "1"}, fr.FirewallRuleInvalidICMPParameter),
    ({"destination_port": "22"}, fr.FirewallRuleWithPortWithoutProtocolInvalid),
    ({"protocol": "udp", "source_port": "9:1"}, fr.FirewallRuleInvalidPortValue),
    ({"ip_version": 6, "destination_ip_address": "10.0.0.0/8"},
     fr.FirewallIpAddressConflict),
    ({"source_ip_address": "2001:db8::1"}, fr.FirewallIpAddressConflict),
])
def test_rule_checks(attrs: dict, error: type) -> None:
    with pytest.raises(error):
        fr.check_rule(rule(**attrs))


def test_valid_rules_and_port_ranges() -> None:
    fr.check_rule(rule(protocol="tcp", source_port="1:65535", destination_port="80",
                       source_ip_address="10.0.0.1"))
    fr.check_rule(rule(ip_version=6, destination_ip_address="2001:db8::/32"))
    assert fr.port_bounds("80") == (80, 80) and fr.port_bounds(None) == (None, None)
    assert fr.port_bounds("1000:2000") == (1000, 2000)
    assert (fr.port_text(80, 80), fr.port_text(1, 2), fr.port_text(None, None)) == \
        ("80", "1:2", None)


@pytest.mark.parametrize("value", ["70000", "a", "1:2:3", "-1", True, 1.5, [80]])
def test_port_range_refuses(value: object) -> None:
    with pytest.raises(Exception, match="Invalid port"):
        fr.port_range("source_port")(value)


def test_converters() -> None:
    assert fr.protocol("TCP") == "tcp" and fr.protocol(None) is None
    assert fr.action("ALLOW") == "allow" and fr.ip_version("6") == 6
    assert fr.port_range("p")(22) == "22"
    assert fr.uuid_list("ports")(None) == []
    with pytest.raises(Exception, match="Duplicate items"):
        fr.uuid_list("ports")(["aaaaaaaa-1111-2222-3333-444444444444"] * 2)
