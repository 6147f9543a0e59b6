"""The Linux bridge agent's reconciler on real namespaces: two hosts joined by an
underlay, a VXLAN network between them, one VM on each; hand-written desired
states (the server's "l2" answer, docs/rpc.md)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from dataplane.topology import Topology, ping, random_mac
from neutrino.agent.common.privileged import ZERO_MAC, FdbEntry, Kernel
from neutrino.agent.linuxbridge.plan import Settings, bridge_name, tap_name
from neutrino.agent.linuxbridge.reconciler import Reconciler

VNI = 1001
MTU = 1450
UNDERLAY_IPS = ("198.51.100.1", "198.51.100.2", "198.51.100.3")


def port(network_id: str, mac: str, ip: str, status: str = "DOWN", **extra: object
         ) -> dict:
    port_id = str(uuid.uuid4())
    return {"id": port_id, "device": tap_name(port_id), "network_id": network_id,
            "mac_address": mac, "admin_state_up": True, "status": status,
            "device_owner": "compute:nova", "revision_number": 1,
            "fixed_ips": [{"subnet_id": "s", "ip_address": ip}],
            "allowed_address_pairs": [], "port_security_enabled": True,
            "security_groups": [], **extra}


def desired(host: str, ports: list[dict], network_id: str, peers: list[dict]) -> dict:
    return {"host": host, "ports": ports,
            "networks": [{"id": network_id, "revision_number": 1, "mtu": MTU,
                          "network_type": "vxlan", "physical_network": None,
                          "segmentation_id": VNI, "peers": peers}],
            "security_groups": {}, "remote_groups": {}, "address_groups": {}}


def peer(host: str, tunnel_ip: str, *ports: dict) -> dict:
    return {"host": host, "tunnel_ip": tunnel_ip,
            "macs": [{"mac_address": p["mac_address"],
                      "ip_address": p["fixed_ips"][0]["ip_address"]} for p in ports]}


class Kernels:
    """Kernel handles the test opened, closed after each test."""

    def __init__(self) -> None:
        self.opened: list[Kernel] = []

    def open(self, namespace: str) -> Kernel:
        self.opened.append(Kernel(namespace))
        return self.opened[-1]

    def close(self) -> None:
        while self.opened:
            self.opened.pop().close()


KERNELS = Kernels()


@pytest.fixture(autouse=True)
def _close_kernels() -> Iterator[None]:
    try:
        yield
    finally:
        KERNELS.close()


class Reports:
    def __init__(self) -> None:
        self.up: list[str] = []
        self.down: list[str] = []


def reconciler(host: str, local_ip: str, reports: Reports) -> Reconciler:
    return Reconciler(KERNELS.open(host), Settings(local_ip=local_ip),
                      device_up=reports.up.append, device_down=reports.down.append)


@pytest.fixture
def two_hosts(topo: Topology) -> dict:
    host_a, host_b = topo.hosts(*UNDERLAY_IPS[:2])
    net = str(uuid.uuid4())
    p1 = port(net, random_mac(), "203.0.113.11")
    p2 = port(net, random_mac(), "203.0.113.12")
    vm1 = topo.vm(host_a, p1["id"], p1["mac_address"], "203.0.113.11/24")
    vm2 = topo.vm(host_b, p2["id"], p2["mac_address"], "203.0.113.12/24")
    return {"topo": topo, "a": host_a, "b": host_b, "net": net, "p1": p1, "p2": p2,
            "vm1": vm1, "vm2": vm2,
            "state_a": desired("a", [p1], net, [peer("b", UNDERLAY_IPS[1], p2)]),
            "state_b": desired("b", [p2], net, [peer("a", UNDERLAY_IPS[0], p1)])}


def test_vms_on_two_hosts_ping_across_vxlan(two_hosts: dict) -> None:
    t = two_hosts
    reports_a, reports_b = Reports(), Reports()
    first_a = reconciler(t["a"], UNDERLAY_IPS[0], reports_a).reconcile(t["state_a"])
    first_b = reconciler(t["b"], UNDERLAY_IPS[1], reports_b).reconcile(t["state_b"])
    assert first_a.changed and first_b.changed and not first_a.failed
    assert reports_a.up == [t["p1"]["device"]] and reports_b.up == [t["p2"]["device"]]

    with Kernel(t["a"]) as kernel:
        links = kernel.links()
        bridge = bridge_name(t["net"])
        assert links[f"vxlan-{VNI}"].master == bridge
        assert links[f"vxlan-{VNI}"].mtu == MTU
        vx = links[f"vxlan-{VNI}"].vxlan
        assert (vx.vni, vx.local, vx.port, vx.learning) == (VNI, UNDERLAY_IPS[0], 4789, False)
        assert links[t["p1"]["device"]].master == bridge and links[t["p1"]["device"]].up
        assert kernel.remote_fdb(f"vxlan-{VNI}") == {
            FdbEntry(ZERO_MAC, UNDERLAY_IPS[1]),
            FdbEntry(t["p2"]["mac_address"], UNDERLAY_IPS[1])}

    assert ping(t["vm1"], "203.0.113.12"), "VM on host a cannot reach VM on host b"
    assert ping(t["vm2"], "203.0.113.11", within=3)


def kernel_view(host: str) -> tuple[dict, dict]:
    """Links (name -> (kind, master, mtu, up)) and remote FDB of a host."""
    with Kernel(host) as kernel:
        snap = kernel.snapshot()
    links = {n: (lk.kind, lk.master, lk.mtu, lk.up) for n, lk in snap.links.items()}
    return links, {n: sorted((e.mac, e.dst) for e in entries)
                   for n, entries in snap.fdb.items()}


def wait_gone(host: str, device: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    with Kernel(host) as kernel:
        while kernel.exists(device):
            assert time.monotonic() < deadline, f"{device} still there"
            time.sleep(0.05)


def test_second_reconcile_changes_nothing(two_hosts: dict) -> None:
    t = two_hosts
    reports = Reports()
    rec = reconciler(t["a"], UNDERLAY_IPS[0], reports)
    rec.reconcile(t["state_a"])
    before = kernel_view(t["a"])
    again = rec.reconcile(t["state_a"])
    assert again.actions == [] and again.failed == []
    assert kernel_view(t["a"]) == before


def test_restarted_agent_converges_without_duplicates(two_hosts: dict) -> None:
    t = two_hosts
    reconciler(t["a"], UNDERLAY_IPS[0], Reports()).reconcile(t["state_a"])
    before = kernel_view(t["a"])
    # A new process: no memory of what the last one did, only the kernel.
    fresh = reconciler(t["a"], UNDERLAY_IPS[0], Reports()).reconcile(t["state_a"])
    assert fresh.actions == []
    assert kernel_view(t["a"]) == before
    assert len(before[1][f"vxlan-{VNI}"]) == 2


def test_removed_peer_loses_its_fdb_entries_and_traffic(two_hosts: dict) -> None:
    t = two_hosts
    rec_a = reconciler(t["a"], UNDERLAY_IPS[0], Reports())
    rec_a.reconcile(t["state_a"])
    reconciler(t["b"], UNDERLAY_IPS[1], Reports()).reconcile(t["state_b"])
    assert ping(t["vm1"], "203.0.113.12")
    # Host b's port went away: a's desired state has no peer any more.
    result = rec_a.reconcile(desired("a", [t["p1"]], t["net"], []))
    assert sorted(str(a) for a in result.actions) == sorted([
        f"fdb_delete vxlan-{VNI} dst={UNDERLAY_IPS[1]} mac={ZERO_MAC}",
        f"fdb_delete vxlan-{VNI} dst={UNDERLAY_IPS[1]} mac={t['p2']['mac_address']}"])
    with Kernel(t["a"]) as kernel:
        assert kernel.remote_fdb(f"vxlan-{VNI}") == set()
    # Neighbour entries still cached in vm1 do not help: nothing leaves host a.
    assert not ping(t["vm1"], "203.0.113.12", within=2)


def test_last_port_gone_removes_bridge_and_vxlan(two_hosts: dict) -> None:
    t = two_hosts
    reports = Reports()
    rec_a = reconciler(t["a"], UNDERLAY_IPS[0], reports)
    rec_a.reconcile(t["state_a"])
    links_with_port, _ = kernel_view(t["a"])
    rec_a.reconcile(desired("a", [], t["net"], []))
    links, fdb = kernel_view(t["a"])
    assert bridge_name(t["net"]) not in links and f"vxlan-{VNI}" not in links
    # The VM's tap stays (the hypervisor owns it), out of any bridge; the underlay
    # and everything else this agent did not create are as they were.
    assert links[t["p1"]["device"]][1] is None
    untouched = {n: v for n, v in links_with_port.items()
                 if not n.startswith(("brq", "vxlan-", "tap"))}
    assert {n: links[n] for n in untouched} == untouched


def test_tap_appearing_later_is_plugged_and_one_gone_is_reported_down(
        two_hosts: dict) -> None:
    t = two_hosts
    reports = Reports()
    rec_a = reconciler(t["a"], UNDERLAY_IPS[0], reports)
    net = t["net"]
    late = port(net, random_mac(), "203.0.113.21")
    state = desired("a", [t["p1"], late], net, [peer("b", UNDERLAY_IPS[1], t["p2"])])
    rec_a.reconcile(state)
    assert reports.up == [t["p1"]["device"]]  # the late port has no tap yet
    vm3 = t["topo"].vm(t["a"], late["id"], late["mac_address"], "203.0.113.21/24")
    result = rec_a.reconcile(state)
    # Only the new tap changes: into the bridge (with the network MTU), up.
    assert {a.name for a in result.actions} == {late["device"]}
    assert any(a.kwargs().get("master") == bridge_name(net) for a in result.actions)
    assert reports.up[-1] == late["device"]
    assert ping(vm3, "203.0.113.11", within=5)  # same host, same bridge
    # The server now shows it ACTIVE; the VM goes away.
    late["status"] = "ACTIVE"
    t["topo"].cleanup_one(vm3)
    wait_gone(t["a"], late["device"])  # the kernel drops a namespace's veths lazily
    rec_a.reconcile(state)
    assert reports.down == [late["device"]]


def test_flat_network_bridges_the_mapped_interface(topo: Topology) -> None:
    host_a, host_b = topo.hosts(*UNDERLAY_IPS[:2])
    net = str(uuid.uuid4())
    p1 = port(net, random_mac(), "203.0.113.31")
    p2 = port(net, random_mac(), "203.0.113.32")
    vm1 = topo.vm(host_a, p1["id"], p1["mac_address"], "203.0.113.31/24", mtu=1500)
    topo.vm(host_b, p2["id"], p2["mac_address"], "203.0.113.32/24", mtu=1500)
    flat = {"id": net, "revision_number": 1, "mtu": 1500, "network_type": "flat",
            "physical_network": "physnet1", "segmentation_id": None, "peers": []}
    settings = Settings(local_ip=None, enable_vxlan=False,
                        interface_mappings={"physnet1": "ul0"})
    for host, p in ((host_a, p1), (host_b, p2)):
        result = Reconciler(KERNELS.open(host), settings).reconcile(
            {"host": host, "ports": [p], "networks": [flat]})
        assert not result.failed and not result.refused
    links, _ = kernel_view(host_a)
    assert links["ul0"][1] == bridge_name(net)
    assert ping(vm1, "203.0.113.32")


def test_without_l2_population_flooding_and_learning_carry_traffic(two_hosts: dict
                                                                   ) -> None:
    t = two_hosts
    for host, ip, state in ((t["a"], UNDERLAY_IPS[0], t["state_a"]),
                            (t["b"], UNDERLAY_IPS[1], t["state_b"])):
        settings = Settings(local_ip=ip, l2_population=False)
        Reconciler(KERNELS.open(host), settings).reconcile(state)
    assert ping(t["vm1"], "203.0.113.12")
    with Kernel(t["a"]) as kernel:
        # Only the flood entry is ours; what the kernel learned is not listed,
        # so the next sync leaves it alone.
        assert kernel.remote_fdb(f"vxlan-{VNI}") == {FdbEntry(ZERO_MAC, UNDERLAY_IPS[1])}
        assert kernel.links()[f"vxlan-{VNI}"].vxlan.learning is True
    again = Reconciler(KERNELS.open(t["a"]), Settings(local_ip=UNDERLAY_IPS[0],
                                                      l2_population=False))
    assert again.reconcile(t["state_a"]).actions == []


def test_local_network_connects_vms_of_one_host_only(topo: Topology) -> None:
    (host,) = topo.hosts(UNDERLAY_IPS[0])
    net = str(uuid.uuid4())
    p1 = port(net, random_mac(), "203.0.113.51")
    p2 = port(net, random_mac(), "203.0.113.52")
    vm1 = topo.vm(host, p1["id"], p1["mac_address"], "203.0.113.51/24", mtu=1500)
    topo.vm(host, p2["id"], p2["mac_address"], "203.0.113.52/24", mtu=1500)
    local = {"id": net, "revision_number": 1, "mtu": 1500, "network_type": "local",
             "physical_network": None, "segmentation_id": None, "peers": []}
    result = Reconciler(KERNELS.open(host), Settings(local_ip=UNDERLAY_IPS[0])).reconcile(
        {"host": "h", "ports": [p1, p2], "networks": [local]})
    assert not result.failed and result.devices == 2
    links, _ = kernel_view(host)
    assert not any(name.startswith("vxlan-") for name in links)
    assert links["ul0"][1] is None  # no uplink: the network stays on this host
    assert ping(vm1, "203.0.113.52")
