"""The L3 agent end to end (issue 12): a real server on RabbitMQ, the Linux bridge
agent and the L3 agent of one host namespace, an "outside" namespace beyond the
flat external network, VMs plugged with neutrino-vif (l3_world.py).

Each test makes its own project, networks and routers through the API and checks
what a user would: traffic through SNAT and floating IPs, the statuses clients
wait for, and what the host holds."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from dataplane.l3_world import (
    EXT_GATEWAY,
    INTERNET,
    PORT,
    WHO_SERVER,
    Conversation,
    L3World,
    l3_world,
    reachable,
    run_in,
    who,
    who_within,
)
from dataplane.test_linuxbridge_e2e import vif
from dataplane.topology import wait_for
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.firewall import conntrack
from neutrino.agent.l3 import nat
from neutrino.agent.l3 import plan as l3_plan
from neutrino.agent.vif import GUEST_IFNAME
from server import ServerProcess

# An API change reaches the router (notification, sync, apply) well within this.
APPLY_WITHIN = 10.0


class Proxies:
    """A MetadataProxies standing in for the metadata agent's: per router a server
    on the metadata port in its namespace answering "metadata-<router[:8]> <peer>"."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.removed: list[str] = []

    def ensure(self, router_id: str, namespace: str, router: Mapping[str, Any]) -> None:
        proc = self.procs.get(router_id)
        if proc is not None and proc.poll() is None:
            return
        self.procs[router_id] = proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", WHO_SERVER,
             f"metadata-{router_id[:8]}", "0.0.0.0", str(nat.METADATA_PORT)],
            stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    def remove(self, router_id: str, namespace: str) -> None:
        self.removed.append(router_id)
        proc = self.procs.pop(router_id, None)
        if proc is not None:
            proc.kill()
            proc.wait(5)

    def remove_stale(self, keep: Iterable[str]) -> list[str]:
        kept = set(keep)
        stale = [l3_plan.namespace_name(router_id) for router_id in sorted(self.procs)
                 if l3_plan.namespace_name(router_id) not in kept]
        for namespace in stale:
            self.remove(l3_plan.router_of(namespace) or namespace, namespace)
        return stale

    def close(self) -> None:
        for router_id in list(self.procs):
            self.remove(router_id, "")


@pytest.fixture(scope="module")
def proxies() -> Iterator[Proxies]:
    made = Proxies()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def world(server: ServerProcess, proxies: Proxies) -> Iterator[L3World]:
    with l3_world(server, metadata_proxies=proxies) as made:
        yield made


def nat_listing(world: L3World, router: dict) -> str:
    return privileged.nft_list_table(nat.FAMILY, nat.TABLE, world.namespace_of(router)) or ""


def realised(world: L3World, router: dict) -> bool:
    """The agent has applied the router's current desired state: read from the
    server now (so with every change the API accepted before), planned against the
    router's namespace, it needs no action and the NAT table is the rendered one.
    What proves a change reached the kernel, whatever the answers of a probe."""
    agent = world.l3
    want = l3_plan.layout(agent.plugin.sync_routers(), agent.reconciler.settings)
    spec = want.routers.get(router["id"])
    if spec is None:
        return False
    with Kernel(world.host) as host:
        taps = host.links()
    if l3_plan.plan_router(spec, agent.reconciler.snapshot(spec, taps)):
        return False
    listing = privileged.nft_list_table(nat.FAMILY, nat.TABLE, spec.namespace)
    return nat.comment(listing) == (spec.nat.comment if spec.nat else None)


def router_gone(world: L3World, router: dict, ports: list[dict]) -> bool:
    """The router's namespace is gone and so are its taps on the host: the kernel
    destroys a deleted namespace's veth pairs (and with them the router's addresses)
    only once the namespace is torn down, which lags `ip netns del`."""
    if world.namespace_of(router) in privileged.namespaces():
        return False
    with Kernel(world.host) as host:
        return not any(host.exists("tap" + p["id"][:11]) for p in ports)


def tracked(world: L3World, router: dict, address: str) -> list:
    """The router namespace's tracked connections to `address`."""
    return conntrack.parse(privileged.conntrack_list(4, [address],
                                                     world.namespace_of(router)))


def test_snat_floating_ip_statuses_and_disassociation(world: L3World) -> None:
    api = world.project()
    net, subnet = world.network(api, "10.81.0.0/24")
    router = world.router(api, subnet)
    group = world.open_group(api)
    vm = world.vm(api, net, group, "vm1")
    gateway_ip = world.gateway_ip(router)

    # Out through SNAT: the outside sees the router's gateway address.
    world.serve(world.outside, "outside")
    assert who_within(vm.namespace, INTERNET, within=30) == f"outside {gateway_ip}"

    # The router's ports are bound to the host and ACTIVE once plugged.
    def port_states() -> list[tuple[str, str, str]]:
        return sorted((p["device_owner"], p["binding:host_id"], p["status"])
                      for p in world.router_ports(router["id"]))
    assert wait_for(lambda: {s for _, _, s in port_states()} == {"ACTIVE"}, 30), \
        port_states()
    assert {h for _, h, _ in port_states()} == {world.name}

    # In through a floating IP: the VM sees the outside's own address.
    fip = world.floatingip(api, vm)
    address = fip["floating_ip_address"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network("172.24.4.0/24")
    assert who_within(world.outside, address) == f"vm1 {EXT_GATEWAY}"
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "ACTIVE", 15)
    # ... and the VM's own traffic leaves from its floating IP.
    assert who_within(vm.namespace, INTERNET) == f"outside {address}"
    assert reachable(world.outside, address)

    # Disassociated: the open connection is cut, new ones fail, status DOWN.
    talk = Conversation(world.outside, address)
    try:
        assert talk.greeting == f"vm1 {EXT_GATEWAY}"
        assert talk.say("hello") == "hello"
        world.set_fip(api, fip, None)
        assert wait_for(lambda: address not in nat_listing(world, router)
                        and not tracked(world, router, address), APPLY_WITHIN)
        assert talk.say("still there?") in ("timeout", "closed")
    finally:
        talk.close()
    assert who(world.outside, address, timeout=2) is None
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "DOWN", 15)
    # Its traffic goes back to the router's address.
    assert who_within(vm.namespace, INTERNET) == f"outside {gateway_ip}"

    # Associated again: reachable again.
    world.set_fip(api, fip, vm)
    assert who_within(world.outside, address) == f"vm1 {EXT_GATEWAY}"
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "ACTIVE", 15)

    with world.router_kernel(router) as kernel:
        qg = [n for n in kernel.links() if n.startswith("qg-")]
        assert len(qg) == 1
        assert f"{address}/32" in kernel.addresses(qg[0])
    assert run_in(world.namespace_of(router), "sysctl", "-n", "net.ipv4.ip_forward"
                  ).strip() == "1"


def test_two_projects_with_the_same_cidr_side_by_side(world: L3World) -> None:
    vms, fips, routers = {}, {}, {}
    for tag in ("blue", "red"):
        api = world.project()
        net, subnet = world.network(api, "10.90.0.0/24")
        routers[tag] = world.router(api, subnet)
        vms[tag] = world.vm(api, net, world.open_group(api), tag,
                            fixed_ips=[{"subnet_id": subnet["id"],
                                        "ip_address": "10.90.0.10"}])
        fips[tag] = world.floatingip(api, vms[tag])["floating_ip_address"]
    world.serve(world.outside, "outside", port=PORT + 1)
    for tag in ("blue", "red"):
        # Each floating IP reaches its own project's 10.90.0.10 ...
        assert who_within(world.outside, fips[tag]) == f"{tag} {EXT_GATEWAY}"
        # ... and each VM goes out through its own floating IP.
        assert who_within(vms[tag].namespace, INTERNET, port=PORT + 1) == \
            f"outside {fips[tag]}"
    assert world.namespace_of(routers["blue"]) != world.namespace_of(routers["red"])


def test_extra_routes_and_enable_snat_false(world: L3World) -> None:
    api = world.project()
    net_a, subnet_a = world.network(api, "10.82.1.0/24")
    net_b, subnet_b = world.network(api, "10.82.2.0/24")
    router = world.router(api, subnet_a, subnet_b)
    group = world.open_group(api)
    # "hop" stands for a router inside the project: 192.168.82.1 sits behind it.
    hop = world.vm(api, net_a, group, "hop",
                   allowed_address_pairs=[{"ip_address": "192.168.82.0/24"}])
    run_in(hop.namespace, "ip", "addr", "add", "192.168.82.1/32", "dev", "lo")
    world.serve(hop.namespace, "behind-hop", port=PORT + 2)
    vm = world.vm(api, net_b, group, "vm")
    # Between the router's own subnets: routed, not translated.
    assert who_within(vm.namespace, hop.ip) == f"hop {vm.ip}"

    assert who(vm.namespace, "192.168.82.1", port=PORT + 2) is None
    response = api.put(f"routers/{router['id']}/add_extraroutes", {"router": {"routes": [
        {"destination": "192.168.82.0/24", "nexthop": hop.ip}]}})
    assert response.status_code == 200, response.text
    assert who_within(vm.namespace, "192.168.82.1", port=PORT + 2) == \
        f"behind-hop {vm.ip}"
    response = api.put(f"routers/{router['id']}/remove_extraroutes", {"router": {
        "routes": [{"destination": "192.168.82.0/24", "nexthop": hop.ip}]}})
    assert response.status_code == 200, response.text
    # Not the first silence (one lost answer would do): the route gone, no answer.
    assert wait_for(lambda: realised(world, router), APPLY_WITHIN)
    assert "192.168.82.0/24" not in run_in(world.namespace_of(router), "ip", "route")
    assert who(vm.namespace, "192.168.82.1", port=PORT + 2) is None

    # SNAT off: the outside sees the VM's own address (it routes it back through
    # the router's gateway address) ...
    world.serve(world.outside, "outside", port=PORT + 3)
    gateway_ip = world.gateway_ip(router)
    assert who_within(vm.namespace, INTERNET, port=PORT + 3) == f"outside {gateway_ip}"
    assert "snat" in nat_listing(world, router)
    response = world.api.put(f"routers/{router['id']}", {"router": {
        "external_gateway_info": {"network_id": world.ext["id"], "enable_snat": False}}})
    assert response.status_code == 200, response.text
    # The agent has applied it (a probe alone could still meet the old SNAT).
    assert wait_for(lambda: realised(world, router), APPLY_WITHIN), nat_listing(world,
                                                                               router)
    assert "snat" not in nat_listing(world, router)
    run_in(world.outside, "ip", "route", "add", "10.82.2.0/24", "via", gateway_ip)
    try:
        assert who_within(vm.namespace, INTERNET, port=PORT + 3) == f"outside {vm.ip}"
    finally:
        run_in(world.outside, "ip", "route", "del", "10.82.2.0/24", check=False)
    # ... and without that route it could not answer.
    assert who(vm.namespace, INTERNET, port=PORT + 3) is None


def test_admin_down_router_forwards_nothing_until_up_again(world: L3World) -> None:
    api = world.project()
    net, subnet = world.network(api, "10.83.0.0/24")
    router = world.router(api, subnet)
    vm = world.vm(api, net, world.open_group(api), "vm")
    fip = world.floatingip(api, vm)
    address = fip["floating_ip_address"]
    assert who_within(world.outside, address) == f"vm {EXT_GATEWAY}"
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "ACTIVE", 15)

    ports = world.router_ports(router["id"])
    response = api.put(f"routers/{router['id']}", {"router": {"admin_state_up": False}})
    assert response.status_code == 200, response.text
    assert wait_for(lambda: router_gone(world, router, ports), APPLY_WITHIN)
    assert not reachable(world.outside, address, within=1)
    assert not reachable(vm.namespace, subnet["gateway_ip"], within=1)
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "DOWN", 15)
    assert wait_for(lambda: {p["status"] for p in world.router_ports(router["id"])}
                    == {"DOWN"}, 15)

    response = api.put(f"routers/{router['id']}", {"router": {"admin_state_up": True}})
    assert response.status_code == 200, response.text
    assert who_within(world.outside, address) == f"vm {EXT_GATEWAY}"
    assert wait_for(lambda: world.status("floatingip", fip["id"]) == "ACTIVE", 15)


def test_router_deleted_takes_its_namespace_and_taps(world: L3World) -> None:
    api = world.project()
    net, subnet = world.network(api, "10.84.0.0/24")
    router = world.router(api, subnet)
    ports = world.router_ports(router["id"])
    assert wait_for(lambda: world.namespace_of(router) in privileged.namespaces(), 15)
    world.delete_router(router["id"])
    assert world.wait_namespace_gone(router["id"], APPLY_WITHIN)
    # (the taps go when the kernel has torn the namespace down, a moment later)
    assert wait_for(lambda: router_gone(world, router, ports), APPLY_WITHIN)


def neighbour_mac(namespace: str, address: str) -> str | None:
    fields = run_in(namespace, "ip", "neigh", "show", address).split()
    return fields[fields.index("lladdr") + 1] if "lladdr" in fields else None


def test_floating_ip_moved_to_another_router_is_announced(world: L3World) -> None:
    """The outside's neighbour entry for the address follows at once (gratuitous
    ARP), not after it goes stale."""
    api = world.project()
    group = world.open_group(api)
    vms, gateways = {}, {}
    for tag, cidr in (("one", "10.85.1.0/24"), ("two", "10.85.2.0/24")):
        net, subnet = world.network(api, cidr)
        router = world.router(api, subnet)
        vms[tag] = world.vm(api, net, group, tag)
        gateways[tag] = next(p["mac_address"] for p in world.router_ports(router["id"])
                             if p["device_owner"] == "network:router_gateway")
    fip = world.floatingip(api, vms["one"])
    address = fip["floating_ip_address"]
    assert who_within(world.outside, address) == f"one {EXT_GATEWAY}"
    assert neighbour_mac(world.outside, address) == gateways["one"]

    world.set_fip(api, fip, vms["two"])
    # Without the announcement the entry would keep the first router's MAC (nobody
    # sends to the address meanwhile): any time under its expiry proves it.
    assert wait_for(lambda: neighbour_mac(world.outside, address) == gateways["two"],
                    2 * APPLY_WITHIN), (gateways, run_in(world.outside, "ip", "neigh"))
    assert who_within(world.outside, address, within=APPLY_WITHIN) == f"two {EXT_GATEWAY}"


def converged_exactly(world: L3World) -> list[str]:
    """What differs between the host and the agent's desired state (empty: the
    router namespaces of this agent, their links, addresses, routes, NAT tables and
    the host's router taps are exactly what the state asks for)."""
    agent = world.l3
    desired = agent.plugin.sync_routers()
    want = l3_plan.layout(desired, agent.reconciler.settings)
    problems = []
    ours = set(agent.reconciler.own_namespaces())
    if ours != {spec.namespace for spec in want.routers.values()}:
        problems.append(f"namespaces {sorted(ours)}")
    with Kernel(world.host) as host:
        taps = host.links()
    for spec in want.routers.values():
        actions = l3_plan.plan_router(spec, agent.reconciler.snapshot(spec, taps))
        problems += [f"{spec.id}: {action}" for action in actions]
        listing = privileged.nft_list_table(nat.FAMILY, nat.TABLE, spec.namespace)
        if nat.comment(listing) != (spec.nat.comment if spec.nat else None):
            problems.append(f"{spec.id}: NAT table {listing}")
    router_taps = {d.tap for spec in want.routers.values() for d in spec.devices.values()}
    made = {"tap" + p["id"][:11] for r in world.routers for p in world.router_ports(r)}
    stray = sorted(name for name in taps if name.startswith("tap")
                   and name not in router_taps and name[3:] in {t[3:] for t in made})
    return problems + [f"stray tap {name}" for name in stray]


def test_restart_with_changes_made_while_down_converges_exactly(world: L3World) -> None:
    api = world.project()
    group = world.open_group(api)
    net_a, subnet_a = world.network(api, "10.86.1.0/24")
    net_b, subnet_b = world.network(api, "10.86.2.0/24")
    net_c, subnet_c = world.network(api, "10.86.3.0/24")
    net_d, subnet_d = world.network(api, "10.86.4.0/24")
    r1 = world.router(api, subnet_a, subnet_b)
    r2 = world.router(api, subnet_c)
    r3 = world.router(api, subnet_d)
    vm1 = world.vm(api, net_a, group, "vm1")
    vm2 = world.vm(api, net_c, group, "vm2")
    vm3 = world.vm(api, net_c, group, "vm3")
    response = api.put(f"routers/{r1['id']}/add_extraroutes", {"router": {"routes": [
        {"destination": "192.168.86.0/24", "nexthop": vm1.ip}]}})
    assert response.status_code == 200, response.text
    f1, f2 = world.floatingip(api, vm1), world.floatingip(api, vm2)
    for fip, tag in ((f1, "vm1"), (f2, "vm2")):
        assert who_within(world.outside, fip["floating_ip_address"]) == f"{tag} {EXT_GATEWAY}"
    assert converged_exactly(world) == []
    talk = Conversation(world.outside, f1["floating_ip_address"])
    try:
        assert talk.say("before") == "before"
        world.l3.stop()

        # While the agent is down: a router deleted, a floating IP disassociated and
        # another associated, an interface and an extra route removed, SNAT off,
        # and stray things in a router namespace.
        world.delete_router(r3["id"])
        world.set_fip(api, f1, None)
        f3 = world.floatingip(api, vm3)
        response = api.put(f"routers/{r1['id']}/remove_router_interface",
                           {"subnet_id": subnet_b["id"]})
        assert response.status_code == 200, response.text
        response = api.put(f"routers/{r1['id']}/remove_extraroutes", {"router": {
            "routes": [{"destination": "192.168.86.0/24", "nexthop": vm1.ip}]}})
        assert response.status_code == 200, response.text
        response = world.api.put(f"routers/{r2['id']}", {"router": {
            "external_gateway_info": {"network_id": world.ext["id"],
                                      "enable_snat": False}}})
        assert response.status_code == 200, response.text
        ns1 = world.namespace_of(r1)
        qg = next(n for n in run_in(ns1, "ls", "/sys/class/net").split()
                  if n.startswith("qg-"))
        run_in(ns1, "ip", "addr", "add", "172.24.4.251/32", "dev", qg)
        run_in(ns1, "ip", "route", "add", "10.250.0.0/16", "via", EXT_GATEWAY)
        assert talk.say("while down") == "while down"   # nothing changed yet
        assert converged_exactly(world) != []

        world.l3 = world.new_l3_agent().start()
        assert world.wait_namespace_gone(r3["id"], 30)
        assert wait_for(lambda: converged_exactly(world) == [], 30), \
            converged_exactly(world)
        # (the connections go right after the NAT table is replaced)
        assert wait_for(lambda: not tracked(world, r1, f1["floating_ip_address"]), 5)
        assert talk.say("after") in ("timeout", "closed")
    finally:
        talk.close()
    assert who(world.outside, f1["floating_ip_address"], timeout=2) is None
    assert who_within(world.outside, f3["floating_ip_address"]) == f"vm3 {EXT_GATEWAY}"
    assert who_within(world.outside, f2["floating_ip_address"]) == f"vm2 {EXT_GATEWAY}"
    assert wait_for(lambda: world.status("floatingip", f3["id"]) == "ACTIVE", 15)
    # Nothing left to do: the next sync changes nothing.
    result = world.l3.reconciler.reconcile(world.l3.plugin.sync_routers())
    assert not result.failed and [a for a in result.actions
                                  if r1["id"] in a or r2["id"] in a] == []


def test_metadata_requests_reach_the_routers_proxy(world: L3World, proxies: Proxies
                                                  ) -> None:
    """169.254.169.254:80 from an internal network is redirected to the metadata
    port in the router's namespace, where the MetadataProxies hook put a proxy;
    the router deleted, its proxy is removed."""
    api = world.project()
    net, subnet = world.network(api, "10.87.0.0/24")
    router = world.router(api, subnet, gateway=False)
    vm = world.vm(api, net, world.open_group(api), "vm")
    assert who_within(vm.namespace, "169.254.169.254", port=80) == \
        f"metadata-{router['id'][:8]} {vm.ip}"
    world.delete_router(router["id"])
    assert world.wait_namespace_gone(router["id"], APPLY_WITHIN)
    assert router["id"] in proxies.removed


def test_fwaas_rule_blocks_then_allows_a_flow_through_the_router(world: L3World) -> None:
    """FWaaS v2 (issue 16): a firewall group on a router interface, enforced by the
    agent's nftables table in the router namespace (agent/l3/fwaas.py), blocks a TCP
    flow between two networks of the router, then allows it once a rule is
    inserted; the group goes ACTIVE as the agent reports it. Here, beside the other
    L3 tests, so that it shares their world (its set-up and tear-down cost ~45 s)."""
    api = world.project()
    net1, subnet1 = world.network(api, "10.91.0.0/24")
    net2, subnet2 = world.network(api, "10.92.0.0/24")
    router = world.router(api, subnet1, subnet2, gateway=False)
    group = world.open_group(api)
    client = world.vm(api, net1, group, "client")
    target = world.vm(api, net2, group, "target")
    assert who_within(client.namespace, target.ip) == f"target {client.ip}"

    def create(path: str, kind: str, **attrs: object) -> dict:
        response = api.post(f"fwaas/{path}", {kind: attrs})
        assert response.status_code == 201, response.text
        made: dict = response.json()[kind]
        return made

    def active(group_id: str) -> bool:
        return api.get(f"fwaas/firewall_groups/{group_id}").json()[
            "firewall_group"]["status"] == "ACTIVE"

    # The group on net2's interface: ICMP allowed in, nothing else.
    port = next(p["id"] for p in world.router_ports(router["id"])
                if p["fixed_ips"][0]["subnet_id"] == subnet2["id"])
    icmp = create("firewall_rules", "firewall_rule", protocol="icmp", action="allow")
    policy = create("firewall_policies", "firewall_policy", firewall_rules=[icmp["id"]])
    fwg = create("firewall_groups", "firewall_group", ports=[port],
                 ingress_firewall_policy_id=policy["id"])
    assert fwg["status"] == "PENDING_CREATE"
    assert wait_for(lambda: active(fwg["id"]), APPLY_WITHIN)
    assert who(client.namespace, target.ip) is None
    assert reachable(client.namespace, target.ip, within=5)

    # A rule for the flow, inserted first: allowed.
    tcp = create("firewall_rules", "firewall_rule", protocol="tcp",
                 destination_port=str(PORT), action="allow")
    response = api.put(f"fwaas/firewall_policies/{policy['id']}/insert_rule",
                       {"firewall_rule_id": tcp["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["firewall_rules"] == [tcp["id"], icmp["id"]]
    assert wait_for(lambda: active(fwg["id"]), APPLY_WITHIN)
    assert who_within(client.namespace, target.ip, within=10) == f"target {client.ip}"
    # No egress policy: nothing new may start from behind the port (replies pass).
    assert who(target.namespace, client.ip) is None

    # The port out of the group: INACTIVE, the router's table gone, all passes.
    response = api.put(f"fwaas/firewall_groups/{fwg['id']}",
                       {"firewall_group": {"ports": []}})
    assert response.status_code == 200, response.text
    assert response.json()["firewall_group"]["status"] == "INACTIVE"
    assert who_within(target.namespace, client.ip) == f"client {target.ip}"
    assert privileged.nft_table_comment("inet", "neutrino-fwaas",
                                        world.namespace_of(router)) is None


# -- issue 12/16 follow-ups: firewall changes cut only their ports' flows, the metadata
# port closed to all but the redirect, a VXLAN external network ---------------------------


def test_fwaas_change_cuts_only_the_flows_of_its_ports(world: L3World) -> None:
    """A firewall group's rules change: the open connection through its port that
    the new rules deny is cut; one through another port of the router survives (its
    tracked connection is never deleted: agent/l3/fwaas.py `changed_ports`)."""
    api = world.project()
    net_a, subnet_a = world.network(api, "10.93.0.0/24")
    net_b, subnet_b = world.network(api, "10.94.0.0/24")
    router = world.router(api, subnet_a, subnet_b)
    group = world.open_group(api)
    vm_a, vm_b = world.vm(api, net_a, group, "a"), world.vm(api, net_b, group, "b")
    if who(world.outside, INTERNET) is None:  # (an earlier test of the world may serve)
        world.serve(world.outside, "outside")
    gateway_ip = world.gateway_ip(router)

    def create(path: str, kind: str, **attrs: object) -> dict:
        response = api.post(f"fwaas/{path}", {kind: attrs})
        assert response.status_code == 201, response.text
        made: dict = response.json()[kind]
        return made

    def active(group_id: str) -> bool:
        return api.get(f"fwaas/firewall_groups/{group_id}").json()[
            "firewall_group"]["status"] == "ACTIVE"

    port_a = next(p["id"] for p in world.router_ports(router["id"])
                  if p["fixed_ips"][0]["subnet_id"] == subnet_a["id"])
    allow = create("firewall_rules", "firewall_rule", protocol="tcp", action="allow")
    egress = create("firewall_policies", "firewall_policy", firewall_rules=[allow["id"]])
    fwg = create("firewall_groups", "firewall_group", ports=[port_a],
                 egress_firewall_policy_id=egress["id"])
    assert wait_for(lambda: active(fwg["id"]), APPLY_WITHIN)

    talks = [Conversation(vm_a.namespace, INTERNET), Conversation(vm_b.namespace, INTERNET)]
    try:
        assert [t.greeting for t in talks] == [f"outside {gateway_ip}"] * 2
        assert [t.say("hello") for t in talks] == ["hello", "hello"]
        assert tracked(world, router, vm_b.ip)

        # TCP denied from net A from now on.
        deny = create("firewall_rules", "firewall_rule", protocol="tcp", action="deny")
        response = api.put(f"fwaas/firewall_policies/{egress['id']}",
                           {"firewall_policy": {"firewall_rules": [deny["id"]]}})
        assert response.status_code == 200, response.text
        assert wait_for(lambda: active(fwg["id"]) and not tracked(world, router, vm_a.ip),
                        APPLY_WITHIN)
        # B's connection is still tracked before it sends anything (a flush would
        # have deleted it: SNAT would pick it up again on its next packet).
        assert tracked(world, router, vm_b.ip)
        assert talks[1].say("still here") == "still here"
        assert talks[0].say("still here?") in ("timeout", "closed")
        assert who(vm_a.namespace, INTERNET) is None
    finally:
        for talk in talks:
            talk.close()
    response = api.put(f"fwaas/firewall_groups/{fwg['id']}",
                       {"firewall_group": {"ports": []}})
    assert response.status_code == 200, response.text


def test_metadata_port_is_closed_to_all_but_the_redirect(world: L3World) -> None:
    """The router's metadata proxy listens on every address of its namespace: the
    redirect from an internal port reaches it, the external side and a VM asking the
    router's own address directly do not (the NAT table's input chain)."""
    api = world.project()
    net, subnet = world.network(api, "10.95.0.0/24")
    router = world.router(api, subnet)
    vm = world.vm(api, net, world.open_group(api), "vm")
    expected = f"metadata-{router['id'][:8]} {vm.ip}"
    assert who_within(vm.namespace, "169.254.169.254", port=80) == expected
    gateway_ip = world.gateway_ip(router)
    assert reachable(world.outside, gateway_ip)
    assert who(world.outside, gateway_ip, port=nat.METADATA_PORT) is None
    assert who(vm.namespace, subnet["gateway_ip"], port=nat.METADATA_PORT) is None
    assert who(vm.namespace, "169.254.169.254", port=80) == expected


def test_snat_and_floating_ip_through_a_vxlan_external_network(world: L3World) -> None:
    """A project-style external network (VXLAN, no physical network): the router's
    gateway is plugged into its bridge like any port; an "external host" port on it
    holds the subnet's gateway address and sees the router's SNAT address, and
    reaches the VM through a floating IP from that network."""
    admin = world.api
    third = uuid.uuid4().int % 200 + 20
    cidr, ext_gateway = f"172.27.{third}.0/24", f"172.27.{third}.1"
    ext = admin.network(name="ext-vxlan", **{"router:external": True,
                                             "provider:network_type": "vxlan"})
    ext_subnet = admin.subnet(ext["id"], cidr, gateway_ip=ext_gateway, enable_dhcp=False)
    host_port = None
    try:
        host_port = admin.port(ext["id"], security_groups=[world.open_group(admin)],
                               fixed_ips=[{"subnet_id": ext_subnet["id"],
                                           "ip_address": ext_gateway}])
        exthost = f"{world.topo.prefix}ext-{host_port['id'][:6]}"
        world.topo.namespaces.append(exthost)
        vif("plug", host_port["id"], "--url", world.server.url, "--host", world.name,
            "--host-netns", world.host, "--netns", exthost, "--ip-config", "none")
        run_in(exthost, "ip", "addr", "add", f"{ext_gateway}/24", "dev", GUEST_IFNAME)
        world.serve(exthost, "exthost")

        api = world.project()
        net, subnet = world.network(api, "10.96.0.0/24")
        router = world.router(api, subnet, gateway=False)
        response = api.put(f"routers/{router['id']}", {"router": {
            "external_gateway_info": {"network_id": ext["id"]}}})
        assert response.status_code == 200, response.text
        gateway_ip = world.gateway_ip(router)
        assert ipaddress.ip_address(gateway_ip) in ipaddress.ip_network(cidr)
        vm = world.vm(api, net, world.open_group(api), "vm")
        assert who_within(vm.namespace, ext_gateway, within=30) == f"exthost {gateway_ip}"

        fip = api.create("floatingip", floating_network_id=ext["id"],
                         port_id=vm.port["id"])
        address = fip["floating_ip_address"]
        assert who_within(exthost, address) == f"vm {ext_gateway}"
        assert who_within(vm.namespace, ext_gateway) == f"exthost {address}"
        assert wait_for(lambda: world.status("floatingip", fip["id"]) == "ACTIVE", 15)
        world.delete_router(router["id"])
        world.routers.remove(router["id"])
        assert world.wait_namespace_gone(router["id"], APPLY_WITHIN)
    finally:
        if host_port is not None:
            admin.delete(f"ports/{host_port['id']}")
        admin.delete(f"networks/{ext['id']}")
