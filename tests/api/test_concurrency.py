"""Concurrent port creation against a server with two API worker processes.

Many clients at once on one subnet must get distinct addresses and MACs, an
exhausted pool must answer 409 IpAddressGenerationFailure (never 500/503), and a
contested fixed IP must go to exactly one port. Outcomes only, no timing.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from backends import database, selected_backends
from server import Api, ServerProcess, error_of

WORKERS = 2
PORTS = 100
CLIENTS = 16


@pytest.fixture(scope="module", params=["postgresql", "mysql", "sqlite"])
def busy_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[ServerProcess]:
    backend = request.param
    if backend not in selected_backends():
        pytest.skip(f"{backend} not in NEUTRINO_TEST_BACKENDS")
    state = tmp_path_factory.mktemp(f"concurrency-{backend}")
    with database(backend, state) as url, \
            ServerProcess(state, url, workers=WORKERS) as proc:
        yield proc


def project_api(server: ServerProcess) -> Api:
    """A fresh project (so its quota usage is exactly what this test creates)."""
    return Api(server.url).as_project(f"p-{uuid.uuid4().hex[:12]}")


def in_parallel(count: int, threads: int, call: Callable[[httpx.Client, int], httpx.Response],
                headers: dict[str, str], base_url: str) -> list[httpx.Response]:
    """call(client, i) for i in range(count) from `threads` threads, each with its own
    keep-alive client; the first `threads` calls are released together."""
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()
    barrier = threading.Barrier(min(threads, count))

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base_url, headers=headers, timeout=120)
            with lock:
                clients.append(local.client)
        return local.client

    def task(i: int) -> httpx.Response:
        c = client()
        if i < threads:
            barrier.wait(timeout=60)
        return call(c, i)

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(task, range(count)))
    finally:
        for c in clients:
            c.close()


def describe(responses: list[httpx.Response]) -> str:
    return "; ".join(sorted({f"{r.status_code} {r.text[:200]}" for r in responses
                             if r.status_code != 201}))


def test_parallel_port_creation_distinct_addresses(busy_server: ServerProcess) -> None:
    api = project_api(busy_server)
    net = api.network(name="busy")
    subnet = api.subnet(net["id"], "10.100.0.0/24")

    def create(client: httpx.Client, i: int) -> httpx.Response:
        return client.post("/v2.0/ports", json={"port": {"network_id": net["id"],
                                                         "name": f"p{i}"}})

    responses = in_parallel(PORTS, CLIENTS, create, dict(api.client.headers),
                            busy_server.url)
    assert Counter(r.status_code for r in responses) == {201: PORTS}, describe(responses)
    ports = [r.json()["port"] for r in responses]
    addresses = [ip["ip_address"] for p in ports for ip in p["fixed_ips"]]
    assert len(addresses) == PORTS
    assert len(set(addresses)) == PORTS
    assert all(ip["subnet_id"] == subnet["id"] for p in ports for ip in p["fixed_ips"])
    macs = [p["mac_address"] for p in ports]
    assert len(set(macs)) == PORTS
    assert len({p["id"] for p in ports}) == PORTS

    listed = api.get("ports", params={"network_id": net["id"]})
    assert listed.status_code == 200
    listed_ports = listed.json()["ports"]
    assert len(listed_ports) == PORTS
    assert {p["id"] for p in listed_ports} == {p["id"] for p in ports}
    assert sorted(ip["ip_address"] for p in listed_ports for ip in p["fixed_ips"]) == \
        sorted(addresses)

    project = api.client.headers["X-Project-Id"]
    details = Api(busy_server.url).get(f"quotas/{project}/details")
    assert details.status_code == 200, details.text
    assert details.json()["quota"]["port"]["used"] == PORTS


def test_parallel_creation_exhausts_small_pool(busy_server: ServerProcess) -> None:
    api = project_api(busy_server)
    net = api.network(name="small")
    subnet = api.subnet(net["id"], "10.101.0.0/24",
                        allocation_pools=[{"start": "10.101.0.10", "end": "10.101.0.19"}])

    def create(client: httpx.Client, i: int) -> httpx.Response:
        return client.post("/v2.0/ports", json={"port": {"network_id": net["id"]}})

    responses = in_parallel(30, 30, create, dict(api.client.headers), busy_server.url)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 10, 409: 20}, describe(responses)
    failures = [error_of(r) for r in responses if r.status_code == 409]
    assert {f["type"] for f in failures} == {"IpAddressGenerationFailure"}
    addresses = [r.json()["port"]["fixed_ips"][0]["ip_address"]
                 for r in responses if r.status_code == 201]
    assert sorted(addresses) == [f"10.101.0.{i}" for i in range(10, 20)]
    assert all(r.json()["port"]["fixed_ips"][0]["subnet_id"] == subnet["id"]
               for r in responses if r.status_code == 201)
    listed = api.get("ports", params={"network_id": net["id"]}).json()["ports"]
    assert len(listed) == 10


def test_parallel_requests_for_the_same_ip(busy_server: ServerProcess) -> None:
    api = project_api(busy_server)
    net = api.network(name="contested")
    subnet = api.subnet(net["id"], "10.102.0.0/24")
    wanted = [{"subnet_id": subnet["id"], "ip_address": "10.102.0.50"}]

    def create(client: httpx.Client, i: int) -> httpx.Response:
        return client.post("/v2.0/ports", json={"port": {"network_id": net["id"],
                                                         "fixed_ips": wanted}})

    responses = in_parallel(30, 30, create, dict(api.client.headers), busy_server.url)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 29}, describe(responses)
    assert {error_of(r)["type"] for r in responses if r.status_code == 409} == \
        {"IpAddressAlreadyAllocated"}
    [winner] = [r.json()["port"] for r in responses if r.status_code == 201]
    assert winner["fixed_ips"] == wanted
    listed = api.get("ports", params={"network_id": net["id"]}).json()["ports"]
    assert [p["id"] for p in listed] == [winner["id"]]

