"""Firewall benchmark: render and apply the security groups of 1,000 ports with 20
rules each, in a network namespace of its own (needs root; the host's own iptables
are never touched).

    .venv/bin/python bench/firewall.py [--ports 1000] [--rules 20] [--groups 50]

Ports are spread over --groups security groups of --rules rules each (TCP/UDP
ports, ICMP, prefixes, a remote group, egress), every port with an IPv4 and an
IPv6 address and an allowed address pair. Figures: render time; the first apply
(everything written); an apply of the same state (reads only, nothing written);
an apply after one group's rule changed (that group's ports' chains rewritten); an
apply after a membership change (one set swapped); removing it all.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from neutrino.agent.common import privileged  # noqa: E402
from neutrino.agent.firewall import render  # noqa: E402
from neutrino.agent.firewall.driver import ApplyResult, Firewall  # noqa: E402


def group_rules(index: int, count: int, group_ids: list[str]) -> list[dict]:
    def rule(direction: str = "ingress", ethertype: str = "IPv4", **extra: object
             ) -> dict:
        return {"id": str(uuid.uuid4()), "direction": direction, "ethertype": ethertype,
                "protocol": None, "port_range_min": None, "port_range_max": None,
                "remote_ip_prefix": None, "remote_group_id": None,
                "remote_address_group_id": None, **extra}

    rules = [rule("egress"), rule("egress", "IPv6"),
             rule(remote_group_id=group_ids[index]),
             rule(protocol="icmp"), rule(ethertype="IPv6", protocol="icmp")]
    port = 1000 + index * 100
    while len(rules) < count:
        n = len(rules)
        if n % 3 == 0:
            rules.append(rule(protocol="udp", port_range_min=port + n,
                              port_range_max=port + n + 10))
        elif n % 3 == 1:
            rules.append(rule(protocol="tcp", port_range_min=port + n,
                              port_range_max=port + n,
                              remote_ip_prefix=f"10.{index % 250}.{n}.0/24"))
        else:
            rules.append(rule(ethertype="IPv6", protocol="tcp", port_range_min=port + n,
                              port_range_max=port + n))
    return rules[:count]


def desired_state(ports: int, rules: int, groups: int) -> dict:
    group_ids = [str(uuid.uuid4()) for _ in range(groups)]
    port_list = []
    members: dict[str, dict[str, list[str]]] = {
        g: {"IPv4": [], "IPv6": []} for g in group_ids}
    for i in range(ports):
        port_id = str(uuid.uuid4())
        ip4, ip6 = f"10.200.{i // 250}.{i % 250 + 1}", f"2001:db8::{i + 1:x}"
        group = group_ids[i % groups]
        members[group]["IPv4"].append(ip4)
        members[group]["IPv6"].append(ip6)
        port_list.append({
            "id": port_id, "device": "tap" + port_id[:11], "network_id": "n",
            "mac_address": f"fa:16:3e:{i >> 16:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}",
            "fixed_ips": [{"subnet_id": "s4", "ip_address": ip4},
                          {"subnet_id": "s6", "ip_address": ip6}],
            "allowed_address_pairs": [{"ip_address": f"10.201.{i // 250}.{i % 250}/32",
                                       "mac_address": None}],
            "port_security_enabled": True, "security_groups": [group],
            "device_owner": "compute:nova", "revision_number": 1})
    return {"host": "bench", "ports": port_list, "networks": [],
            "security_groups": {g: {"stateful": True, "revision_number": 1,
                                    "rules": group_rules(i, rules, group_ids)}
                                for i, g in enumerate(group_ids)},
            "remote_groups": members, "address_groups": {}}


def timed(label: str, action: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = action()
    shown = result if isinstance(result, ApplyResult) else ""
    print(f"{label:<40} {time.perf_counter() - start:7.2f} s  {shown}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ports", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--groups", type=int, default=50)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/firewall.py needs root (a network namespace of its own)")
        return 1
    desired = desired_state(args.ports, args.rules, args.groups)
    namespace = f"nbench-{uuid.uuid4().hex[:8]}"
    privileged.create_namespace(namespace)
    try:
        firewall = Firewall(namespace)
        ruleset = timed("render", lambda: render.render(desired))
        print(f"  {args.ports} ports x {args.rules} rules: {ruleset.rule_count()} "
              f"iptables+ip6tables rules in "
              f"{sum(len(c) for c in ruleset.chains.values())} chains, "
              f"{len(ruleset.ipsets)} ipsets")
        timed("first apply (render + write everything)", lambda: firewall.apply(desired))
        timed("same state again (nothing written)", lambda: firewall.apply(desired))
        group = next(iter(desired["security_groups"].values()))
        group["rules"][-1]["port_range_max"] += 1
        timed("one rule of one group changed", lambda: firewall.apply(desired))
        members = next(iter(desired["remote_groups"].values()))
        members["IPv4"].append("10.250.0.1")
        timed("one remote group member added", lambda: firewall.apply(desired))
        timed("everything removed", firewall.remove_all)
    finally:
        privileged.delete_namespace(namespace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
