"""`make install` (issue 15; scripts/install.sh) staged with DESTDIR into a temporary
directory: the venv's binaries naming their final paths, the configuration (never
replacing an operator's file), the units pointing at the install prefix and passing
`systemd-analyze verify` (the unit lint where systemd is absent).

One real install (pip without the dependencies: the tree is what is checked, and
installing every dependency would cost a minute)."""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PREFIX = "/opt/neutrino-test"
SYSCONFDIR = "/etc/neutrino"
UNITDIR = "/etc/systemd/system"


def scripts() -> set[str]:
    return set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"])


def unit(path: Path) -> configparser.ConfigParser:
    parsed = configparser.ConfigParser(interpolation=None, strict=False)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read(path)
    return parsed


def run_install(dest: Path, *parts: str) -> str:
    # This venv's pip installs (a venv's own pip would cost seconds to set up).
    env = dict(os.environ, DESTDIR=str(dest), PREFIX=PREFIX, PIP_ARGS="--no-deps",
               PYTHON=sys.executable, PIP=f"{sys.executable} -m pip")
    command = ["make", "--no-print-directory", "install"] if not parts else \
        ["scripts/install.sh", *parts]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_make_install_stages_binaries_configuration_and_units(tmp_path: Path) -> None:
    dest = tmp_path / "root"
    run_install(dest)
    prefix = dest / PREFIX.lstrip("/")

    # Binaries: every console script, its #! naming the final venv, nothing in the
    # venv naming the staging directory; links on PATH.
    for name in scripts():
        script = prefix / "bin" / name
        assert script.read_text().splitlines()[0] == f"#!{PREFIX}/bin/python", name
        link = dest / "usr/local/bin" / name
        assert os.readlink(link) == f"{PREFIX}/bin/{name}"
    staged = str(dest).encode()
    for path in [*prefix.joinpath("bin").iterdir(), prefix / "pyvenv.cfg"]:
        if path.is_file() and not path.is_symlink():
            assert staged not in path.read_bytes(), path
    assert list(prefix.glob("lib/python3*/site-packages/neutrino/agent/common/service.py"))
    assert (prefix / "share/doc/neutrino/operators.md").exists()

    # Configuration: the samples, not world-readable, state_path where the units'
    # StateDirectory is.
    etc = dest / SYSCONFDIR.lstrip("/")
    expected = {"neutrino.conf", "policy.yaml.sample",
                *(p.name for p in (REPO / "etc").glob("*_agent.ini"))}
    assert {p.name for p in etc.iterdir()} == expected
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o640 for p in etc.iterdir())
    assert "\nstate_path = /var/lib/neutrino\n" in (etc / "neutrino.conf").read_text()
    assert "\nstate_path = /var/lib/neutrino-agents\n" in \
        (etc / "dhcp_agent.ini").read_text()

    # Units: pointing at the prefix and the configuration installed.
    units = dest / UNITDIR.lstrip("/")
    names = {p.stem for p in (REPO / "etc/systemd").glob("*.service")}
    assert {p.stem for p in units.glob("*.service")} == names
    for path in units.glob("*.service"):
        service = unit(path)["Service"]
        binary, _, config_file = service["ExecStart"].split()
        assert binary == f"{PREFIX}/bin/{path.stem}"
        assert (dest / config_file.lstrip("/")).exists(), config_file
        state = service["StateDirectory"]
        assert state == ("neutrino" if path.stem == "neutrino-server" else
                         "neutrino-agents")
    verify(dest, units)

    # Again, over an operator's edited file: kept; the units are rewritten.
    (etc / "neutrino.conf").write_text("[DEFAULT]\ndebug = true\n")
    (units / "neutrino-server.service").write_text("stale")
    out = run_install(dest, "config", "units")
    assert "/etc/neutrino/neutrino.conf exists: kept" in out
    assert (etc / "neutrino.conf").read_text() == "[DEFAULT]\ndebug = true\n"
    assert "ExecStart=" in (units / "neutrino-server.service").read_text()


def verify(dest: Path, units: Path) -> None:
    """`systemd-analyze verify` on the installed units, their paths pointed into the
    staging directory (verify checks that ExecStart is there and executable)."""
    tool = shutil.which("systemd-analyze")
    if tool is None:  # no systemd here: the lint above is the check
        return
    checked = dest / "verify"
    checked.mkdir()
    for path in units.glob("*.service"):
        text = path.read_text().replace(f"{PREFIX}/", f"{dest}{PREFIX}/")
        (checked / path.name).write_text(text)
    proc = subprocess.run([tool, "verify", "--man=no",
                           *sorted(str(p) for p in checked.iterdir())],
                          capture_output=True, text=True, timeout=60)
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0 and not output, output
