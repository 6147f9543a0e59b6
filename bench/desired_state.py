"""What one host's desired state costs the server: latency and queries per size.

    .venv/bin/python bench/desired_state.py [--backend postgresql] [--sizes 200,2000]
                                            [--kinds l2,l3] [--repeat 30]
                                            [--compare-l2 2] [--profile out.prof]

Needs the chosen database (make services); no RabbitMQ, no root. A neutrino-server
(noauth, fake:// transport) on a fresh database makes the resources through the API
(bulk POSTs), agents are registered by writing their reports as the server's
report_state does; then `get_desired_state` is built in this process exactly as the
RPC endpoint builds it (DesiredStates.build in one read transaction,
rpc/agent_endpoints.py) and timed, with and without the JSON encoding
oslo.messaging adds to the answer. Each size is its own host on the same database,
so every measurement also sees the other sizes' rows (the indexes must do the work).

For a size N:

* l2: N ports bound to the host (compute:nova) over --networks networks, all in one
  security group whose rule names the group itself (so the state carries every
  member's address), and N more ports of --peer-hosts other hosts on the same
  networks (the peers);
* l3: an L3 agent on the host with N // 40 routers, each with a gateway and three
  interfaces (4 router ports), and floating IPs for the rest of N, each associated
  with a VM port behind its router: router ports + floating IPs = N.

Printed per kind and size: median, p95, p99 and max latency of --repeat builds
(after one untimed), the CPU time this process spent per build (median; the rest
of the latency is the database's work and waiting for a core on a loaded machine),
the same with the JSON encoding, the answer's size, and the number of SQL
statements one build runs, which must not grow with N (tests/rpc/
test_desired_state.py asserts it for l2 and l3 on SQLite).

--compare-l2 R: for l2, R rounds alternating the build session 8 shipped
(tests/l2_reference.py) and today's, each measured as above at the same load; every
answer of both must encode to the same JSON bytes, else the run fails. --profile:
cProfile of --repeat l2 builds (today's), written to that file (pstats).

Aim (2-core machine, PostgreSQL): a host with 2,000 ports under 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from sqlalchemy import event  # noqa: E402

import l2_reference  # noqa: E402
from backends import database  # noqa: E402
from neutrino import conf as conf_mod  # noqa: E402
from neutrino.db.engine import Database  # noqa: E402
from neutrino.rpc.endpoints import AgentStateEndpoint  # noqa: E402
from neutrino.services.desired_state import DesiredStates  # noqa: E402
from rpc_helpers import l3_state, lb_state  # noqa: E402
from server import Api, ServerProcess  # noqa: E402

QUOTAS = ("[quotas]\nquota_port = -1\nquota_network = -1\nquota_subnet = -1\n"
          "quota_router = -1\nquota_floatingip = -1\nquota_security_group_rule = -1\n")
BULK = 250  # ports or floating IPs per POST
# As tests/server.py's servers: the l3 state then carries the firewall groups too.
SERVICE_PLUGINS = ["firewall_v2", "lbaas"]


class _Stopped:
    """closing() for a ServerProcess started with a longer timeout than __enter__'s."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server

    def close(self) -> None:
        self.server.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Setup:
    """Resources made through the API of a server on the benchmark's database."""

    def __init__(self, api: Api, db: Database, agent_down_time: int) -> None:
        self.api = api
        self.reports = AgentStateEndpoint(db, agent_down_time)

    def report(self, state: dict) -> None:
        assert self.reports.report_state(None, agent_state=state) != "invalid"

    def bulk(self, collection: str, items: list[dict]) -> list[dict]:
        out: list[dict] = []
        for start in range(0, len(items), BULK):
            body = {collection: items[start:start + BULK]}
            for _ in range(5):
                answer = self.api.post(collection, body)
                # 503: no database connection in time on a loaded machine (rolled
                # back): the setup is not what is measured, so tried again.
                if answer.status_code != 503:
                    break
                time.sleep(1)
            assert answer.status_code == 201, answer.text[:2000]
            out += answer.json()[collection]
        return out

    def l2_host(self, index: int, host: str, ports: int, networks: int,
                peer_hosts: int) -> None:
        self.report(lb_state(host, f"192.0.2.{index + 1}"))
        peers = [f"{host}-peer-{i}" for i in range(peer_hosts)]
        for i, peer in enumerate(peers):
            self.report(lb_state(peer, f"198.51.{index}.{i + 1}"))
        group = self.api.create("security_group", name=f"{host}-sg")
        self.api.create("security_group_rule", security_group_id=group["id"],
                        direction="ingress", remote_group_id=group["id"])
        nets = []
        for n in range(networks):
            net = self.api.network(name=f"{host}-net-{n}")
            # 10.<index*16+n>.0.0/16: room for the host's and its peers' ports.
            self.api.subnet(net["id"], f"10.{index * 16 + n}.0.0/16", enable_dhcp=False)
            nets.append(net["id"])
        items = []
        for i in range(ports):
            items.append({"network_id": nets[i % networks], "binding:host_id": host,
                          "device_owner": "compute:nova",
                          "security_groups": [group["id"]]})
            items.append({"network_id": nets[i % networks],
                          "binding:host_id": peers[i % peer_hosts],
                          "device_owner": "compute:nova",
                          "security_groups": [group["id"]]})
        self.bulk("ports", items)

    def l3_host(self, index: int, host: str, size: int) -> None:
        self.report(l3_state(host))
        routers = max(1, size // 40)
        fips = size - 4 * routers
        ext = self.api.network(name=f"{host}-public", **{"router:external": True})
        self.api.subnet(ext["id"], f"100.{64 + index}.0.0/20", enable_dhcp=False)
        vm_ports = []
        for r in range(routers):
            self.report(l3_state(host))  # alive while the routers are scheduled
            router = self.api.create("router", name=f"{host}-r{r}",
                                     external_gateway_info={"network_id": ext["id"]})
            net = self.api.network(name=f"{host}-r{r}-net")
            subnets = [self.api.subnet(net["id"], f"172.{16 + index}.{r * 4 + s}.0/24")
                       for s in range(3)]
            for subnet in subnets:
                answer = self.api.put(f"routers/{router['id']}/add_router_interface",
                                      {"subnet_id": subnet["id"]})
                assert answer.status_code == 200, answer.text
            share = fips // routers + (1 if r < fips % routers else 0)
            vm_ports += self.bulk("ports", [
                {"network_id": net["id"], "device_owner": "compute:nova",
                 "fixed_ips": [{"subnet_id": subnets[0]["id"]}]} for _ in range(share)])
        self.bulk("floatingips", [{"floating_network_id": ext["id"], "port_id": p["id"]}
                                  for p in vm_ports])


Builder = Callable[[Any], Any]  # (session) -> the desired state


def measure(db: Database, states: DesiredStates, host: str, kind: str, repeat: int,
            builder: Builder | None = None) -> dict[str, Any]:
    """`builder`: what builds the state instead of DesiredStates (--compare-l2)."""
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def one(session: Any) -> Any:
        return builder(session) if builder else states.build(session, host, kind)

    def build() -> Any:
        return db.run(one, write=False)

    state = build()  # warm: the connection pool, SQLAlchemy's statement cache
    # As a server worker after its startup (cmd/server.py): what exists now is out
    # of the collector's sight, so a collection during a build walks only what the
    # build made, not the setup's leftovers.
    gc.collect()
    gc.freeze()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        build()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    plain, encoded, cpu, thread_cpu = [], [], [], []
    size = 0
    for _ in range(repeat):
        # The previous answer freed outside the timed build: a server drops each
        # answer once encoded, so no build of it runs while the last one is alive
        # (kept, its thousands of objects were freed, and walked by the collector,
        # inside the next build's time).
        state = None
        c0 = time.process_time()
        h0 = time.thread_time()
        t0 = time.perf_counter()
        state = build()
        t1 = time.perf_counter()
        cpu.append((time.process_time() - c0) * 1000)
        thread_cpu.append((time.thread_time() - h0) * 1000)
        size = len(json.dumps(state))
        t2 = time.perf_counter()
        plain.append((t1 - t0) * 1000)
        encoded.append((t2 - t0) * 1000)
    if kind == "l2":
        items = len(state["ports"])
    else:
        items = sum(len(r["interfaces"]) + (r["gateway"] is not None)
                    + len(r["floating_ips"]) for r in state["routers"])
    return {"kind": kind, "items": items, "queries": len(statements), "answer": state,
            "median": statistics.median(plain), "p95": percentile(plain, 0.95),
            "p99": percentile(plain, 0.99), "max": max(plain),
            "cpu_median": statistics.median(cpu),
            "thread_cpu_median": statistics.median(thread_cpu),
            "json_median": statistics.median(encoded),
            "json_p95": percentile(encoded, 0.95), "bytes": size}


def line(result: dict[str, Any]) -> str:
    return (f"p50 {result['median']:.1f} / p99 {result['p99']:.1f} ms, CPU p50 "
            f"{result['cpu_median']:.1f} ms (the building thread's "
            f"{result['thread_cpu_median']:.1f} ms), {result['queries']} queries")


def compare_l2(db: Database, states: DesiredStates, host: str, size: int, repeat: int,
               rounds: int) -> list[dict[str, Any]]:
    """Session 8's l2 build and today's, alternated `rounds` times; their answers
    must be the same JSON bytes (AssertionError otherwise)."""
    out = []
    for r in range(rounds):
        for name, builder in (("before", lambda s: l2_reference.build(s, host)),
                              ("after", None)):
            result = measure(db, states, host, "l2", repeat, builder)
            result.update(size=size, code=name, round=r)
            out.append(result)
            print(f"l2 {size:>5} ports, {name:6} (round {r + 1}, load "
                  f"{os.getloadavg()[0]:.1f}): {line(result)}", flush=True)
    encoded = {json.dumps(r["answer"]) for r in out}
    assert len(encoded) == 1, f"l2 {size}: the answers differ"
    print(f"l2 {size:>5} ports: the {len(out)} answers are the same "
          f"{len(encoded.pop())} bytes", flush=True)
    return out


def profile(db: Database, states: DesiredStates, host: str, repeat: int,
            path: str) -> None:
    import cProfile
    import pstats

    def build(session: Any) -> Any:
        return states.build(session, host, "l2")

    db.run(build, write=False)
    gc.collect()
    gc.freeze()  # as measure() does
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        db.run(build, write=False)
    profiler.disable()
    profiler.dump_stats(path)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="postgresql",
                        choices=("sqlite", "postgresql", "mysql"))
    parser.add_argument("--sizes", default="200,2000",
                        help="ports of the measured host, comma-separated")
    parser.add_argument("--kinds", default="l2,l3")
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--peer-hosts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--compare-l2", type=int, default=0, metavar="ROUNDS",
                        help="l2: alternate session 8's build and today's, same answer")
    parser.add_argument("--profile", help="l2: cProfile today's builds into this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = [k for k in args.kinds.split(",") if k]
    print(f"get_desired_state, {args.backend}, sizes {sizes}, kinds {kinds}; load "
          f"average {os.getloadavg()[0]:.2f}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ds-") as tmp, \
            database(args.backend, Path(tmp)) as url, \
            contextlib.closing(_Stopped(ServerProcess(Path(tmp), url, extra_conf=QUOTAS))
                               ) as stopped:
        server = stopped.server.start(timeout=180)  # a loaded machine starts it slowly
        conf = conf_mod.new_conf([])
        conf.set_override("connection", url, group="database")
        conf.set_override("service_plugins", SERVICE_PLUGINS)
        db = Database(url)
        try:
            setup = Setup(Api(server.url).as_project("bench-ds", ["admin"]), db,
                          conf.agent_down_time)
            states = DesiredStates(conf)
            for index, size in enumerate(sizes):
                for kind in kinds:
                    host = f"ds-{kind}-{size}"
                    t0 = time.monotonic()
                    if kind == "l2":
                        setup.l2_host(index, host, size, args.networks, args.peer_hosts)
                    else:
                        setup.l3_host(index, host, size)
                    made = time.monotonic() - t0
                    if kind == "l2" and args.profile:
                        profile(db, states, host, args.repeat, args.profile)
                    if kind == "l2" and args.compare_l2:
                        results += compare_l2(db, states, host, size, args.repeat,
                                              args.compare_l2)
                        continue
                    result = measure(db, states, host, kind, args.repeat)
                    result["size"] = size
                    results.append(result)
                    print(f"{kind} {size:>5} ports (made in {made:.0f} s): build "
                          f"p50 {result['median']:.1f} / p95 {result['p95']:.1f} / p99 "
                          f"{result['p99']:.1f} / max {result['max']:.1f} ms (this "
                          f"process's CPU p50 {result['cpu_median']:.1f} ms); with JSON p50 "
                          f"{result['json_median']:.1f} / p95 {result['json_p95']:.1f} "
                          f"ms; {result['bytes'] / 1024:.0f} KiB; {result['queries']} "
                          f"queries ({result['items']} items in the state)", flush=True)
        finally:
            db.engine.dispose()
    for kind in kinds:
        counts = {r["size"]: r["queries"] for r in results if r["kind"] == kind}
        verdict = "constant" if len(set(counts.values())) == 1 else "GROWS"
        print(f"{kind} queries per build by size: {counts}: {verdict}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        for result in results:
            result.pop("answer", None)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
