"""QoS on a Linux bridge host (root): two VMs on one bridge; a 2 Mbit/s egress limit
on one VM's port measured with a bounded TCP transfer to the other, removed again
(the rate comes back), and a DSCP mark seen by the receiving VM (IP_RECVTOS).
The agent's reconcile steps (L2 then QoS) run as its sync does."""

from __future__ import annotations

import subprocess
import sys
import uuid

from dataplane.topology import Topology, random_mac
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.linuxbridge.plan import Settings, tap_name
from neutrino.agent.linuxbridge.reconciler import Reconciler
from neutrino.agent.qos import plan as qos_plan
from neutrino.agent.qos.driver import QosDriver

NETWORK = str(uuid.uuid4())
LIMIT_KBPS = 2000
SIZE = 600_000  # bytes: ~2.4 s at the limit, a blink without it

RECEIVER = r"""
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); c.settimeout(30)
total = 0; start = None
while total < int(sys.argv[2]):
    data = c.recv(65536)
    if not data:
        break
    if start is None:
        start = time.monotonic()
    total += len(data)
print(total, time.monotonic() - start, flush=True)
"""

SENDER = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], 5001), timeout=30)
s.sendall(b"x" * int(sys.argv[2])); s.close()
"""

TOS_RECEIVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
s.bind((sys.argv[1], 5002)); s.settimeout(10); print("ready", flush=True)
data, ancillary, _, _ = s.recvmsg(100, socket.CMSG_SPACE(4))
tos = [c[2][0] for c in ancillary if c[1] == socket.IP_TOS]
print(tos[0] if tos else -1, flush=True)
"""

UDP_SENDER = r"""
import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"mark", (sys.argv[1], 5002))
"""


def port(port_id: str, mac: str, ip: str, rules: list[dict]) -> dict:
    return {"id": port_id, "device": tap_name(port_id), "network_id": NETWORK,
            "mac_address": mac, "admin_state_up": True, "status": "DOWN",
            "device_owner": "compute:nova", "revision_number": 1,
            "fixed_ips": [{"subnet_id": "s", "ip_address": ip}],
            "allowed_address_pairs": [], "port_security_enabled": False,
            "security_groups": [], "qos_rules": rules}


def desired(host: str, ports: list[dict]) -> dict:
    return {"host": host, "ports": ports,
            "networks": [{"id": NETWORK, "revision_number": 1, "mtu": 1500,
                          "network_type": "local", "physical_network": None,
                          "segmentation_id": None, "peers": []}],
            "security_groups": {}, "remote_groups": {}, "address_groups": {}}


def in_ns(namespace: str, code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c", code,
                             *args], stdout=subprocess.PIPE, text=True)


def transfer_kbps(sender_ns: str, receiver_ns: str, receiver_ip: str) -> float:
    receiver = in_ns(receiver_ns, RECEIVER, receiver_ip, str(SIZE))
    try:
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "ready"
        sender = in_ns(sender_ns, SENDER, receiver_ip, str(SIZE))
        assert sender.wait(timeout=60) == 0
        total, seconds = receiver.stdout.readline().split()
        assert int(total) == SIZE
        return int(total) * 8 / 1000 / max(float(seconds), 1e-6)
    finally:
        receiver.kill()
        receiver.wait()


def received_tos(sender_ns: str, receiver_ns: str, receiver_ip: str) -> int:
    receiver = in_ns(receiver_ns, TOS_RECEIVER, receiver_ip)
    try:
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "ready"
        assert in_ns(sender_ns, UDP_SENDER, receiver_ip).wait(timeout=10) == 0
        return int(receiver.stdout.readline())
    finally:
        receiver.kill()
        receiver.wait()


def sync(reconciler: Reconciler, qos: QosDriver, kernel: Kernel, state: dict) -> list:
    """What the agent's sync does: L2, then QoS on the plugged taps."""
    assert not reconciler.reconcile(state).failed
    return qos.apply(state, [n for n in kernel.links() if n.startswith("tap")])


def test_bandwidth_limit_and_dscp(topo: Topology) -> None:
    host = topo.namespace("h0")
    kernel = Kernel(host)
    try:
        reconciler = Reconciler(kernel, Settings())
        qos = QosDriver(host)
        a_id, b_id = str(uuid.uuid4()), str(uuid.uuid4())
        a_mac, b_mac = random_mac(), random_mac()
        vm_a = topo.vm(host, a_id, a_mac, "10.91.0.1/24")
        vm_b = topo.vm(host, b_id, b_mac, "10.91.0.2/24")
        limited = [{"type": "bandwidth_limit", "max_kbps": LIMIT_KBPS,
                    "max_burst_kbps": 100, "direction": "egress", "id": "r1"},
                   {"type": "dscp_marking", "dscp_mark": 26, "id": "r2"}]
        state = desired(host, [port(a_id, a_mac, "10.91.0.1", limited),
                               port(b_id, b_mac, "10.91.0.2", [])])
        assert sync(reconciler, qos, kernel, state)
        # Idempotent: a resync changes nothing.
        assert sync(reconciler, qos, kernel, state) == []
        rate = transfer_kbps(vm_a, vm_b, "10.91.0.2")
        assert rate < 3 * LIMIT_KBPS, rate
        # The other way (B's egress) is not limited.
        assert transfer_kbps(vm_b, vm_a, "10.91.0.1") > 10 * LIMIT_KBPS
        tos = received_tos(vm_a, vm_b, "10.91.0.2")
        assert tos >> 2 == 26, tos

        # The rules go away: the limit, the ifb and the mark go with them.
        state = desired(host, [port(a_id, a_mac, "10.91.0.1", []),
                               port(b_id, b_mac, "10.91.0.2", [])])
        assert sync(reconciler, qos, kernel, state)
        assert transfer_kbps(vm_a, vm_b, "10.91.0.2") > 10 * LIMIT_KBPS
        assert received_tos(vm_a, vm_b, "10.91.0.2") == 0
        assert not any(n.startswith(qos_plan.IFB_PREFIX) for n in kernel.links())
        assert privileged.nft_table_comment(qos_plan.NFT_FAMILY, qos_plan.NFT_TABLE,
                                            host) is None
    finally:
        kernel.close()
