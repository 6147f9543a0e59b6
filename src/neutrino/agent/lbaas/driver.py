"""The kernel and process side of a load balancer: its namespace with the VIP
port plugged like a VM's (agent/vif.py: ``tap<port>`` in the host namespace for
the L2 agent, ``eth0`` with the VIP inside ``qlbaas-<id>``), and HAProxy in it.

Each load balancer the agent runs has a directory ``<state_path>/lbaas/<id>``
(haproxy.cfg, haproxy.pid, haproxy.sock); those directories are what the agent
owns: one whose load balancer is no longer wanted is taken down with its
namespace and port device, nothing else is touched.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket

from neutrino.agent import vif
from neutrino.agent.common import privileged
from neutrino.agent.l3 import daemons
from neutrino.agent.lbaas import render, stats
from neutrino.contract import lbaas as contract
from neutrino.contract.lbaas import LbLoadBalancer

LOG = logging.getLogger(__name__)

HAPROXY = "haproxy"
START_TIMEOUT = 10.0


class Paths:
    def __init__(self, root: str, lb_id: str) -> None:
        self.dir = os.path.join(root, lb_id)
        self.config = os.path.join(self.dir, "haproxy.cfg")
        self.pid = os.path.join(self.dir, "haproxy.pid")
        self.socket = os.path.join(self.dir, "haproxy.sock")
        self.vip_port = os.path.join(self.dir, "vip_port_id")


class LbDriver:
    def __init__(self, state_root: str, host_namespace: str | None = None,
                 haproxy: str = HAPROXY) -> None:
        self.root = state_root
        self.host_namespace = host_namespace
        self.haproxy = haproxy
        os.makedirs(self.root, exist_ok=True)

    def owned(self) -> set[str]:
        return {name for name in os.listdir(self.root)
                if os.path.isdir(os.path.join(self.root, name))}

    def apply(self, lb: LbLoadBalancer) -> None:
        """The load balancer as `lb` says: plugged, HAProxy started, reloaded on a
        change of its configuration, or stopped when nothing is enabled."""
        paths = Paths(self.root, lb["id"])
        os.makedirs(paths.dir, exist_ok=True)
        if daemons.read(paths.vip_port) != lb["vip_port_id"]:
            daemons.write(paths.vip_port, lb["vip_port_id"])
        namespace = contract.namespace(lb["id"])
        vif.plug(vif.Vif(
            port_id=lb["vip_port_id"], mac=lb["vip_mac"], namespace=namespace,
            host_namespace=self.host_namespace,
            addresses=[f"{lb['vip_address']}/{lb['vip_prefixlen']}"],
            gateway=lb["gateway_ip"], mtu=lb["mtu"]))
        text = render.render(lb, paths.socket)
        running = self.pid(paths)
        if text is None:
            if running is not None:
                daemons.stop_process(running)
            daemons.unlink(paths.config, paths.pid)
            return
        if running is not None and daemons.read(paths.config) == text:
            return
        candidate = paths.config + ".new"
        daemons.write(candidate, text)
        # Checked before it replaces what runs: a bad one leaves the old in place.
        privileged.execute([self.haproxy, "-c", "-q", "-f", candidate])
        os.replace(candidate, paths.config)
        command = [self.haproxy, "-f", paths.config, "-p", paths.pid, "-D"]
        if running is not None:
            command += ["-sf", str(running)]     # a soft reload: old connections finish
        privileged.execute(command, namespace)
        daemons.wait_started(paths.pid, self.haproxy, paths.config, "haproxy",
                             START_TIMEOUT)

    def pid(self, paths: Paths) -> int | None:
        return daemons.running_pid(paths.pid, self.haproxy, paths.config)

    def remove(self, lb_id: str) -> None:
        """Stop HAProxy, remove the namespace, its tap and the directory."""
        paths = Paths(self.root, lb_id)
        vip_port_id = daemons.read(paths.vip_port)
        running = self.pid(paths)
        if running is not None:
            daemons.stop_process(running)
        namespace = contract.namespace(lb_id)
        for pid in privileged.namespace_pids(namespace) if \
                privileged.namespace_exists(namespace) else []:
            daemons.stop_process(pid)
        if vip_port_id is not None:
            vif.unplug(vip_port_id, namespace, self.host_namespace)
        else:
            privileged.delete_namespace(namespace)
        shutil.rmtree(paths.dir, ignore_errors=True)

    def members(self, lb_id: str) -> dict[str, str]:
        """The members' health as HAProxy sees it ({} when it does not run)."""
        paths = Paths(self.root, lb_id)
        if self.pid(paths) is None:
            return {}
        try:
            return stats.member_statuses(show_stat(paths.socket))
        except OSError as error:
            LOG.warning("load balancer %s: stats socket unreadable: %s", lb_id, error)
            return {}


def show_stat(path: str, timeout: float = 2.0) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(b"show stat\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()
