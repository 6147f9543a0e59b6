"""etc/neutrino.conf must be what oslo-config-generator makes of neutrino.conf."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neutrino import conf as neutrino_conf

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "etc" / "neutrino.conf"
GENERATOR_CONF = REPO / "etc" / "oslo-config-generator.conf"
HOW_TO_FIX = "etc/neutrino.conf is out of date: run `make sample-config` and commit the result"


def _generator() -> list[str]:
    script = Path(sys.executable).parent / "oslo-config-generator"
    if script.exists():
        return [str(script)]
    found = shutil.which("oslo-config-generator")
    if found:
        return [found]
    # Same interpreter as the tests, without the console script.
    return [
        sys.executable,
        "-c",
        "import sys; from oslo_config.generator import main; sys.exit(main())",
    ]


def _normalize(text: str, cwd: Path) -> str:
    # state_path defaults to <cwd>/state; `make sample-config` writes ./state.
    return re.sub(
        r"^#state_path = " + re.escape(str(cwd)) + r"/state$",
        "#state_path = ./state",
        text,
        flags=re.MULTILINE,
    )


def test_sample_config_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "neutrino.conf"
    proc = subprocess.run(
        [*_generator(), "--config-file", str(GENERATOR_CONF), "--output-file", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"oslo-config-generator failed:\n{proc.stderr}"
    generated = _normalize(out.read_text(), REPO)
    assert generated == SAMPLE.read_text(), HOW_TO_FIX


def _sample_options() -> dict[str, set[str]]:
    """Option names per [section] of the sample, commented out or not."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in SAMPLE.read_text().splitlines():
        header = re.match(r"^\[([^\]]+)\]\s*$", line)
        if header:
            current = sections.setdefault(header.group(1), set())
            continue
        opt = re.match(r"^#?([A-Za-z0-9_.-]+) =", line)
        if opt and current is not None:
            current.add(opt.group(1))
    return sections


@pytest.mark.parametrize(
    ("group", "name"),
    [(group or "DEFAULT", opt.dest) for group, opts in neutrino_conf.list_opts() for opt in opts],
)
def test_every_option_is_in_sample(group: str, name: str) -> None:
    assert name in _sample_options().get(group, set()), (
        f"[{group}] {name} missing from etc/neutrino.conf; {HOW_TO_FIX}"
    )


def test_policy_sample_is_current(tmp_path: Path) -> None:
    """etc/policy.yaml.sample lists every rule with its default, as registered."""
    out = tmp_path / "policy.yaml"
    script = Path(sys.executable).parent / "oslopolicy-sample-generator"
    subprocess.run([str(script), "--namespace", "neutrino", "--output-file", str(out)],
                   check=True, capture_output=True)
    assert out.read_text() == (REPO / "etc" / "policy.yaml.sample").read_text(), (
        "etc/policy.yaml.sample is out of date: run `make sample-config` and commit it")
