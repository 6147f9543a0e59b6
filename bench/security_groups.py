"""Security group benchmark: listing 10,000 rules across 500 groups.

For each backend it starts a dedicated neutrino-server on a fresh database
(tests/server.py, tests/backends.py), fills it with bulk POSTs (500 groups, each with
its two default egress rules plus ingress rules up to --rules in total), then times
GET /v2.0/security-group-rules and GET /v2.0/security-groups (every rule embedded),
median of --repeat after a warmup request, full response read.

    .venv/bin/python bench/security_groups.py --backends sqlite,postgresql,mysql
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from backends import database  # noqa: E402
from server import ServerProcess  # noqa: E402

QUOTAS = ("[quotas]\nquota_security_group = 100000\n"
          "quota_security_group_rule = 1000000\n")
BULK = 500


def fill(client: httpx.Client, groups: int, rules: int) -> None:
    ids: list[str] = []
    for start in range(0, groups, 100):
        response = client.post("/v2.0/security-groups", json={"security_groups": [
            {"name": f"bench-{i}"} for i in range(start, min(groups, start + 100))]})
        assert response.status_code == 201, response.text
        ids += [g["id"] for g in response.json()["security_groups"]]
    existing = 4 + 2 * groups              # the default group's 4, each group's 2
    per_group = max(0, -(-(rules - existing) // groups))
    todo = [{"security_group_id": g, "direction": "ingress", "protocol": "tcp",
             "port_range_min": 1000 + n, "port_range_max": 1000 + n,
             "remote_ip_prefix": f"10.{n}.0.0/16"}
            for g in ids for n in range(per_group)]
    for start in range(0, len(todo), BULK):
        response = client.post("/v2.0/security-group-rules", json={
            "security_group_rules": todo[start:start + BULK]})
        assert response.status_code == 201, response.text


def single_creates(client: httpx.Client, count: int) -> float:
    """Rules per second created one POST at a time, into one new group."""
    group = client.post("/v2.0/security-groups", json={"security_group": {
        "name": "bench-single"}}).json()["security_group"]["id"]
    t0 = time.perf_counter()
    for n in range(count):
        response = client.post("/v2.0/security-group-rules", json={"security_group_rule": {
            "security_group_id": group, "direction": "ingress", "protocol": "udp",
            "port_range_min": 2000 + n, "port_range_max": 2000 + n}})
        assert response.status_code == 201, response.text
    return count / (time.perf_counter() - t0)


def timed(client: httpx.Client, path: str, repeat: int) -> tuple[float, int, int]:
    client.get(path).raise_for_status()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(path)
        response.raise_for_status()
        times.append(time.perf_counter() - t0)
    body = response.json()
    count = len(next(iter(body.values())))
    return statistics.median(times), count, len(response.content)


def run(backend: str, groups: int, rules: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix=f"neutrino-sgbench-{backend}-") as tmp:
        state = Path(tmp)
        with database(backend, state) as url, \
                ServerProcess(state, url, extra_conf=QUOTAS) as server, \
                httpx.Client(base_url=server.url, timeout=600) as client:
            t0 = time.perf_counter()
            fill(client, groups, rules)
            seconds = time.perf_counter() - t0
            print(f"{backend}: {groups} groups and {rules} rules created in bulk in "
                  f"{seconds:.1f} s ({rules / seconds:.0f} rules/s)")
            print(f"{backend}: single-rule POSTs: {single_creates(client, 200):.0f} rules/s "
                  "(one client)")
            for path in ("/v2.0/security-group-rules", "/v2.0/security-group-rules?fields=id",
                         "/v2.0/security-groups", "/v2.0/security-groups?fields=id"):
                median, count, size = timed(client, path, repeat)
                print(f"{backend:10} {path:40} {count:6} items {size / 1e6:6.1f} MB "
                      f"median {median:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--rules", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for backend in args.backends.split(","):
        run(backend, args.groups, args.rules, args.repeat)


if __name__ == "__main__":
    main()
