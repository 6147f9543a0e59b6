"""VPNaaS on the L3 agent (issue 16), real namespaces and strongSwan: two routers
in two "sites" on one external network, each with a VM behind it; the L3
reconciler, given hand-built "l3" desired states (the server side is tested
elsewhere), starts a charon with userspace ESP (kernel-libipsec: this kernel has no
ESP) in each router namespace; the VMs ping each other's private address through
the tunnel, the status reporter sends the connection ACTIVE, and deleting the
service stops charon and leaves nothing behind (process, files, TUN device,
routing rule, routes).

The status cast goes to a list standing in for the RPC client: the transport of
``update_status`` (topic ipsec_driver) is tested with the server, not here.

Layout (names unique to the test, everything removed on the way out)::

  VM A 10.71.1.10 ── brA ── qr ┐ qrouter-A ┌ qg 172.31.71.10 ─┐
                               └ charon, ipsec0                 ├ brE (the host
  VM B 10.71.2.10 ── brB ── qr ┐ qrouter-B ┌ qg 172.31.71.20 ─┘  namespace)
                               └ charon, ipsec0
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import unavailable
from dataplane.topology import Topology, ping, ping_once, random_mac, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.l3 import plan as l3_plan
from neutrino.agent.l3.reconciler import Reconciler
from neutrino.agent.l3.vpn import render
from neutrino.agent.l3.vpn.reporter import VpnStatusReporter
from neutrino.agent.l3.vpn.strongswan import Strongswan
from neutrino.contract import names

EXT_CIDR, EXT_GW = "172.31.71.0/24", "172.31.71.1"
SITES = {"a": ("172.31.71.10", "10.71.1"), "b": ("172.31.71.20", "10.71.2")}


@pytest.fixture(scope="module")
def strongswan() -> None:
    for tool in (render.BINARY, "swanctl"):
        if not shutil.which(tool) and not os.path.exists(tool):
            unavailable(f"strongSwan is not installed ({tool}; Debian strongswan-charon, "
                        "strongswan-swanctl, libcharon-extra-plugins)")
    if not os.path.exists("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"):
        unavailable("strongSwan's kernel-libipsec plugin is not installed "
                    "(Debian libcharon-extra-plugins)")


def fixed(ip: str, cidr: str, gateway: str | None) -> dict:
    return {"subnet_id": "s-" + cidr, "ip_address": ip, "cidr": cidr,
            "prefixlen": int(cidr.split("/")[1]), "ip_version": 4, "gateway_ip": gateway}


def port(port_id: str, device: str, mac: str, *ips: dict) -> dict:
    return {"port_id": port_id, "network_id": "n-" + port_id, "mac_address": mac,
            "mtu": 1500, "revision_number": 1, "device": device, "fixed_ips": list(ips)}


class Site:
    def __init__(self, name: str) -> None:
        self.name = name
        self.gateway_ip, self.net = SITES[name]
        self.router_id = str(uuid.uuid4())
        self.gw_port, self.if_port, self.vm_port = (str(uuid.uuid4()) for _ in range(3))
        self.service_id, self.connection_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.gw_mac, self.if_mac = random_mac(), random_mac()
        self.vm = ""

    @property
    def cidr(self) -> str:
        return f"{self.net}.0/24"

    @property
    def namespace(self) -> str:
        return names.router_namespace(self.router_id)

    def router(self, peer: Site | None, status: str = "PENDING_CREATE") -> dict:
        r = {"id": self.router_id, "revision_number": 1, "admin_state_up": True,
             "enable_snat": True, "routes": [], "floating_ips": [],
             "gateway": port(self.gw_port, names.router_gateway(self.gw_port), self.gw_mac,
                             fixed(self.gateway_ip, EXT_CIDR, EXT_GW)),
             "interfaces": [port(self.if_port, names.router_interface(self.if_port),
                                 self.if_mac,
                                 fixed(f"{self.net}.1", self.cidr, f"{self.net}.1"))],
             "vpn_services": []}
        if peer is not None:
            r["vpn_services"] = [{
                "id": self.service_id, "status": status, "admin_state_up": True,
                "external_v4_ip": self.gateway_ip, "external_v6_ip": None,
                "connections": [{
                    "id": self.connection_id, "status": status, "admin_state_up": True,
                    "peer_address": peer.gateway_ip, "peer_id": peer.gateway_ip,
                    "local_id": "", "local_cidrs": [self.cidr], "peer_cidrs": [peer.cidr],
                    "psk": "s3cret-psk", "mtu": 1500, "initiator": "bi-directional",
                    "dpd_action": "restart", "dpd_interval": 10, "dpd_timeout": 30,
                    "ikepolicy": {"ike_version": "v2", "auth_algorithm": "sha256",
                                  "encryption_algorithm": "aes-128", "pfs": "group14",
                                  "lifetime_seconds": 3600,
                                  "phase1_negotiation_mode": "main"},
                    # AEAD and an ECP group: the openssl plugin, through libipsec.
                    "ipsecpolicy": {"transform_protocol": "esp",
                                    "encapsulation_mode": "tunnel",
                                    "auth_algorithm": "sha256",
                                    "encryption_algorithm": "aes-256-gcm-16",
                                    "pfs": "group19", "lifetime_seconds": 3600}}]}]
        return r


@pytest.fixture
def world(root: None, strongswan: None, topo: Topology, tmp_path: Path
          ) -> Iterator[tuple[Topology, str, Reconciler, Strongswan, dict[str, Site]]]:
    host = topo.namespace("host")
    hostname = topo.prefix + "vpn"
    charons = Strongswan(str(tmp_path / "ipsec"))
    reconciler = Reconciler(l3_plan.Settings(), hostname, host_namespace=host,
                            vpn=charons)
    sites = {name: Site(name) for name in SITES}
    try:
        yield topo, host, reconciler, charons, sites
    finally:
        try:
            reconciler.reconcile({"host": hostname, "routers": []})  # type: ignore[typeddict-item]
        finally:
            for site in sites.values():
                charons.remove(site.router_id, site.namespace)
                if privileged.namespace_exists(site.namespace):
                    privileged.delete_namespace(site.namespace)


def tracked(site: Site) -> str:
    """The router's tracked connections."""
    return subprocess.run(["ip", "netns", "exec", site.namespace, "conntrack", "-L"],
                          capture_output=True, text=True, check=False).stdout


def logs(charons: Strongswan, *sites: Site) -> str:
    """The charons' logs (a failure's explanation)."""
    out = []
    for site in sites:
        path = charons.paths(site.router_id).log
        text = Path(path).read_text() if os.path.exists(path) else "(none)"
        out.append(f"--- charon of site {site.name}:\n{text[-3000:]}")
    return "\n".join(out)


def plug(topo: Topology, host: str, sites: dict[str, Site]) -> None:
    """The bridges the Linux bridge agent would make: the external network and each
    site's internal one, with its VM."""
    with Kernel(host) as kernel:
        for bridge in ("brE", "brA", "brB"):
            kernel.add_bridge(bridge)
            kernel.set_link(bridge, up=True)
    for site in sites.values():
        site.vm = topo.vm(host, site.vm_port, random_mac(), f"{site.net}.10/24", mtu=1500)
        with Kernel(site.vm) as vm:
            vm.add_default_route(f"{site.net}.1")
        bridge = "brA" if site.name == "a" else "brB"
        with Kernel(host) as kernel:
            kernel.set_link(names.tap_device(site.gw_port), master="brE")
            kernel.set_link(names.tap_device(site.if_port), master=bridge)
            kernel.set_link(names.tap_device(site.vm_port), master=bridge)


def test_ipsec_tunnel_between_two_sites_and_nothing_left_after(world) -> None:
    topo, host, reconciler, charons, sites = world
    a, b = sites["a"], sites["b"]
    hostname = reconciler.host
    # The routers first (their taps must be on the bridges before IKE starts).
    result = reconciler.reconcile({"host": hostname,  # type: ignore[typeddict-item]
                                   "routers": [a.router(None), b.router(None)]})
    assert not result.failed
    plug(topo, host, sites)
    assert ping(a.vm, f"{a.net}.1") and ping(b.vm, f"{b.net}.1")
    # Not routed to the other site yet: SNATed out of the gateway, into the void.
    assert not ping_once(a.vm, f"{b.net}.10")
    # A UDP flow that began before the tunnel keeps its translation while it lasts:
    # the agent cuts it when the exemption comes.
    udp = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
           f"s.bind(('', 40123)); s.sendto(b'x', ('{b.net}.10', 9))")
    subprocess.run(["ip", "netns", "exec", a.vm, sys.executable, "-c", udp], check=True)
    assert f"dst={a.gateway_ip} sport=9 dport=40123" in tracked(a)

    desired = {"host": hostname, "routers": [a.router(b), b.router(a)]}
    result = reconciler.reconcile(desired)  # type: ignore[arg-type]
    assert not result.failed
    assert set(result.vpn_routers) == {a.router_id, b.router_id}
    assert "dport=40123" not in tracked(a)
    for site in (a, b):
        assert charons.running_pid(site.router_id) is not None
        # The NAT exemption: the peer's network is reached unSNATed.
        table = privileged.nft_list_table("ip", "neutrino-nat", site.namespace) or ""
        peer = b if site is a else a
        assert f"ip saddr {site.cidr} ip daddr {peer.cidr} accept" in table

    assert ping(a.vm, f"{b.net}.10", within=20), \
        "no ping through the tunnel A -> B:\n" + logs(charons, a, b)
    assert ping(b.vm, f"{a.net}.10", within=5), "no ping through the tunnel B -> A"

    # Status: what the agent would cast (update_status on ipsec_driver).
    sent: list[list[dict]] = []
    reporter = VpnStatusReporter(charons, sent.append)  # type: ignore[arg-type]
    reporter.watch(result.vpn_routers)

    def active() -> bool:
        reporter.tick()
        got = {r["id"]: r for batch in sent for r in batch}
        return all(got.get(s.service_id, {}).get("status") == "ACTIVE"
                   and got[s.service_id]["ipsec_site_connections"][s.connection_id][
                       "status"] == "ACTIVE" for s in (a, b))

    assert wait_for(active, within=10), sent
    last = {r["id"]: r for batch in sent for r in batch}[a.service_id]
    assert last["updated_pending_status"] is True
    assert last["ipsec_site_connections"][a.connection_id] == {
        "status": "ACTIVE", "updated_pending_status": True}
    # Once the server has it, nothing more is sent.
    caught_up = {"host": hostname, "routers": [a.router(b, "ACTIVE"), b.router(a, "ACTIVE")]}
    result = reconciler.reconcile(caught_up)  # type: ignore[arg-type]
    assert not result.failed and not result.actions  # same configuration: untouched
    reporter.watch(result.vpn_routers)
    assert reporter.tick() == []

    # The service goes from router A: its charon stops, nothing of it is left.
    pid = charons.running_pid(a.router_id)
    directory = charons.paths(a.router_id).directory
    result = reconciler.reconcile({"host": hostname,  # type: ignore[typeddict-item]
                                   "routers": [a.router(None), b.router(a, "ACTIVE")]})
    assert not result.failed
    assert pid is not None and privileged.process_cmdline(pid) is None
    assert charons.running_pid(a.router_id) is None
    assert not os.path.exists(directory)
    with Kernel(a.namespace) as kernel:
        assert not any(name.startswith("ipsec") for name in kernel.links())
    rules = subprocess.run(["ip", "netns", "exec", a.namespace, "ip", "rule"],
                           capture_output=True, text=True, check=True).stdout
    assert "lookup 220" not in rules
    routes = subprocess.run(["ip", "netns", "exec", a.namespace, "ip", "route", "show",
                             "table", "all"], capture_output=True, text=True,
                            check=True).stdout
    assert b.net not in routes
    table = privileged.nft_list_table("ip", "neutrino-nat", a.namespace) or ""
    assert b.cidr not in table
    assert not ping_once(a.vm, f"{b.net}.10")
    # Router B's connection goes DOWN (its peer is gone): reported.
    reporter.watch(result.vpn_routers)
    assert wait_for(lambda: any(
        r["ipsec_site_connections"][b.connection_id]["status"] == "DOWN"
        for r in reporter.tick()), within=60)


def test_charon_accepts_every_proposal_rendered(root: None, strongswan: None,
                                                topo: Topology, tmp_path: Path) -> None:
    """Every API encryption x integrity pair and every DH group, loaded into a real
    charon (strongSwan parses the proposals; a keyword it does not know fails the
    load)."""
    namespace = topo.namespace("r")
    charons = Strongswan(str(tmp_path / "ipsec"))
    router_id = str(uuid.uuid4())
    groups = sorted(render.DH_GROUPS)
    connections = []
    pairs = [(e, a) for e in sorted(render.ENCRYPTION) for a in sorted(render.INTEGRITY)]
    for i, (encryption, auth) in enumerate(pairs):
        group = groups[i % len(groups)]
        policy = {"auth_algorithm": auth, "encryption_algorithm": encryption, "pfs": group,
                  "lifetime_seconds": 3600}
        connections.append({
            "id": f"{i:04d}-{encryption}-{auth}", "status": "DOWN", "admin_state_up": True,
            "peer_address": f"192.0.2.{i % 250 + 1}", "peer_id": "", "local_id": "",
            "local_cidrs": ["10.0.0.0/24"], "peer_cidrs": [f"10.{i % 250 + 1}.0.0/24"],
            "psk": "k", "mtu": 1500, "initiator": "response-only", "dpd_action": "hold",
            "dpd_interval": 30, "dpd_timeout": 120,
            "ikepolicy": {**policy, "ike_version": "v1" if i % 2 else "v2",
                          "phase1_negotiation_mode": "main"},
            "ipsecpolicy": {**policy, "transform_protocol": "esp",
                            "encapsulation_mode": "tunnel"}})
    router = {"id": router_id, "gateway": {"port_id": "g"}, "vpn_services": [{
        "id": "s", "status": "DOWN", "admin_state_up": True, "external_v4_ip": "192.0.2.254",
        "external_v6_ip": None, "connections": connections}]}
    try:
        charons.ensure(router_id, namespace, router)  # raises when a load fails
        listed = privileged.execute(charons._swanctl(charons.paths(router_id),
                                                     "--list-conns", "--raw"))
        assert listed.count("list-conn event") == len(pairs)
        assert set(groups) <= {groups[i % len(groups)] for i in range(len(pairs))}
    finally:
        charons.remove(router_id, namespace)
    assert charons.routers() == []
