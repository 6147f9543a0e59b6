"""VPNaaS end to end (issue 16) through the real server: two projects ("site A",
"site B"), each with a router on the one external network, a network, a subnet and
a VM behind it (l3_world.py: a server on RabbitMQ, the real L3 agent and Linux
bridge agent of one host namespace, VMs plugged with neutrino-vif). Each site
creates an IKE policy, an IPsec policy, a VPN service on its router and an IPsec
site connection to the other router's gateway address -- site A with the service's
subnet and peer_cidrs, site B with endpoint groups -- and then, as a user sees it:

* both connections and both services become ACTIVE through the API (the agent's
  status reports, ``update_status`` on topic ipsec_driver);
* VM A pings VM B's private address and back, through the tunnel (the routers
  exempt the tunnelled traffic from SNAT; no floating IPs anywhere);
* the connections deleted, the tunnel is down (no ping) and no charon runs.

The charons use userspace ESP (kernel-libipsec): this kernel has no ESP."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplane.l3_world import L3World, Vm, l3_world
from dataplane.test_l3_vpn import strongswan  # noqa: F401 - the fixture
from dataplane.topology import ping, ping_once, wait_for
from server import Api, ServerProcess

IKE, IPSEC, SERVICES = "vpn/ikepolicies", "vpn/ipsecpolicies", "vpn/vpnservices"
GROUPS, CONNECTIONS = "vpn/endpoint-groups", "vpn/ipsec-site-connections"
PSK = "e2e-s3cret"


@pytest.fixture(scope="module")
def world(server: ServerProcess, strongswan: None) -> Iterator[L3World]:  # noqa: F811
    with l3_world(server) as made:
        yield made


def create(api: Api, path: str, kind: str, **attrs: object) -> dict:
    response = api.post(path, {kind: attrs})
    assert response.status_code == 201, response.text
    return response.json()[kind]


def vpn_status(api: Api, path: str, kind: str, item: dict) -> str:
    return api.get(f"{path}/{item['id']}").json()[kind]["status"]


class Site:
    def __init__(self, world: L3World, name: str, cidr: str) -> None:
        self.world, self.name, self.cidr = world, name, cidr
        self.api = world.project()
        self.net, self.subnet = world.network(self.api, cidr)
        self.router = world.router(self.api, self.subnet)
        self.vm: Vm = world.vm(self.api, self.net, world.open_group(self.api), name)
        self.gateway_ip = world.gateway_ip(self.router)
        self.made: list[tuple[str, dict]] = []   # what to delete, newest last
        self.service: dict = {}
        self.connection: dict = {}

    def add(self, path: str, kind: str, **attrs: object) -> dict:
        item = create(self.api, path, kind, **attrs)
        self.made.append((path, item))
        return item

    def vpn(self, peer: Site, endpoint_groups: bool) -> None:
        ike = self.add(IKE, "ikepolicy", name=f"ike-{self.name}", ike_version="v2",
                       auth_algorithm="sha256", encryption_algorithm="aes-128",
                       pfs="group14")
        ipsec = self.add(IPSEC, "ipsecpolicy", name=f"ipsec-{self.name}",
                         auth_algorithm="sha256", encryption_algorithm="aes-128",
                         pfs="group14")
        refs: dict[str, object] = {"ikepolicy_id": ike["id"], "ipsecpolicy_id": ipsec["id"]}
        if endpoint_groups:
            self.service = self.add(SERVICES, "vpnservice", name=f"vpn-{self.name}",
                                    router_id=self.router["id"])
            local = self.add(GROUPS, "endpoint_group", name=f"local-{self.name}",
                             type="subnet", endpoints=[self.subnet["id"]])
            remote = self.add(GROUPS, "endpoint_group", name=f"peer-{self.name}",
                              type="cidr", endpoints=[peer.cidr])
            refs.update(local_ep_group_id=local["id"], peer_ep_group_id=remote["id"])
        else:
            self.service = self.add(SERVICES, "vpnservice", name=f"vpn-{self.name}",
                                    router_id=self.router["id"],
                                    subnet_id=self.subnet["id"])
            refs["peer_cidrs"] = [peer.cidr]
        self.connection = self.add(
            CONNECTIONS, "ipsec_site_connection", name=f"to-{peer.name}",
            vpnservice_id=self.service["id"], peer_address=peer.gateway_ip,
            peer_id=peer.gateway_ip, psk=PSK, **refs)

    def statuses(self) -> tuple[str, str]:
        return (vpn_status(self.api, SERVICES, "vpnservice", self.service),
                vpn_status(self.api, CONNECTIONS, "ipsec_site_connection",
                           self.connection))

    def delete_connection(self) -> None:
        response = self.api.delete(f"{CONNECTIONS}/{self.connection['id']}")
        assert response.status_code == 204, response.text
        self.made = [(p, i) for p, i in self.made if i["id"] != self.connection["id"]]

    def close(self) -> None:
        """Everything VPN of the site, newest first (the routers go with the world)."""
        for path, item in reversed(self.made):
            self.api.delete(f"{path}/{item['id']}")
        self.made = []

    def charon(self) -> int | None:
        return self.world.l3.charons.running_pid(self.router["id"])

    def charon_processes(self) -> list[int]:
        """Processes whose command line names the router's charon directory (charon
        is started with it as its argument), whatever its pid file says."""
        directory = self.world.l3.charons.paths(self.router["id"]).directory
        found = []
        for proc in Path("/proc").iterdir():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if proc.name.isdigit() and directory.encode() in argv:
                found.append(int(proc.name))
        return found

    def log(self) -> str:
        path = Path(self.world.l3.charons.paths(self.router["id"]).log)
        text = path.read_text(errors="replace") if path.exists() else "(no log)"
        return f"--- charon of site {self.name}:\n{text[-3000:]}"


def test_site_to_site_vpn_through_the_api(world: L3World) -> None:
    third = random.randint(0, 250)
    sites: list[Site] = []
    try:
        a = Site(world, "a", f"10.{random.randint(100, 199)}.{third}.0/24")
        sites.append(a)
        b = Site(world, "b", f"10.{random.randint(100, 199)}.{third + 1}.0/24")
        sites.append(b)
        # No route between the sites' private networks without the tunnel.
        assert ping(a.vm.namespace, a.subnet["gateway_ip"], within=30)
        assert not ping_once(a.vm.namespace, b.vm.ip)

        a.vpn(b, endpoint_groups=False)
        b.vpn(a, endpoint_groups=True)

        # The agent brings both connections up and reports them.
        assert wait_for(lambda: a.statuses() == b.statuses() == ("ACTIVE", "ACTIVE"),
                        60), (a.statuses(), b.statuses(), a.log(), b.log())
        assert a.charon() is not None and b.charon() is not None
        assert a.charon_processes() and b.charon_processes()

        # Private address to private address, both ways, through the tunnel.
        assert ping(a.vm.namespace, b.vm.ip, within=20), \
            "no ping A -> B:\n" + a.log() + b.log()
        assert ping(b.vm.namespace, a.vm.ip, within=10), "no ping B -> A"

        # The connections deleted: the tunnel is down and no charon is left.
        a.delete_connection()
        b.delete_connection()
        assert wait_for(lambda: a.charon() is None and b.charon() is None, 30), \
            (a.charon(), b.charon())
        assert wait_for(lambda: not a.charon_processes() and not b.charon_processes(),
                        10), (a.charon_processes(), b.charon_processes())
        assert not ping_once(a.vm.namespace, b.vm.ip)
        assert not ping_once(b.vm.namespace, a.vm.ip)
    finally:
        for site in sites:
            site.close()
