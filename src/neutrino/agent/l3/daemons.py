"""What the L3 agent's per-router daemons (radvd, keepalived) share: their files
and finding a daemon by its pid file.

A daemon is the router's when the pid file names a process whose command line is
that binary with that configuration file (a pid may be reused); nothing is
remembered in memory, so a restarted agent finds its daemons again. Process work
goes through agent/common/privileged.py.
"""

from __future__ import annotations

import logging
import os
import signal
import time

from neutrino.agent.common import privileged

LOG = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0


def read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write(path: str, text: str, mode: int = 0o644) -> None:
    """Replace the file at once (the daemon may read it on a SIGHUP meanwhile)."""
    temporary = path + ".tmp"
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as handle:
        handle.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def read_pid(path: str) -> int | None:
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def running_pid(pid_file: str, binary: str, config: str) -> int | None:
    """The daemon of `pid_file` when it runs `binary` with `config`."""
    pid = read_pid(pid_file)
    if pid is None:
        return None
    argv = privileged.process_cmdline(pid)
    if argv and os.path.basename(argv[0]) == os.path.basename(binary) and config in argv:
        return pid
    return None


def unlink(*paths: str) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def wait_started(pid_file: str, binary: str, config: str, what: str,
                 timeout: float) -> int:
    """The daemon's pid once its pid file names it (it daemonizes after checking
    its configuration)."""
    deadline = time.monotonic() + timeout
    while True:
        pid = running_pid(pid_file, binary, config)
        if pid is not None:
            return pid
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.02)


def stop_process(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL if it does not go within `timeout`."""
    if not privileged.signal_process(pid, signal.SIGTERM):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if privileged.process_cmdline(pid) is None:
            return
        time.sleep(0.05)
    LOG.warning("process %d ignored SIGTERM; killing it", pid)
    privileged.signal_process(pid, signal.SIGKILL)
