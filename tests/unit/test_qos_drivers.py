"""Which QoS rules the loaded drivers apply (rule-types API and use checks)."""

from __future__ import annotations

from neutrino.services.qos_drivers import QosDrivers


def test_linuxbridge_rule_types() -> None:
    drivers = QosDrivers(["linuxbridge"])
    assert drivers.rule_types() == ["bandwidth_limit", "dscp_marking"]
    assert drivers.rule_types(all_supported=True) == ["bandwidth_limit", "dscp_marking"]
    assert len(drivers.rule_types(all_rules=True)) == 5
    assert QosDrivers([]).rule_types() == []
    assert QosDrivers(["bogus"]).details("bandwidth_limit") == []


def test_unsupported() -> None:
    drivers = QosDrivers(["linuxbridge"])
    ok = [{"type": "bandwidth_limit", "max_kbps": 1, "direction": "ingress"},
          {"type": "dscp_marking", "dscp_mark": 26}]
    assert drivers.unsupported(ok, "normal") is None
    assert drivers.unsupported(ok, "direct") == ok[0]  # no driver for that vnic type
    minimum = {"type": "minimum_bandwidth", "min_kbps": 1, "direction": "egress"}
    assert drivers.unsupported([*ok, minimum], "normal") == minimum
