"""etc/metadata_agent.ini must be what oslo-config-generator makes of the metadata
agent's options (upstream's names)."""

from __future__ import annotations

from pathlib import Path

from unit.agent.samples import current_sample


def test_metadata_agent_sample_is_up_to_date(tmp_path: Path) -> None:
    text = current_sample("metadata_agent.ini",
                          "oslo-config-generator-metadata-agent.conf", tmp_path)
    for option in ("metadata_proxy_shared_secret", "nova_metadata_host",
                   "nova_metadata_port", "nova_metadata_protocol", "nova_metadata_insecure",
                   "nova_client_cert", "nova_client_priv_key", "metadata_workers",
                   "metadata_proxy_socket", "metadata_upstream", "cache_url"):
        assert f"#{option} =" in text, option
    assert "[agent]" in text and "#report_interval =" in text
