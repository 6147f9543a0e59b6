"""Hosts and VMs as network namespaces for dataplane tests.

A "host" is a namespace with an underlay interface ``ul0`` (one end of a veth pair
to another host) carrying its VTEP address; a "VM" is a namespace plugged into a
host the way a hypervisor does (neutrino.agent.vif). Every name starts with the
test's own unique prefix, and `Topology.cleanup` deletes every namespace it made
(their links go with them), whatever happened in the test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neutrino.agent import vif as vif_mod
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel

UNDERLAY = "ul0"


def random_mac() -> str:
    raw = uuid.uuid4().bytes[:3]
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in raw)


class Topology:
    def __init__(self) -> None:
        self.prefix = "nt" + uuid.uuid4().hex[:6] + "-"
        self.namespaces: list[str] = []

    def namespace(self, role: str) -> str:
        name = self.prefix + role
        self.namespaces.append(name)
        privileged.create_namespace(name)
        return name

    def hosts(self, *addresses: str) -> list[str]:
        """Host namespaces joined by one underlay: a veth pair for two hosts, a
        bridge in an extra "switch" namespace for more."""
        names = [self.namespace(f"h{i}") for i in range(len(addresses))]
        switch = self.namespace("sw")
        with Kernel(switch) as sw:
            sw.add_bridge("sw0")
            sw.set_link("sw0", up=True)
            for i, (host, address) in enumerate(zip(names, addresses, strict=True)):
                end = f"sw-h{i}"
                sw.add_veth(end, UNDERLAY, peer_namespace=host)
                sw.set_link(end, master="sw0")
                sw.set_link(end, up=True)
                with Kernel(host) as kernel:
                    kernel.add_address(UNDERLAY, address, 24)
                    kernel.set_link(UNDERLAY, up=True)
        return names

    def vm(self, host: str, port_id: str, mac: str, address: str, mtu: int = 1450) -> str:
        namespace = self.namespace("vm-" + port_id[:6])
        vif_mod.plug(vif_mod.Vif(port_id=port_id, mac=mac, namespace=namespace,
                                 host_namespace=host, addresses=[address], mtu=mtu))
        return namespace

    def cleanup_one(self, name: str) -> None:
        """Delete one namespace now (a VM going away)."""
        privileged.delete_namespace(name)
        self.namespaces.remove(name)

    def cleanup(self) -> None:
        for name in reversed(self.namespaces):
            try:
                privileged.delete_namespace(name)
            except Exception:  # noqa: BLE001 - delete the rest anyway
                pass
        leftovers = [n for n in privileged.namespaces() if n.startswith(self.prefix)]
        for name in leftovers:
            privileged.delete_namespace(name)


PING_CODE = r"""
import os, socket, struct, sys, time
def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
dst, timeout = sys.argv[1], float(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.settimeout(timeout)
ident = os.getpid() & 0xffff
body = b"neutrino"
header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
packet = struct.pack("!BBHHH", 8, 0, checksum(header + body), ident, 1) + body
sock.sendto(packet, (dst, 0))
end = time.monotonic() + timeout
while time.monotonic() < end:
    try:
        data, addr = sock.recvfrom(1024)
    except socket.timeout:
        break
    icmp = data[(data[0] & 0x0f) * 4:]
    if addr[0] == dst and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
        sys.exit(0)
sys.exit(1)
"""


def ping_once(namespace: str, address: str, timeout: float = 1.0) -> bool:
    """One ICMP echo from `namespace` to `address`: the ping tool when installed,
    else the same exchange over a raw socket."""
    if shutil.which("ping"):
        cmd = ["ping", "-c", "1", "-W", str(max(1, int(timeout))), address]
    else:
        cmd = [sys.executable, "-c", PING_CODE, address, str(timeout)]
    result = subprocess.run(["ip", "netns", "exec", namespace, *cmd],
                            capture_output=True, timeout=timeout + 10, check=False)
    return result.returncode == 0


def ping(namespace: str, address: str, within: float = 10.0) -> bool:
    """True once a ping gets an answer within `within` seconds (ARP, bridge and
    FDB learning take a moment on a fresh path)."""
    deadline = time.monotonic() + within
    while True:
        if ping_once(namespace, address):
            return True
        if time.monotonic() > deadline:
            return False


def wait_for(check, within: float = 10.0) -> bool:
    """True once check() is truthy, polled every 50 ms for `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@contextmanager
def running(argv: list[str], log: Path) -> Iterator[subprocess.Popen]:
    """A process writing to `log`, killed on the way out if the test left it running
    (a failed assertion before its clean stop)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
