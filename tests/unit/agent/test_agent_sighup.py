"""SIGHUP for the agents (agent/common/service.py): the configuration files read
again, the mutable options applied, a resync asked for, the agent still running.

One real agent process (the metadata agent: the one binary that needs no root and
touches no kernel state) is reloaded; the reload itself is also checked in-process
on a real ConfigOpts and AgentLoop."""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from oslo_config import cfg

from neutrino.agent.common import config as agent_config
from neutrino.agent.common import service
from neutrino.agent.metadata import config as md_config

BIN = Path(sys.executable).parent


def conf_from(path: Path) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    md_config.register_opts(conf)
    conf(args=["--config-file", str(path)], project="neutrino", default_config_files=[])
    return conf


def write(path: Path, state: Path, debug: bool, resync: float, backlog: int) -> None:
    path.write_text(f"[DEFAULT]\nstate_path = {state}\nhost = sighup-test\n"
                    f"debug = {str(debug).lower()}\nmetadata_backlog = {backlog}\n"
                    f"log_file = {state / 'agent.log'}\n"
                    f"[AGENT]\nreport_interval = 0\nresync_interval = {resync}\n")


def test_reload_applies_mutable_options_and_resyncs(tmp_path: Path) -> None:
    ini = tmp_path / "agent.ini"
    write(ini, tmp_path, debug=False, resync=60, backlog=4096)
    conf = conf_from(ini)
    loop = service.agent_loop(conf, lambda: None, None)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        write(ini, tmp_path, debug=True, resync=5, backlog=10)
        changed = service.reload_config(conf, loop)
        assert set(changed) == {(None, "debug"), ("AGENT", "resync_interval")}
        assert loop.resync_interval == 5.0
        assert root.level == logging.DEBUG
        assert conf.metadata_backlog == 4096  # not mutable: kept until a restart
        assert loop._take_reasons() == ["SIGHUP"]

        # A file that no longer parses, or a mutable option's bad value: nothing
        # changes (the values stay readable), the resync still comes.
        for text in ("[DEFAULT\ndebug = false\n", "[AGENT]\nresync_interval = abc\n",
                     "[AGENT]\nresync_interval = 0.5\n",
                     "[DEFAULT]\ndebug = false\n[AGENT]\nresync_interval = abc\n"):
            ini.write_text(text)
            assert service.reload_config(conf, loop) == {}
            assert conf.debug is True and conf.AGENT.resync_interval == 5.0
            assert loop.resync_interval == 5.0
            assert loop._take_reasons() == ["SIGHUP"]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_every_agent_registers_the_mutable_options() -> None:
    conf = cfg.ConfigOpts()
    agent_config.register_opts(conf)
    mutable = {(group, opt.name) for group, opts in agent_config.list_opts()
               for opt in opts if opt.mutable}
    assert {(None, "debug"), ("AGENT", "resync_interval"),
            ("AGENT", "polling_interval")} <= mutable


def wait_for(path: Path, text: str, proc: subprocess.Popen[bytes],
             timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = path.read_text() if path.exists() else ""
        if re.search(text, found):
            return found
        assert proc.poll() is None, f"agent exited {proc.returncode}: {found}"
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path}: {found}")


def test_agent_process_reloads_on_sighup_and_stays_up(tmp_path: Path) -> None:
    ini = tmp_path / "metadata_agent.ini"
    write(ini, tmp_path, debug=False, resync=60, backlog=4096)
    log = tmp_path / "agent.log"
    proc = subprocess.Popen([str(BIN / "neutrino-metadata-agent"), "--config-file",
                             str(ini)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(log, "neutrino-metadata-agent on host sighup-test: socket", proc)
        assert " DEBUG " not in log.read_text()
        # As logrotate does: the file moved away; the agent writes a new one after
        # SIGHUP.
        log.rename(tmp_path / "agent.log.1")
        write(ini, tmp_path, debug=True, resync=5, backlog=10)
        proc.send_signal(signal.SIGHUP)
        text = wait_for(log, "SIGHUP: configuration files read again.*\n", proc)
        assert ("changed: [DEFAULT] debug = True, [AGENT] resync_interval = 5.0"
                in text)
        # The resync the reload asked for (perhaps merged with the first one),
        # logged at the new level.
        wait_for(log, r"DEBUG neutrino\.agent\.common\.loop \[-\] resync: .*SIGHUP", proc)
        assert "Ignoring change to immutable option DEFAULT.metadata_backlog" in \
            (tmp_path / "agent.log.1").read_text() + log.read_text()
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
