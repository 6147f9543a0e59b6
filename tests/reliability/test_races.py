"""Creates racing deletes of what they refer to end in the right 4xx, never a 500,
and leave nothing half-made: a port create against a subnet and its network being
deleted (over HTTP, every backend), and the DHCP agent's get_dhcp_port against the
same deletes (the RPC endpoint, in process).

Before the engine retried foreign-key violations as races, PostgreSQL answered 500
(ForeignKeyViolation on ports / ipallocations) to some 6 % of such port creates."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faults_fixtures import project_api

from backends import database
from neutrino import conf as conf_mod
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.core import Core, build_core
from neutrino.db import migrate
from neutrino.db.engine import Database
from neutrino.rpc.agent_endpoints import AgentEndpoint
from neutrino.services import prepare as bodies
from server import Api, ServerProcess

ROUNDS = 16


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once (released together by a barrier); their results."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as error:  # noqa: BLE001 - the result to judge
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a racing request never returned"
    return results


def _invalid_subnet(response: Any) -> bool:
    """Upstream's answer to fixed_ips naming a subnet that does not exist (400)."""
    return (response.status_code == 400
            and "invalid subnet" in response.json()["NeutronError"]["message"])


def _cleanup(api: Api, network_id: str) -> None:
    for port in api.get(f"ports?network_id={network_id}").json()["ports"]:
        api.delete(f"ports/{port['id']}")
    if api.delete(f"networks/{network_id}").status_code not in (204, 404):
        raise AssertionError(f"network {network_id} left behind")


@pytest.fixture
def racer(server: ServerProcess, backend: str) -> Api:
    return project_api(server, backend)


def test_port_create_racing_subnet_and_network_delete(racer: Api) -> None:
    api = racer
    seen: Counter[str] = Counter()
    for n in range(ROUNDS):
        net = api.network(name=f"race-{n}")
        subnet = api.subnet(net["id"], "10.9.0.0/24")
        with_ip = n % 2 == 0  # half ask for an address on the subnet
        body: dict[str, Any] = {"network_id": net["id"]}
        if with_ip:
            body["fixed_ips"] = [{"subnet_id": subnet["id"]}]
        port, sub_del, net_del = _race(
            lambda b=body: api.post("ports", {"port": b}),
            lambda s=subnet: api.delete(f"subnets/{s['id']}"),
            lambda i=net["id"]: api.delete(f"networks/{i}"))
        for name, response, allowed in (("port create", port, {201, 404, 409}),
                                        ("subnet delete", sub_del, {204, 404, 409}),
                                        ("network delete", net_del, {204, 404, 409})):
            assert not isinstance(response, BaseException), f"{name}: {response!r}"
            ok = response.status_code in allowed or (name == "port create"
                                                     and _invalid_subnet(response))
            assert ok, f"{name}: {response.status_code} {response.text}"
            seen[f"{name} {response.status_code}"] += 1
        # What the answers say must be what is there: no orphans, nothing half-made.
        network_there = api.get(f"networks/{net['id']}").status_code == 200
        subnet_there = api.get(f"subnets/{subnet['id']}").status_code == 200
        assert network_there == (net_del.status_code != 204)
        assert subnet_there == (sub_del.status_code != 204 and network_there)
        if port.status_code == 201:
            created = port.json()["port"]
            assert network_there, "a port was acknowledged on a network deleted before"
            shown = api.get(f"ports/{created['id']}").json()["port"]
            assert shown["fixed_ips"] == created["fixed_ips"]
            if with_ip:
                assert subnet_there and [i["subnet_id"] for i in shown["fixed_ips"]] == [
                    subnet["id"]]
        if not network_there:
            assert api.get(f"ports?network_id={net['id']}").json()["ports"] == []
        else:
            _cleanup(api, net["id"])
    # Which side wins is the scheduler's choice (on PostgreSQL the create won all 16
    # rounds about one run in four), so the outcome mix is printed, not asserted: what
    # must hold whoever wins is asserted per round above.
    print(dict(sorted(seen.items())))


# -- the DHCP agent's port, through the RPC endpoint (in process) -----------------------


@pytest.fixture
def core(backend: str, tmp_path: Path) -> Iterator[Core]:
    with database(backend, tmp_path) as url:
        conf = conf_mod.new_conf([])
        conf.set_override("state_path", str(tmp_path))
        db = Database(url)
        migrate.upgrade(db)
        yield build_core(conf, db)
        db.engine.dispose()


def _create(core: Core, service: Any, ctx: Context, attrs: dict) -> dict:
    return service.create_bulk(ctx, [bodies.prepare_create(service.resource, attrs,
                                                           ctx)])[0]


def test_get_dhcp_port_racing_subnet_and_network_delete(core: Core) -> None:
    endpoint = AgentEndpoint(core)
    ctx = Context.admin("p-rpc-race")
    outcomes: Counter[str] = Counter()
    for n in range(ROUNDS):
        net = _create(core, core.networks, ctx, {"name": f"dhcp-race-{n}"})
        first = _create(core, core.subnets, ctx, {"network_id": net["id"], "ip_version": 4,
                                                  "cidr": "10.8.0.0/24"})
        second = _create(core, core.subnets, ctx, {"network_id": net["id"],
                                                   "ip_version": 4, "cidr": "10.8.1.0/24"})
        calls: list[Callable[[], Any]] = [
            lambda i=net["id"]: endpoint.get_dhcp_port(None, "host-a", i),
            lambda s=first["id"]: core.subnets.delete(ctx, s)]
        if n % 2:
            calls.append(lambda i=net["id"]: core.networks.delete(ctx, i))
        results = _race(*calls)
        port = results[0]
        assert not isinstance(port, BaseException), f"get_dhcp_port: {port!r}"
        for result in results[1:]:
            # A delete may find the port in the way (in use) or the row gone already.
            assert result is None or isinstance(result, exc.InUse | exc.NotFound), (
                f"delete: {result!r}")
        network_there = _exists(core.networks, ctx, net["id"])
        if port is None:
            outcomes["no port"] += 1
            assert not network_there, "no DHCP port although the network is there"
        else:
            outcomes["port"] += 1
            assert network_there, "a DHCP port handed out on a deleted network"
            subnets = {i["subnet_id"] for i in port["fixed_ips"]}
            assert subnets <= {first["id"], second["id"]}
            assert second["id"] in subnets
        if network_there:
            ports = _db_ports(core, net["id"])
            assert len(ports) <= 1, f"{len(ports)} DHCP ports for one host"
            for subnet_id in (s for _, s in ports for s in s):
                assert _exists(core.subnets, ctx, subnet_id), "orphan address"
            endpoint.release_dhcp_port(None, "host-a", net["id"])
            core.networks.delete(ctx, net["id"])
    print(dict(outcomes))


def _exists(service: Any, ctx: Context, id_: str) -> bool:
    try:
        service.get(ctx, id_)
    except exc.NotFound:
        return False
    return True


def _db_ports(core: Core, network_id: str) -> list[tuple[str, list[str]]]:
    """(port, its addresses' subnets) of the network, read from the tables."""
    from sqlalchemy import select

    from neutrino.db import models

    def run(session: Any) -> list[tuple[str, list[str]]]:
        ports = session.scalars(select(models.Port.id).where(
            models.Port.network_id == network_id)).all()
        return [(p, list(session.scalars(select(models.IPAllocation.subnet_id).where(
            models.IPAllocation.port_id == p)))) for p in ports]
    return core.db.run(run, write=False)
