"""mypy --strict on the server <-> agents contract and the agents (pyproject.toml
[tool.mypy]): a type error there fails the suite, as a lint error would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from backends import unavailable

ROOT = Path(__file__).resolve().parents[2]
# Packages held to --strict (the composition root joins them once it exists);
# everything they import is followed silently.
STRICT_PACKAGES = ("neutrino.contract", "neutrino.agent", "neutrino.core")


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # In CI (CI=true) a missing mypy fails: the check must not vanish silently.
    try:
        import mypy  # noqa: F401
    except ImportError:
        unavailable("mypy is missing; it is in the test extra: pip install -e '.[test]'")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--no-error-summary", "--cache-dir", str(ROOT / ".pytest_cache" / "mypy"),
         *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_contract_agents_and_core_pass_mypy_strict() -> None:
    args = [arg for package in STRICT_PACKAGES for arg in ("-p", package)]
    proc = mypy(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_fails_on_a_type_error(tmp_path: Path) -> None:
    # The same configuration catches an agent reading a key the contract lacks.
    bad = tmp_path / "bad_agent.py"
    bad.write_text(textwrap.dedent("""
        from neutrino.contract.l2 import L2State

        def devices(state: L2State) -> list[str]:
            return [port["tap"] for port in state["ports"]]
    """))
    proc = mypy(str(bad))
    assert proc.returncode != 0
    assert 'TypedDict "L2Port" has no key "tap"' in proc.stdout
