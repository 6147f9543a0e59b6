"""Configuration: neutron.conf-style files, repeatable --config-file, defaults."""

from __future__ import annotations

from pathlib import Path

from neutrino import conf


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    c = conf.new_conf([])
    assert (c.bind_host, c.bind_port, c.auth_strategy) == ("127.0.0.1", 9696, "noauth")
    assert c.base_mac == "fa:16:3e:00:00:00"
    assert c.allow_overlapping_ips is True
    assert (c.quotas.quota_network, c.quotas.quota_subnet, c.quotas.quota_port) == (
        100, 100, 500)
    assert conf.database_url(c).startswith("sqlite:///")
    assert conf.database_url(c).endswith("/neutrino.sqlite")


def test_later_config_files_override_earlier_ones(tmp_path: Path) -> None:
    first = tmp_path / "a.conf"
    second = tmp_path / "b.conf"
    first.write_text("[DEFAULT]\nbind_port = 1000\napi_workers = 3\n"
                     "[database]\nconnection = postgresql+psycopg://u@h/db\n")
    second.write_text("[DEFAULT]\nbind_port = 2000\n[quotas]\nquota_port = 7\n")
    c = conf.new_conf(["--config-file", str(first), "--config-file", str(second)])
    assert c.bind_port == 2000
    assert c.api_workers == 3
    assert c.quotas.quota_port == 7
    assert conf.database_url(c) == "postgresql+psycopg://u@h/db"


def test_state_path_places_the_sqlite_database(tmp_path: Path) -> None:
    cfg = tmp_path / "n.conf"
    cfg.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n")
    c = conf.new_conf(["--config-file", str(cfg)])
    assert conf.database_url(c) == f"sqlite:///{tmp_path}/neutrino.sqlite"
