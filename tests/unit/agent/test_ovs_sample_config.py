"""etc/openvswitch_agent.ini must be what oslo-config-generator makes of the Open
vSwitch agent's options (upstream's names and sections)."""

from __future__ import annotations

from pathlib import Path

from unit.agent.samples import current_sample


def test_openvswitch_agent_sample_is_up_to_date(tmp_path: Path) -> None:
    text = current_sample("openvswitch_agent.ini",
                          "oslo-config-generator-openvswitch-agent.conf", tmp_path)
    for section, option in (("ovs", "bridge_mappings"), ("ovs", "local_ip"),
                            ("ovs", "datapath_type"), ("agent", "tunnel_types"),
                            ("agent", "l2_population"),
                            ("securitygroup", "firewall_driver"),
                            ("agent", "report_interval"), ("agent", "polling_interval")):
        assert f"[{section}]" in text and f"#{option} =" in text
