"""A private Open vSwitch for dataplane tests: its own ovsdb-server (database and
sockets in a directory of the test's) and ovs-vswitchd running inside a host
namespace, so its bridges' ports, internal devices and routes are that "host's".

Nothing is shared with a system OVS or with other tests' instances: the run
directory holds the database socket and the bridges' management sockets
(``<bridge>.mgmt``, what ovs-ofctl talks to), and `stop` ends exactly the two
processes it started (their pidfiles), whatever happened in the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


def available() -> str | None:
    """Why a private OVS cannot run here (None: it can)."""
    for tool in ("ovsdb-server", "ovs-vswitchd", "ovs-ofctl", "ovsdb-tool", "ovs-vsctl"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (Debian: openvswitch-switch)"
    if not Path(SCHEMA).exists():
        return f"{SCHEMA} missing"
    return None


class OvsHost:
    def __init__(self, rundir: Path, namespace: str) -> None:
        self.rundir = rundir
        self.namespace = namespace
        self.db = f"unix:{rundir}/db.sock"
        self.env = {**os.environ, "OVS_RUNDIR": str(rundir), "OVS_DBDIR": str(rundir),
                    "OVS_LOGDIR": str(rundir)}

    def _run(self, *cmd: str, namespace: bool = False, stdin: str | None = None) -> str:
        argv = (["ip", "netns", "exec", self.namespace, *cmd] if namespace else list(cmd))
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True,
                                input=stdin, timeout=60, check=False)
        assert result.returncode == 0, f"{' '.join(cmd)}: {result.stderr}"
        return result.stdout

    def start(self) -> OvsHost:
        self.rundir.mkdir(parents=True, exist_ok=True)
        d = self.rundir
        self._run("ovsdb-tool", "create", f"{d}/conf.db", SCHEMA)
        self._run("ovsdb-server", f"{d}/conf.db", f"--remote=punix:{d}/db.sock",
                  f"--pidfile={d}/ovsdb-server.pid", f"--unixctl={d}/ovsdb-server.ctl",
                  "--detach", f"--log-file={d}/ovsdb-server.log")
        self._run("ovs-vsctl", f"--db={self.db}", "--no-wait", "init")
        self._run("ovs-vswitchd", self.db, f"--pidfile={d}/ovs-vswitchd.pid",
                  f"--unixctl={d}/ovs-vswitchd.ctl", "--detach",
                  f"--log-file={d}/ovs-vswitchd.log", namespace=True)
        return self

    def vsctl(self, *args: str) -> str:
        return self._run("ovs-vsctl", f"--db={self.db}", *args)

    def ofctl(self, *args: str, stdin: str | None = None) -> str:
        return self._run("ovs-ofctl", "-O", "OpenFlow14", *args, stdin=stdin)

    def appctl(self, *args: str) -> str:
        return self._run("ovs-appctl", "-t", f"{self.rundir}/ovs-vswitchd.ctl", *args)

    def mgmt(self, bridge: str) -> str:
        return f"unix:{self.rundir}/{bridge}.mgmt"

    def flows(self, bridge: str) -> list[str]:
        out = self.ofctl("dump-flows", "--no-stats", self.mgmt(bridge))
        return [line.strip() for line in out.splitlines() if "actions=" in line]

    def stop(self) -> None:
        # Only the two processes started here, by their pidfiles.
        for name in ("ovs-vswitchd", "ovsdb-server"):
            pidfile = self.rundir / f"{name}.pid"
            try:
                pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL)
