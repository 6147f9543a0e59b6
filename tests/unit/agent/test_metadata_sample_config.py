"""etc/metadata_agent.ini must be what oslo-config-generator makes of the metadata
agent's options (upstream's names)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "etc" / "metadata_agent.ini"
GENERATOR_CONF = REPO / "etc" / "oslo-config-generator-metadata-agent.conf"


def test_metadata_agent_sample_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "metadata_agent.ini"
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from oslo_config.generator import main; sys.exit(main())",
         "--config-file", str(GENERATOR_CONF), "--output-file", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == SAMPLE.read_text(), (
        "etc/metadata_agent.ini is out of date: run `make sample-config`")
    text = SAMPLE.read_text()
    for option in ("metadata_proxy_shared_secret", "nova_metadata_host",
                   "nova_metadata_port", "nova_metadata_protocol", "nova_metadata_insecure",
                   "nova_client_cert", "nova_client_priv_key", "metadata_workers",
                   "metadata_proxy_socket", "metadata_upstream", "cache_url"):
        assert f"#{option} =" in text, option
    assert "[agent]" in text and "#report_interval =" in text
