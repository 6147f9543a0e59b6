"""etc/linuxbridge_agent.ini must be what oslo-config-generator makes of the Linux
bridge agent's options (upstream's names and sections)."""

from __future__ import annotations

from pathlib import Path

from unit.agent.samples import current_sample


def test_linuxbridge_agent_sample_is_up_to_date(tmp_path: Path) -> None:
    text = current_sample("linuxbridge_agent.ini",
                          "oslo-config-generator-linuxbridge-agent.conf", tmp_path)
    for section, option in (("linux_bridge", "physical_interface_mappings"),
                            ("vxlan", "local_ip"), ("vxlan", "l2_population"),
                            ("agent", "report_interval"), ("agent", "polling_interval")):
        assert f"[{section}]" in text and f"#{option} =" in text
