"""A private Open vSwitch for dataplane tests: its own ovsdb-server and
ovs-vswitchd (userspace datapath), with run, database and log directories under
the test's tmp dir, started and stopped by pid; ovs-vswitchd runs inside a test
namespace, so its bridges and internal ports live there and go with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from neutrino.agent import vif

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")


def available() -> str | None:
    """Why a private switch cannot run here (None: it can)."""
    for tool in ("ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovsdb-tool"):
        if shutil.which(tool) is None:
            return f"{tool} missing (Debian package openvswitch-switch)"
    return None if SCHEMA.exists() else f"{SCHEMA} missing"


class Switch:
    """ovsdb-server + ovs-vswitchd in `namespace`, everything under `root`."""

    def __init__(self, root: Path, namespace: str) -> None:
        self.root, self.namespace = root, namespace
        self.db_sock = root / "db.sock"
        self.vswitchd_ctl = root / "vswitchd.ctl"
        self.env = {**os.environ, "OVS_RUNDIR": str(root), "OVS_DBDIR": str(root),
                    "OVS_LOGDIR": str(root), "OVS_SYSCONFDIR": str(root)}
        self.procs: list[subprocess.Popen] = []

    def start(self) -> Switch:
        self.root.mkdir(parents=True, exist_ok=True)
        db = self.root / "conf.db"
        subprocess.run(["ovsdb-tool", "create", str(db), str(SCHEMA)], check=True)
        self._spawn(["ovsdb-server", str(db), f"--remote=punix:{self.db_sock}",
                     f"--unixctl={self.root / 'ovsdb.ctl'}",
                     f"--log-file={self.root / 'ovsdb.log'}"], self.db_sock)
        self.vsctl("--no-wait", "init")
        self._spawn(["ip", "netns", "exec", self.namespace, "ovs-vswitchd",
                     f"unix:{self.db_sock}", f"--unixctl={self.vswitchd_ctl}",
                     f"--log-file={self.root / 'vswitchd.log'}"], self.vswitchd_ctl)
        return self

    def _spawn(self, argv: list[str], socket: Path) -> None:
        log = open(self.root / f"{Path(argv[0] if argv[0] != 'ip' else argv[4]).name}.out",
                   "wb")
        proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        deadline = time.monotonic() + 15
        while not socket.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start: see {self.root}")
            time.sleep(0.02)

    def vsctl(self, *args: str) -> str:
        return subprocess.run(["ovs-vsctl", f"--db=unix:{self.db_sock}", "--timeout=20",
                               *args], env=self.env, check=True, capture_output=True,
                              text=True).stdout

    def ofctl(self, *args: str, stdin: str | None = None) -> str:
        return subprocess.run(["ovs-ofctl", "-O", "OpenFlow14", *args], env=self.env,
                              input=stdin, check=True, capture_output=True,
                              text=True).stdout

    def appctl(self, *args: str) -> str:
        return subprocess.run(["ovs-appctl", "-t", str(self.vswitchd_ctl), *args],
                              env=self.env, check=True, capture_output=True,
                              text=True).stdout

    def target(self, bridge: str) -> str:
        """How ovs-ofctl reaches `bridge` of this switch."""
        return f"unix:{self.root / bridge}.mgmt"

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def checksum_in_software(namespace: str, ifname: str = "eth0") -> None:
    """vif.checksum_in_software (what the ``ovs`` plug mode does) for VMs made
    by hand."""
    vif.checksum_in_software(namespace, ifname)
