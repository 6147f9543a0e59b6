"""The firewall's first write alone: ``iptables-restore --noflush`` of the rendered
chains of N ports, in a namespace of its own with N veth pairs up (needs root).

    .venv/bin/python bench/iptables_restore.py [--ports 250,500,1000,2000]
                                               [--save DIR] [--no-links]

The ports are those of bench/dataplane_scale.py (one security group whose rules use
the group itself and a second group as remote groups). Per size: the rules written
per IP version and each restore's wall clock, user and system CPU seconds. The links
matter: iptables resolves every udp/tcp port number of a rule with getaddrinfo(),
which dumps every address of the namespace (each veth up has an IPv6 link-local
one), so a rule like that per port made the write quadratic (docs/agents.md,
session 9). `--save DIR` keeps each rendered input (``v4-1000.txt`` ...).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "src"))  # after PYTHONPATH: another tree can be measured

from neutrino.agent.common import privileged  # noqa: E402
from neutrino.agent.firewall import render  # noqa: E402
from neutrino.agent.firewall.driver import Tables, plan_table  # noqa: E402

GROUP = "5e1f0b2c-0000-4000-8000-00000000cafe"
REMOTE = "77770000-0000-4000-8000-00000000beef"


def rule(direction: str = "ingress", **extra: object) -> dict:
    return {"id": str(uuid.uuid4()), "direction": direction, "ethertype": "IPv4",
            "protocol": None, "port_range_min": None, "port_range_max": None,
            "remote_ip_prefix": None, "remote_group_id": None,
            "remote_address_group_id": None, **extra}


def desired_state(count: int) -> dict:
    ports = []
    for i in range(count):
        port_id = f"{i:08x}-0000-4000-8000-{uuid.uuid4().hex[:12]}"
        ports.append({
            "id": port_id, "device": "tap" + port_id[:11], "network_id": "n",
            "mac_address": f"fa:16:3e:00:{i // 250:02x}:{i % 250 + 2:02x}",
            "fixed_ips": [{"subnet_id": "s",
                           "ip_address": f"10.72.{i // 250}.{i % 250 + 2}"}],
            "allowed_address_pairs": [], "port_security_enabled": True,
            "security_groups": [GROUP], "device_owner": "compute:nova",
            "revision_number": 1})
    rules = [rule(remote_group_id=GROUP),
             rule(remote_group_id=REMOTE, protocol="tcp", port_range_min=5432,
                  port_range_max=5432),
             rule(protocol="tcp", port_range_min=22, port_range_max=22)]
    return {"host": "bench", "ports": ports, "networks": [],
            "security_groups": {GROUP: {"stateful": True, "revision_number": 1,
                                        "rules": rules}},
            "remote_groups": {
                GROUP: {"IPv4": [p["fixed_ips"][0]["ip_address"] for p in ports],
                        "IPv6": []},
                REMOTE: {"IPv4": [], "IPv6": []}},
            "address_groups": {}}


def first_write(ruleset: render.Ruleset, version: int) -> str:
    """What the driver writes to an empty table (driver._apply_chains)."""
    write, delete, add, remove = plan_table(ruleset.chains[version],
                                            Tables(jumps={"FORWARD": 0, "INPUT": 0}))
    return render.iptables_restore_input(write, delete, add, remove)


def timed_restore(namespace: str, text: str, version: int) -> tuple[float, float, float]:
    """(wall, user, system) seconds of one restore."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    tool = "ip6tables-restore" if version == 6 else "iptables-restore"
    subprocess.run(["ip", "netns", "exec", namespace, tool, "--noflush"], input=text,
                   text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def links(namespace: str, count: int) -> None:
    """`count` veth pairs, up (no bridge: a Linux bridge takes 1,024 ports)."""
    lines = [f"link add t{i:08x} type veth peer name p{i:08x}\n"
             f"link set t{i:08x} up\nlink set p{i:08x} up" for i in range(count)]
    subprocess.run(["ip", "-n", namespace, "-batch", "-"], input="\n".join(lines) + "\n",
                   text=True, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ports", default="250,500,1000,2000")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--no-links", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/iptables_restore.py needs root (a network namespace of its own)")
        return 1
    for count in (int(n) for n in args.ports.split(",")):
        ruleset = render.render(desired_state(count))
        namespace = f"nbench-{uuid.uuid4().hex[:8]}"
        privileged.create_namespace(namespace)
        try:
            if not args.no_links:
                links(namespace, count)
            privileged.ipset_restore(render.ipset_commands(ruleset.ipsets.values()),
                                     namespace)
            shown = []
            for version in render.VERSIONS:
                text = first_write(ruleset, version)
                if args.save:
                    args.save.mkdir(parents=True, exist_ok=True)
                    (args.save / f"v{version}-{count}.txt").write_text(text)
                wall, user, system = timed_restore(namespace, text, version)
                rules = sum(len(r) for r in ruleset.chains[version].values())
                shown.append(f"v{version} {rules:6d} rules {wall:6.2f} s "
                             f"(user {user:.2f}, sys {system:.2f})")
            load = os.getloadavg()[0]
            print(f"{count:5d} ports  " + "  ".join(shown) + f"  load {load:.1f}",
                  flush=True)
        finally:
            privileged.delete_namespace(namespace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
