"""The agents' sample files (etc/*.ini) against what oslo-config-generator makes of
their options now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def current_sample(ini: str, generator: str, tmp_path: Path) -> str:
    """etc/`ini`'s text, asserted equal to the generator's output for
    etc/`generator`."""
    out = tmp_path / ini
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from oslo_config.generator import main; sys.exit(main())",
         "--config-file", str(REPO / "etc" / generator), "--output-file", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    sample = (REPO / "etc" / ini).read_text()
    assert out.read_text() == sample, (
        f"etc/{ini} is out of date: run `make sample-config`")
    return sample
