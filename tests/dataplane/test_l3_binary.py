"""``neutrino-l3-agent`` as a process: its start checks and a clean stop."""

from __future__ import annotations

import signal
import subprocess

from dataplane.topology import Topology, running, wait_for
from server import BIN


def test_binary_refuses_distributed_modes_and_other_drivers(root: None, tmp_path) -> None:
    config = tmp_path / "l3_agent.ini"
    config.write_text("[DEFAULT]\nagent_mode = dvr\ninterface_driver = macvtap\n")
    result = subprocess.run([str(BIN / "neutrino-l3-agent"), "--config-file", str(config)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "agent_mode 'dvr' is not supported: use 'legacy'" in result.stderr
    assert "interface_driver 'macvtap' is not supported" in result.stderr


def test_binary_runs_without_server_and_stops_on_sigterm(topo: Topology, tmp_path) -> None:
    host = topo.namespace("host")
    config = tmp_path / "l3_agent.ini"
    config.write_text("[DEFAULT]\nhost = lonely\nrpc_response_timeout = 1\n"
                      "enable_metadata_proxy = false\n"
                      "[AGENT]\npolling_interval = 0.2\nreport_interval = 1\n"
                      "availability_zone = az9\n")
    log = tmp_path / "agent.log"
    with running(["ip", "netns", "exec", host, str(BIN / "neutrino-l3-agent"),
                  "--config-file", str(config)], log) as proc:
        assert wait_for(lambda: "sync failed" in log.read_text(), 30), log.read_text()
        assert "neutrino-l3-agent on host lonely: agent_mode legacy, metadata proxy " \
               "redirect off, availability zone az9" in log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
