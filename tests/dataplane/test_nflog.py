"""The NFLOG netlink reading of agent/firewall/nflog.py against this kernel (root): in
a namespace of the test's own, a socket bound with `bind_messages` receives the packet
an iptables ``-j NFLOG`` rule logs, and `parse` finds the rule's group, prefix and the
whole IP packet in it. (Security group logging's dataplane is built on this; see
docs/agents.md.)"""

from __future__ import annotations

import json
import subprocess
import sys

from dataplane.topology import Topology, ping_once

# Runs inside the namespace: bind, then wait (with a deadline) for a logged packet
# while the test pings; prints what was parsed.
READER = r"""
import json, socket, sys, time
from neutrino.agent.firewall import nflog
group = int(sys.argv[1])
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, nflog.NETLINK_NETFILTER)
sock.bind((0, 0))
acks = 0
for message in nflog.bind_messages(group):
    sock.send(message)
    acks += nflog.check_acks(sock.recv(65536))
print("bound", acks, flush=True)
sock.settimeout(0.5)
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        data = sock.recv(65536)
    except socket.timeout:
        continue
    for packet in nflog.parse(data):
        print(json.dumps({"group": packet.group, "prefix": packet.prefix,
                          "indev": packet.indev, "outdev": packet.outdev,
                          "summary": nflog.summary(packet.payload)}), flush=True)
        sys.exit(0)
sys.exit(1)
"""


def test_nflog_rule_reaches_a_netlink_socket(topo: Topology) -> None:
    ns = topo.namespace("nflog")
    subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
                   check=True)
    subprocess.run(["ip", "netns", "exec", ns, "iptables", "-A", "OUTPUT", "-p", "icmp",
                    "-m", "limit", "--limit", "100/sec", "--limit-burst", "25",
                    "-j", "NFLOG", "--nflog-group", "9", "--nflog-prefix", "nl-test"],
                   check=True)
    reader = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", READER,
                               "9"], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().split() == ["bound", "4"]
        ping_once(ns, "127.0.0.1")
        out, _ = reader.communicate(timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0
    logged = json.loads(out.splitlines()[0])
    assert logged["group"] == 9 and logged["prefix"] == "nl-test"
    assert logged["outdev"] == 1  # lo
    assert logged["summary"].startswith(
        "ipv4 src=127.0.0.1 dst=127.0.0.1 proto=icmp type=8 code=0")
