"""A host with real agents for the agent fault tests (broker restart, kill -9).

One host namespace (entered with ``nsenter``) runs the real agent binaries, the Linux
bridge agent and the DHCP agent, as separate processes, each with its own pid. They
reach RabbitMQ, which listens on the root namespace's loopback only, through a
forwarder listening inside the host namespace (dataplane/forwarder.py). The server
and the agents use a RabbitMQ vhost of their own (dataplane/vhost.py): no other
server on the shared broker answers these agents. Everyone reaches the broker
through a TCP proxy the test controls (faults_fixtures.TcpProxy): refusing, it is
the broker stopped for this test's clients only; the machine's broker and everyone
else's connections go on.

What the host realised is read from the kernel and the files the agents own:
bridge members, the firewall's chains, each network's dnsmasq (by its pid file and
command line) and its hosts file.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
from pathlib import Path

from neutrino.agent import vif as vif_mod
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from server import BIN, Api

LOCAL_IP = "198.51.100.1"


class AgentProcess:
    """One agent binary in the host namespace, stopped or killed by its pid."""

    def __init__(self, binary: str, host_ns: str, config: str, work: Path) -> None:
        self.binary = binary
        self.host_ns = host_ns
        self.config = work / f"{binary}.ini"
        self.config.write_text(config)
        self.log = work / f"{binary}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> AgentProcess:
        with open(self.log, "ab") as out:
            # nsenter, not `ip netns exec`: that one also gives the agent a mount
            # namespace of its own, where the qdhcp- namespaces it makes would stay
            # (and die with it), unlike an agent on a host. nsenter execs the
            # agent: the pid is the agent's own.
            self.proc = subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{self.host_ns}", str(BIN / self.binary),
                 "--config-file", str(self.config)], stdout=out, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def terminate(self) -> None:
        """SIGTERM (a clean stop), not waited for: see stop()."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.tail()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, size: int = 3000) -> str:
        return self.log.read_text()[-size:] if self.log.exists() else ""


# Reconnect to the broker every second (oslo.messaging's default backs off by 2 s
# more each time, up to 30 s): the outage's length is then what the test waits for.
RECONNECT = "[oslo_messaging_rabbit]\nrabbit_retry_backoff = 0\n"


def agent_configs(host: str, bus_url: str, state_path: str) -> dict[str, str]:
    """Both agents' configuration files. resync_interval is far beyond the test:
    whatever converges does so because a trigger said so, not the periodic resync."""
    common = (f"[DEFAULT]\nhost = {host}\ntransport_url = {bus_url}\n"
              f"state_path = {state_path}\nrpc_response_timeout = 10\n" + RECONNECT)
    agent = ("[AGENT]\npolling_interval = 0.2\nreport_interval = 1\n"
             "resync_interval = 600\n")
    return {
        "neutrino-linuxbridge-agent": common + f"[vxlan]\nlocal_ip = {LOCAL_IP}\n" + agent,
        "neutrino-dhcp-agent": common + agent + "check_child_processes_interval = 1\n",
    }


def state_dir() -> str:
    """A state_path dnsmasq can read after dropping its privileges (pytest's
    tmp_path is not world-traversable)."""
    path = tempfile.mkdtemp(prefix="neutrino-faults-")
    os.chmod(path, 0o755)
    return path


# -- what the host realised --------------------------------------------------------------


def bridge_members(host_ns: str, bridge: str) -> set[str]:
    with Kernel(host_ns) as kernel:
        return {name for name, link in kernel.links().items() if link.master == bridge}


def bridges(host_ns: str) -> set[str]:
    with Kernel(host_ns) as kernel:
        return {name for name, link in kernel.links().items() if link.kind == "bridge"}


def our_chains(host_ns: str) -> set[str]:
    out = subprocess.run(["ip", "netns", "exec", host_ns, "iptables-save", "-t",
                          "filter"], capture_output=True, text=True, check=True).stdout
    return {line[1:].split()[0] for line in out.splitlines()
            if line.startswith(":neutrino-")}


def port_chains(port_id: str) -> set[str]:
    return {f"neutrino-{kind}{port_id[:10]}" for kind in "ios"}


def dnsmasqs(dhcp_dir: str) -> dict[str, list[int]]:
    """Every running dnsmasq whose pid file is under `dhcp_dir`, by network: a
    network with two is a duplicate, whatever the pid files say."""
    found: dict[str, list[int]] = {}
    pattern = re.compile(rf"^--pid-file={re.escape(dhcp_dir)}/([0-9a-f-]{{36}})/pid$")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        argv = privileged.process_cmdline(int(entry)) or []
        if not argv or os.path.basename(argv[0]) != "dnsmasq":
            continue
        for arg in argv:
            if match := pattern.match(arg):
                found.setdefault(match.group(1), []).append(int(entry))
    return found


def hosts_entries(dhcp_dir: str, network_id: str) -> set[tuple[str, str]]:
    """(MAC, address) of each line of the network's dnsmasq hosts file."""
    try:
        text = Path(dhcp_dir, network_id, "host").read_text()
    except FileNotFoundError:
        return set()
    entries = set()
    for line in text.splitlines():
        fields = line.split(",")
        entries.add((fields[0], fields[2].strip("[]")))
    return entries


def desired_entries(api: Api, network_id: str) -> set[tuple[str, str]]:
    ports = api.get("ports", params={"network_id": network_id}).json()["ports"]
    return {(p["mac_address"], ip["ip_address"]) for p in ports for ip in p["fixed_ips"]}


def vm_namespace(prefix: str, port: dict) -> str:
    return f"{prefix}vm-{port['id'][:6]}"


def plug_vm(host_ns: str, prefix: str, port: dict, namespaces: list[str]) -> str:
    """The VM as neutrino-vif plugs it: its tap in the host namespace, the port's
    MAC and address inside."""
    namespace = vm_namespace(prefix, port)
    namespaces.append(namespace)
    vif_mod.plug(vif_mod.Vif(port_id=port["id"], mac=port["mac_address"],
                             namespace=namespace, host_namespace=host_ns,
                             addresses=[port["fixed_ips"][0]["ip_address"] + "/24"],
                             mtu=1450))
    return namespace
