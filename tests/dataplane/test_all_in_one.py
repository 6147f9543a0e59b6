"""The all-in-one: ``neutrino-server`` as root on the embedded default (SQLite,
in-process bus) runs this host's Linux bridge, DHCP, metadata, L3 and metering agents,
registered under the machine's name; ports bound here and plugged with
``neutrino-vif`` go ACTIVE, ping and read their own metadata; SIGTERM stops it
cleanly, the dataplane stays, and the next start reconciles it.

This test works in the ROOT namespace (that is the point of the all-in-one):
``brq<net>``, ``vxlan-<vni>``, ``tap<port>``, ``qdhcp-<net>`` and the firewall's
``neutrino-*`` chains of its own network and ports. It deletes them through the API
(the agents remove them), and its ``finally`` removes whatever is left. Another
all-in-one running on the same machine at the same time would fight over the root
namespace's ``brq*`` devices: do not run this test beside one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dataplane.test_linuxbridge_agent import wait_for
from dataplane.topology import ping
from neutrino.agent import vif as vif_mod
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.metadata.proxies import MetadataProxies
from server import BIN, Api, free_port

HOST = socket.gethostname()
ALL_AGENTS = {"Linux bridge agent", "DHCP agent", "Metadata agent", "L3 agent",
              "Metering agent"}
# Load balancing is on in the all-in-one when HAProxy is installed (issue 16;
# neutrino.cmd.service_plugins), and with it the load balancer agent.
HAPROXY = shutil.which("haproxy") is not None
if HAPROXY:
    ALL_AGENTS |= {"Loadbalancer agent"}


class AllInOne:
    """``neutrino-server --config-file`` with nothing but a port and a state
    directory: every other setting is the embedded default."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = state / "neutrino.conf"
        self.config.write_text(f"[DEFAULT]\nbind_port = {self.port}\n"
                               f"state_path = {state}\n")
        self.log = state / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> AllInOne:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "neutrino-server"), "--config-file", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.state,
                start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not start: " + self.log.read_text()[-3000:])

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM to the server (what Ctrl-C / systemd do); its exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def vif(*args: str) -> str:
    result = subprocess.run([str(BIN / "neutrino-vif"), *args], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def our_chains() -> dict[str, list[str]]:
    """The firewall's lines in the root namespace's iptables/ip6tables."""
    out = {}
    for tool in ("iptables-save", "ip6tables-save"):
        text = subprocess.run([tool, "-t", "filter"], capture_output=True, text=True,
                              check=False).stdout
        out[tool] = [line for line in text.splitlines() if "neutrino-" in line]
    return out


def remove_firewall_base() -> None:
    """Remove the firewall's jumps and (empty) base chains from the root namespace:
    only called when they were not there before this test."""
    for tool in ("iptables", "ip6tables"):
        for parent, chain in (("INPUT", "neutrino-INPUT"), ("FORWARD", "neutrino-FORWARD")):
            subprocess.run([tool, "-D", parent, "-j", chain], capture_output=True,
                           check=False)
        text = subprocess.run([f"{tool}-save", "-t", "filter"], capture_output=True,
                              text=True, check=False).stdout
        chains = [line[1:].split()[0] for line in text.splitlines()
                  if line.startswith(":neutrino-")]
        for chain in chains:
            subprocess.run([tool, "-F", chain], capture_output=True, check=False)
        for chain in chains:
            subprocess.run([tool, "-X", chain], capture_output=True, check=False)


@pytest.fixture
def aio(root: None, tmp_path: Path) -> Iterator[AllInOne]:
    server = AllInOne(tmp_path)
    firewall_before = our_chains()
    try:
        yield server
    finally:
        server.kill()
        if not any(firewall_before.values()):
            remove_firewall_base()


def test_all_in_one_runs_this_hosts_agents(aio: AllInOne) -> None:
    # Something that is not the agents' own: it must survive them.
    decoy = "ntaio" + uuid.uuid4().hex[:6]
    root_ns = Kernel()
    root_ns.add_bridge(decoy)
    net = ports = None
    plugged: list[str] = []  # port ids
    try:
        aio.start()
        api = Api(aio.url)
        log = aio.log.read_text()
        assert f"starting this host's agents (Linux bridge, DHCP, metadata, L3, metering) " \
               f"in the API worker as host {HOST}" in log, log
        assert "all-in-one: service_plugins = firewall_v2" in log, log
        assert (api.get("/v2/lbaas/loadbalancers").status_code == 200) == HAPROXY

        def agents() -> dict[str, dict]:
            found = api.get("agents", params={"host": HOST}).json()["agents"]
            return {a["agent_type"]: a for a in found if a["alive"]}
        assert wait_for(lambda: set(agents()) == ALL_AGENTS,
                        within=30), agents()
        lb = agents()["Linux bridge agent"]
        assert lb["binary"] == "neutrino-linuxbridge-agent"
        assert lb["configurations"]["tunnel_types"] == ["vxlan"]
        assert lb["configurations"]["tunneling_ip"]  # the host's primary address

        # The default tenant network type: VXLAN, realised on this one host.
        net = api.network(name="aio-" + uuid.uuid4().hex[:8])
        assert net["provider:network_type"] == "vxlan"
        api.subnet(net["id"], "10.251.17.0/24")
        ports = [api.port(net["id"], device_id=str(uuid.uuid4())) for _ in range(2)]
        for port in ports:
            out = vif("plug", port["id"], "--url", aio.url)
            assert f"binding:host_id {HOST}" in out, out
            plugged.append(port["id"])
        vms = [vif_mod.vm_namespace(p["id"]) for p in ports]

        def statuses() -> list[str]:
            return [api.get(f"ports/{p['id']}").json()["port"]["status"] for p in ports]
        assert wait_for(lambda: statuses() == ["ACTIVE", "ACTIVE"], within=30), statuses()
        ip = [p["fixed_ips"][0]["ip_address"] for p in ports]
        assert ping(vms[0], ip[1], within=15), "the two VMs cannot ping"

        bridge = "brq" + net["id"][:11]
        vxlan = f"vxlan-{net['provider:segmentation_id']}"
        assert root_ns.exists(bridge) and root_ns.exists(vxlan)

        # The embedded DHCP agent serves the network: its port is plugged into the
        # same bridge by the embedded L2 agent, and answers.
        def dhcp_port() -> dict | None:
            found = api.get("ports", params={"network_id": net["id"],
                                             "device_owner": "network:dhcp"}).json()
            return found["ports"][0] if found["ports"] else None
        assert wait_for(lambda: (dhcp_port() or {}).get("status") == "ACTIVE",
                        within=30), dhcp_port()
        assert f"qdhcp-{net['id']}" in privileged.namespaces()
        dhcp_ip = dhcp_port()["fixed_ips"][0]["ip_address"]
        assert ping(vms[0], dhcp_ip, within=15)

        # Metadata without Nova: the network is isolated (no router), so its DHCP
        # namespace serves 169.254.169.254 (the built-in upstream); the VM reaches it
        # through the DHCP port (what option 121 tells a DHCP guest).
        subprocess.run(["ip", "netns", "exec", vms[0], "ip", "route", "add",
                        "169.254.169.254/32", "via", dhcp_ip], check=True)
        assert wait_for(lambda: metadata_uuid(vms[0]) == ports[0]["device_id"],
                        within=30), metadata_uuid(vms[0])

        # SIGTERM: a clean stop; the dataplane stays (VMs keep talking).
        assert aio.terminate() == 0, aio.log.read_text()[-3000:]
        log = aio.log.read_text()
        assert "Traceback" not in log, log[-3000:]
        assert "embedded agents stopped (Linux bridge agent, Metadata agent, DHCP " \
               "agent, L3 agent, Metering agent" + \
               (", Load balancer agent)" if HAPROXY else ")") in log
        assert root_ns.exists(bridge) and root_ns.exists(vxlan)
        assert ping(vms[0], ip[1], within=5)

        # While it is down a VM goes away; the next start reconciles: port 0 DOWN,
        # port 1 still ACTIVE, nothing duplicated.
        vif("unplug", ports[0]["id"])
        plugged.remove(ports[0]["id"])
        vms.pop(0)
        aio.start()
        assert wait_for(lambda: set(agents()) == ALL_AGENTS,
                        within=30), agents()
        assert wait_for(lambda: statuses() == ["DOWN", "ACTIVE"], within=30), statuses()
        assert ping(vms[0], dhcp_port()["fixed_ips"][0]["ip_address"], within=15)
        assert len([a for a in api.get("agents").json()["agents"]
                    if a["host"] == HOST]) == len(ALL_AGENTS)

        # Everything deleted through the API: the agents remove what they built,
        # and only that.
        for port in ports:
            assert api.delete(f"ports/{port['id']}").status_code == 204
        assert api.delete(f"networks/{net['id']}").status_code == 204
        assert wait_for(lambda: not root_ns.exists(bridge) and not root_ns.exists(vxlan)
                        and f"qdhcp-{net['id']}" not in privileged.namespaces(),
                        within=30)
        net = None
        assert root_ns.exists(decoy)
        assert aio.terminate() == 0
    finally:
        aio.kill()  # first: a running DHCP agent would restart what is removed below
        for port_id in plugged:
            vif_mod.unplug(port_id)
        if net is not None:
            root_ns.delete("brq" + net["id"][:11])
            root_ns.delete(f"vxlan-{net['provider:segmentation_id']}")
            stop_dnsmasq(aio.state / "dhcp" / net["id"])
            stop_metadata_proxy(aio.state / "dhcp" / "metadata-proxy", net["id"])
            privileged.delete_namespace(f"qdhcp-{net['id']}")
        root_ns.delete(decoy)
        root_ns.close()


def metadata_uuid(vm: str) -> str | None:
    """The uuid of meta_data.json as the VM reads it (None: no answer)."""
    code = ("import json, urllib.request; o = urllib.request.build_opener("
            "urllib.request.ProxyHandler({})); print(json.load(o.open("
            "'http://169.254.169.254/openstack/latest/meta_data.json', timeout=3))['uuid'])")
    result = subprocess.run(["ip", "netns", "exec", vm, sys.executable, "-c", code],
                            capture_output=True, text=True, timeout=30, check=False)
    return result.stdout.strip() or None


def stop_dnsmasq(directory: Path) -> None:
    """Kill the dnsmasq the DHCP agent left serving (it outlives the agent)."""
    try:
        pid = int((directory / "pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def stop_metadata_proxy(directory: Path, network_id: str) -> None:
    """Stop the metadata proxy the DHCP agent left serving (it outlives the agent)."""
    MetadataProxies(str(directory), "unused").remove(f"qdhcp-{network_id}")
