"""etc/linuxbridge_agent.ini must be what oslo-config-generator makes of the Linux
bridge agent's options (upstream's names and sections)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "etc" / "linuxbridge_agent.ini"
GENERATOR_CONF = REPO / "etc" / "oslo-config-generator-linuxbridge-agent.conf"


def test_linuxbridge_agent_sample_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "linuxbridge_agent.ini"
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from oslo_config.generator import main; sys.exit(main())",
         "--config-file", str(GENERATOR_CONF), "--output-file", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == SAMPLE.read_text(), (
        "etc/linuxbridge_agent.ini is out of date: run `make sample-config`")
    text = SAMPLE.read_text()
    for section, option in (("linux_bridge", "physical_interface_mappings"),
                            ("vxlan", "local_ip"), ("vxlan", "l2_population"),
                            ("agent", "report_interval"), ("agent", "polling_interval")):
        assert f"[{section}]" in text and f"#{option} =" in text
