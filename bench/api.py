"""API benchmark: port creation throughput and large-list latency.

For each backend x API-worker count it starts a dedicated neutrino-server on a fresh
database (tests/server.py, tests/backends.py), then measures

* port creations per second with 1 and with 8 concurrent clients (each an
  keep-alive http.client connection), on one network with a /16 subnet;
* the latency of listing all ports (GET /v2.0/ports) once the database holds
  --list-size ports, with all fields and with fields=id (median of --repeat after a
  warmup request).

    .venv/bin/python bench/api.py --backends sqlite,postgresql --workers 1,2

See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from backends import database  # noqa: E402
from server import Api, ServerProcess  # noqa: E402

# Quotas high enough for thousands of ports, but finite: the quota check (a count of
# the project's ports) stays in the measured path, as it is in production.
QUOTAS = "[quotas]\nquota_port = 1000000\nquota_network = 1000\nquota_subnet = 1000\n"
BULK = 100          # ports per bulk request when filling the database for the list test
FILL_CLIENTS = 4


@dataclass
class CreateResult:
    clients: int
    count: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float     # CPU time of the API processes per creation


@dataclass
class ListResult:
    query: str
    ports: int
    median_s: float
    min_s: float
    max_s: float
    bytes: int


@dataclass
class Run:
    backend: str
    workers: int
    creates: list[CreateResult] = field(default_factory=list)
    lists: list[ListResult] = field(default_factory=list)
    error: str = ""


@contextmanager
def started_server(backend: str, workers: int, threads: int | None) -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory(prefix=f"neutrino-bench-{backend}-") as tmp:
        state = Path(tmp)
        extra = QUOTAS
        if threads:
            extra = f"api_threads = {threads}\n" + extra
        with database(backend, state) as url, \
                ServerProcess(state, url, workers=workers, extra_conf=extra) as proc:
            yield proc


def server_cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its descendants (the gunicorn workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def measure_creates(server: ServerProcess, network_id: str, count: int, clients: int
                    ) -> CreateResult:
    """`count` single-port POSTs spread over `clients` threads, each with its own
    keep-alive connection."""
    # The stdlib client costs the (shared) 2 cores far less per request than httpx,
    # so the figure measures the server more than the load generator.
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    conns = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
             for _ in range(clients)]
    for c in conns:                      # open the connections before timing
        c.request("GET", "/")
        c.getresponse().read()
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_client = [count // clients + (1 if i < count % clients else 0)
                  for i in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def work(i: int) -> None:
        client = conns[i]
        mine: list[float] = []
        barrier.wait()
        for n in range(per_client[i]):
            t0 = time.perf_counter()
            client.request("POST", "/v2.0/ports", body=json.dumps({"port": {
                "network_id": network_id, "name": f"bench-{clients}-{i}-{n}"}}),
                headers=headers)
            response = client.getresponse()
            body = response.read()
            mine.append(time.perf_counter() - t0)
            if response.status != 201:
                with lock:
                    failures.append(f"{response.status} {body[:200]!r}")
        with lock:
            latencies.extend(mine)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(work, i) for i in range(clients)]
        barrier.wait()
        start = time.perf_counter()
        cpu_start = server_cpu_seconds(server.proc.pid)
        for f in futures:
            f.result()
        seconds = time.perf_counter() - start
        cpu = server_cpu_seconds(server.proc.pid) - cpu_start
    for c in conns:
        c.close()
    if failures:
        raise RuntimeError(f"{len(failures)} of {count} creations failed, e.g. {failures[0]}")
    latencies.sort()
    return CreateResult(clients, count, seconds, count / seconds,
                        1000 * statistics.median(latencies),
                        1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
                        1000 * cpu / count)


def fill_ports(base_url: str, network_id: str, total: int) -> None:
    """Bring the number of ports to `total` with bulk creations (not timed)."""
    api = Api(base_url)
    have = len(api.get("ports", params={"fields": "id"}).json()["ports"])
    missing = max(0, total - have)
    batches = [min(BULK, missing - i) for i in range(0, missing, BULK)]

    def create(size: int) -> None:
        with httpx.Client(base_url=base_url, timeout=300) as client:
            r = client.post("/v2.0/ports", json={"ports": [
                {"network_id": network_id, "name": "fill"} for _ in range(size)]})
            if r.status_code != 201:
                raise RuntimeError(f"bulk create: {r.status_code} {r.text[:300]}")

    with ThreadPoolExecutor(max_workers=FILL_CLIENTS) as pool:
        list(pool.map(create, batches))


def measure_list(base_url: str, params: dict[str, str], repeat: int, expect: int
                 ) -> ListResult:
    with httpx.Client(base_url=base_url, timeout=300,
                      headers={"Accept": "application/json"}) as client:
        warm = client.get("/v2.0/ports", params=params)
        warm.raise_for_status()
        count = len(warm.json()["ports"])
        if count != expect:
            raise RuntimeError(f"listed {count} ports, expected {expect}")
        times = []
        size = 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = client.get("/v2.0/ports", params=params)
            r.raise_for_status()
            size = len(r.content)
            times.append(time.perf_counter() - t0)
    query = "&".join(f"{k}={v}" for k, v in params.items()) or "(all fields)"
    return ListResult(query, count, statistics.median(times), min(times), max(times), size)


def bench_one(backend: str, workers: int, args: argparse.Namespace) -> Run:
    run = Run(backend, workers)
    with started_server(backend, workers, args.threads) as server:
        api = Api(server.url)
        net = api.network(name="bench")
        api.subnet(net["id"], "10.0.0.0/16")
        measure_creates(server, net["id"], args.warmup, max(args.clients))  # warmup
        for clients in args.clients:
            result = measure_creates(server, net["id"], args.ports, clients)
            run.creates.append(result)
            print(f"  {backend:<10} workers={workers} clients={clients}: "
                  f"{result.per_second:7.1f} creations/s  (p50 {result.p50_ms:.1f} ms, "
                  f"p99 {result.p99_ms:.1f} ms, server CPU {result.server_cpu_ms:.1f} ms/creation)",
                  flush=True)
        if args.list_size:
            fill_ports(server.url, net["id"], args.list_size)
            for params in ({}, {"fields": "id"}):
                result = measure_list(server.url, params, args.repeat, args.list_size)
                run.lists.append(result)
                print(f"  {backend:<10} workers={workers} list {result.ports} ports "
                      f"{result.query}: median {result.median_s:.3f} s "
                      f"({result.bytes / 1e6:.1f} MB)", flush=True)
    return run


def print_table(runs: list[Run], args: argparse.Namespace) -> None:
    head = ["backend", "workers"]
    head += [f"create/s c={c}" for c in args.clients]
    head += [f"p50 ms c={c}" for c in args.clients]
    head += [f"p99 ms c={c}" for c in args.clients]
    head += [f"srv CPU ms c={c}" for c in args.clients]
    if args.list_size:
        head += [f"list {args.list_size} all (s)", f"list {args.list_size} id (s)"]
    rows = []
    for run in runs:
        if run.error:
            rows.append([run.backend, str(run.workers), f"ERROR: {run.error}"])
            continue
        row = [run.backend, str(run.workers)]
        row += [f"{c.per_second:.1f}" for c in run.creates]
        row += [f"{c.p50_ms:.1f}" for c in run.creates]
        row += [f"{c.p99_ms:.1f}" for c in run.creates]
        row += [f"{c.server_cpu_ms:.1f}" for c in run.creates]
        row += [f"{x.median_s:.3f}" for x in run.lists]
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows if i < len(r)))
              for i, h in enumerate(head)]
    line = "  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))
    print()
    print(f"Neutrino API benchmark: {args.ports} creations per measurement, list of "
          f"{args.list_size} ports (median of {args.repeat}); {os.cpu_count()} CPUs, "
          f"load average now {load_average()}")
    print(line)
    print("-" * len(line))
    for row in rows:
        if len(row) < len(head):
            print("  ".join(row))
        else:
            print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql, mysql")
    parser.add_argument("--workers", type=int_list, default=[1, 2],
                        help="API worker process counts, e.g. 1,2")
    parser.add_argument("--threads", type=int, default=None,
                        help="api_threads per worker (default: the server's default)")
    parser.add_argument("--clients", type=int_list, default=[1, 8],
                        help="concurrent clients for the creation measurements")
    parser.add_argument("--ports", type=int, default=400,
                        help="port creations per measurement")
    parser.add_argument("--warmup", type=int, default=40, help="untimed creations first")
    parser.add_argument("--list-size", type=int, default=5000,
                        help="ports in the database for the list measurement (0: skip)")
    parser.add_argument("--repeat", type=int, default=5, help="timed list requests")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    total = args.warmup + args.ports * len(args.clients)
    if args.list_size and args.list_size < total:
        parser.error(f"--list-size must be at least the {total} ports created before")

    runs: list[Run] = []
    print(f"load average before: {load_average()} (other load skews the figures)",
          flush=True)
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        for workers in args.workers:
            print(f"== {backend}, {workers} API worker(s)", flush=True)
            try:
                runs.append(bench_one(backend, workers, args))
            except BaseException as error:  # noqa: BLE001 - pytest.skip is a BaseException
                if isinstance(error, KeyboardInterrupt):
                    raise
                print(f"  failed: {error}", flush=True)
                runs.append(Run(backend, workers, error=str(error)[:200]))
    print_table(runs, args)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
