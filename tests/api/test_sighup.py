"""SIGHUP to neutrino-server (``systemctl reload``, issue 15): the configuration
files are read again and the API workers replaced; an option changed in the file
(a quota default) shows in the API without a restart."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from server import Api, ServerProcess


def test_sighup_reloads_the_configuration(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path, f"sqlite:///{tmp_path / 'n.sqlite'}",
                         extra_conf="[quotas]\nquota_network = 11\n")
    with proc:
        api = Api(proc.url)
        path = "/v2.0/quotas/p-sighup/default"
        assert api.get(path).json()["quota"]["network"] == 11
        proc.config.write_text(proc.config.read_text().replace("quota_network = 11",
                                                               "quota_network = 23"))
        assert proc.proc is not None
        os.kill(proc.proc.pid, signal.SIGHUP)  # gunicorn's master: our own child
        deadline = time.monotonic() + 60
        while True:
            try:
                if api.get(path).json()["quota"]["network"] == 23:
                    break
            except Exception:  # noqa: BLE001 - workers being replaced
                pass
            assert time.monotonic() < deadline, proc.log.read_text()[-3000:]
            time.sleep(0.2)
        assert "configuration files read again" in proc.log.read_text()
        assert proc.proc.poll() is None
