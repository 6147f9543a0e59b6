"""The Open vSwitch agent's sync on a private ovs-vswitchd (datapath netdev, root):
N VM ports (OVS internal ports with external_ids:iface-id) on N/10 VXLAN networks
with 10 peer hosts of 5 MACs each; the first sync that tags them and writes their
flows, then a resync with nothing to change (what every periodic resync and a
restart cost).

    .venv/bin/python bench/ovs_sync.py --ports 500 [--firewall]

No server: the desired state is made here, the reconciler is the agent's own.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from dataplane.ovs_host import OvsHost, available  # noqa: E402
from dataplane.topology import Topology  # noqa: E402
from neutrino.agent.ovs.plan import Settings  # noqa: E402
from neutrino.agent.ovs.privileged import OpenFlow, Ovsdb  # noqa: E402
from neutrino.agent.ovs.reconciler import Reconciler  # noqa: E402


def desired_state(n: int) -> dict:
    nets = [f"n{i:03d}-{uuid.uuid4().hex}" for i in range(max(1, n // 10))]
    ports = []
    for i in range(n):
        pid = str(uuid.uuid4())
        ports.append({"id": pid, "device": "tap" + pid[:11], "revision_number": 1,
                      "network_id": nets[i % len(nets)],
                      "mac_address": f"fa:16:3e:{i >> 16:02x}:{(i >> 8) & 255:02x}:"
                                     f"{i & 255:02x}",
                      "admin_state_up": True, "status": "DOWN",
                      "device_owner": "compute:nova", "fixed_ips": [],
                      "allowed_address_pairs": [], "port_security_enabled": True,
                      "security_groups": []})
    peers = [{"host": f"h{j}", "tunnel_ip": f"192.0.2.{j + 2}",
              "macs": [{"mac_address": f"fa:16:3f:00:{j:02x}:{k:02x}", "ip_address": None}
                       for k in range(5)]} for j in range(10)]
    networks = [{"id": net, "revision_number": 1, "mtu": 1450, "network_type": "vxlan",
                 "physical_network": None, "segmentation_id": 100 + i, "peers": peers}
                for i, net in enumerate(nets)]
    return {"host": "bench", "ports": ports, "networks": networks,
            "security_groups": {}, "remote_groups": {}, "address_groups": {}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=500)
    parser.add_argument("--firewall", action="store_true",
                        help="table 60's per-port flows to the firewall's tables")
    args = parser.parse_args()
    why = available()
    if why:
        print(f"skipped: {why}")
        return 0
    topo = Topology()
    host = topo.namespace("ovsbench")
    ovs = OvsHost(Path(f"/tmp/{topo.prefix}ovs"), host).start()
    try:
        settings = Settings(datapath_type="netdev", local_ip="192.0.2.1", cookie=0xbe4c,
                            firewall=args.firewall)
        db = Ovsdb(ovs.db)
        reconciler = Reconciler(db, OpenFlow(str(ovs.rundir)), settings)
        desired = desired_state(args.ports)
        start = time.monotonic()
        reconciler.reconcile(desired)  # bridges, tunnels, l2population flows
        bridges = time.monotonic() - start
        # The hypervisor's part, in one transaction: N ports with their iface-id.
        with db.api.transaction(check_error=True) as txn:
            for port in desired["ports"]:
                txn.add(db.api.add_port("br-int", port["device"], may_exist=True))
                txn.add(db.api.db_set("Interface", port["device"], ("type", "internal"),
                                      ("external_ids", {"iface-id": port["id"]})))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(
                p.ofport < 1 for p in db.observe().ports.values() if p.iface_id):
            time.sleep(0.2)
        start = time.monotonic()
        first = reconciler.reconcile(desired)
        first_s = time.monotonic() - start
        start = time.monotonic()
        again = reconciler.reconcile(desired)
        again_s = time.monotonic() - start
        flows = sum(len(ovs.flows(b)) for b in ("br-int", "br-tun"))
        print(f"{args.ports} ports on {len(desired['networks'])} VXLAN networks, 10 peers: "
              f"bridges+tunnels+l2pop {bridges:.2f} s; first port sync {first_s:.2f} s "
              f"({len(first.actions)} OVSDB changes, {first.flow_changes} flow changes); "
              f"resync {again_s:.2f} s ({again.flow_changes} changes); {flows} flows")
        db.close()
    finally:
        ovs.stop()
        topo.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
