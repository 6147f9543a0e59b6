"""The all-in-one's service plugins chosen by the installed tools (issue 16;
neutrino.cmd.service_plugins): a plugin whose tools are all found is enabled, an
operator's ``service_plugins`` always wins, and the choice is logged."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from neutrino import conf
from neutrino.cmd import service_plugins


def found(*tools: str) -> service_plugins.Which:
    return lambda tool: f"/usr/sbin/{tool}" if tool in tools else None


def test_each_plugin_needs_all_its_tools() -> None:
    choice = service_plugins.choose(found("nft", "haproxy", "swanctl"))
    assert choice.plugins == ["firewall_v2", "lbaas"]
    assert choice.missing == {"vpnaas": ["charon"]}
    assert service_plugins.choose(found("nft", "haproxy", "swanctl", "charon")
                                  ).plugins == ["firewall_v2", "lbaas", "vpnaas"]
    assert service_plugins.choose(found()).plugins == []


def test_the_table_names_the_services_tools() -> None:
    assert service_plugins.REQUIREMENTS["lbaas"] == ("haproxy",)
    assert service_plugins.REQUIREMENTS["firewall_v2"] == ("nft",)
    assert "charon" in service_plugins.REQUIREMENTS["vpnaas"]


def test_all_in_one_enables_load_balancing_when_haproxy_is_there(
        caplog: pytest.LogCaptureFixture) -> None:
    c = conf.new_conf([])
    assert c.service_plugins == ["firewall_v2"]   # a separate server's default
    with caplog.at_level(logging.INFO, logger=service_plugins.LOG.name):
        assert service_plugins.apply(c, found("nft", "haproxy")) == ["firewall_v2",
                                                                     "lbaas"]
    assert c.service_plugins == ["firewall_v2", "lbaas"]
    assert conf.lbaas_enabled(c)
    assert "service_plugins = firewall_v2, lbaas, chosen by the installed tools " \
           "(vpnaas left out: swanctl, charon not found)" in caplog.text

    without = conf.new_conf([])
    service_plugins.apply(without, found("nft"))
    assert without.service_plugins == ["firewall_v2"]
    assert not conf.lbaas_enabled(without)


@pytest.mark.parametrize("line, expected", [
    ("service_plugins = firewall_v2", ["firewall_v2"]),
    ("service_plugins =", []),
])
def test_the_operators_setting_wins(tmp_path: Path, line: str, expected: list[str],
                                    caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "n.conf"
    path.write_text(f"[DEFAULT]\n{line}\n")
    c = conf.new_conf(["--config-file", str(path)])
    assert service_plugins.explicit(c)
    with caplog.at_level(logging.INFO, logger=service_plugins.LOG.name):
        assert service_plugins.apply(c, found("nft", "haproxy")) == expected
    assert c.service_plugins == expected
    assert "from the configuration" in caplog.text


def test_which_looks_beyond_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                 ) -> None:
    """A tool in one of TOOL_DIRS (strongSwan's charon in /usr/lib/ipsec) is found
    with a PATH that lacks it."""
    tool = tmp_path / "neutrino-test-tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert service_plugins.which(tool.name) is None
    monkeypatch.setattr(service_plugins, "TOOL_DIRS", (str(tmp_path),))
    assert service_plugins.which(tool.name) == os.fspath(tool)
