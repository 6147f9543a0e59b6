"""etc/openvswitch_agent.ini must be what oslo-config-generator makes of the Open
vSwitch agent's options (upstream's names and sections)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "etc" / "openvswitch_agent.ini"
GENERATOR_CONF = REPO / "etc" / "oslo-config-generator-openvswitch-agent.conf"


def test_openvswitch_agent_sample_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "openvswitch_agent.ini"
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from oslo_config.generator import main; sys.exit(main())",
         "--config-file", str(GENERATOR_CONF), "--output-file", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == SAMPLE.read_text(), (
        "etc/openvswitch_agent.ini is out of date: run `make sample-config`")
    text = SAMPLE.read_text()
    for section, option in (("ovs", "bridge_mappings"), ("ovs", "local_ip"),
                            ("ovs", "datapath_type"), ("agent", "tunnel_types"),
                            ("agent", "l2_population"),
                            ("securitygroup", "firewall_driver"),
                            ("agent", "report_interval"), ("agent", "polling_interval")):
        assert f"[{section}]" in text and f"#{option} =" in text
