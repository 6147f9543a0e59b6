"""etc/systemd/ (issue 15): a unit for the server and every agent binary, each
checked by `systemd-analyze verify` (with ExecStart pointed at this venv's
binaries, since /usr/local/bin has none here), and a lint of what we rely on."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from backends import unavailable

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "etc" / "systemd"
BIN = Path(sys.executable).parent


def binaries() -> set[str]:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    return {name for name in scripts if name == "neutrino-server"
            or name.endswith("-agent")}


def parse(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(path)
    return unit


def test_a_unit_per_binary() -> None:
    assert {p.stem for p in UNITS.glob("*.service")} == binaries()


@pytest.mark.parametrize("name", sorted(binaries()))
def test_unit_lint(name: str) -> None:
    unit = parse(UNITS / f"{name}.service")
    service = unit["Service"]
    assert service["ExecStart"].split()[0] == f"/usr/local/bin/{name}"
    assert "--config-file /etc/neutrino/" in service["ExecStart"]
    assert service["Restart"] == "on-failure"
    assert service["StandardError"] == "journal"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in unit["Unit"]["After"]
    # SIGHUP reloads the server and (mutable options) every agent.
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    if name == "neutrino-server":
        assert service["User"] != "root"
    else:
        # Stopping an agent must not kill what it started for the dataplane
        # (dnsmasq, metadata proxies): only the agent's own process.
        assert service["KillMode"] == "process"


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        unavailable("systemd-analyze missing: apt-get install systemd")
    assert tool is not None
    for path in UNITS.glob("*.service"):
        text = path.read_text().replace("/usr/local/bin/", f"{BIN}/")
        (tmp_path / path.name).write_text(text)
    units = sorted(str(p) for p in tmp_path.glob("*.service"))
    proc = subprocess.run([tool, "verify", "--man=no", *units], capture_output=True,
                          text=True, timeout=60)
    # verify answers 0 even for a line it ignores ("Failed to parse ...,
    # ignoring"): any output is a problem.
    assert proc.returncode == 0, proc.stdout + proc.stderr
    problems = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert not problems, problems
