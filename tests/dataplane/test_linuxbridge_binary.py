"""neutrino-linuxbridge-agent as a process: refuses a bad configuration with the
reason, starts in a host namespace, keeps running without a server (its syncs fail
and are retried) and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from dataplane.topology import Topology, running
from server import BIN

AGENT = str(BIN / "neutrino-linuxbridge-agent")


def test_bad_configuration_is_refused_with_the_reason(topo: Topology, tmp_path: Path
                                                      ) -> None:
    config = tmp_path / "lb.ini"
    config.write_text("[vxlan]\nenable_vxlan = true\n")
    result = subprocess.run([AGENT, "--config-file", str(config)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "enable_vxlan is set but local_ip is not" in result.stderr


def test_agent_process_runs_without_server_and_stops_on_sigterm(topo: Topology,
                                                                tmp_path: Path) -> None:
    (host,) = topo.hosts("198.51.100.1")
    config = tmp_path / "lb.ini"
    config.write_text("[DEFAULT]\nhost = lonely\nrpc_response_timeout = 1\n"
                      "[vxlan]\nlocal_ip = 198.51.100.1\n"
                      "[AGENT]\npolling_interval = 0.2\nreport_interval = 1\n")
    log = tmp_path / "agent.log"
    with running(["ip", "netns", "exec", host, AGENT, "--config-file", str(config)],
                 log) as proc:
        deadline = time.monotonic() + 30
        while "sync failed" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        assert "neutrino-linuxbridge-agent on host lonely: tunnel_types ['vxlan']" in text
        assert "sync failed" in text  # no server on this bus: retried, not fatal
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
