"""neutrino.ipam.allocation on each backend: the order a port's addresses keep, the
bulk reservation, exhaustion, updates, MAC moves and new SLAAC subnets."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from backends import database
from neutrino import exceptions as exc
from neutrino.db import migrate, models
from neutrino.db.engine import Database
from neutrino.ipam import allocation as ipam
from neutrino.ipam import store

R = ipam.FixedIpRequest
A = ipam.Allocation
MAC = "fa:16:3e:00:00:01"


@pytest.fixture
def db(backend: str, tmp_path: Path):
    with database(backend, tmp_path) as url:
        database_ = Database(url, max_retries=5)
        migrate.upgrade(database_)
        yield database_
        database_.engine.dispose()


def new_id() -> str:
    return str(uuid.uuid4())


def add_network(db: Database) -> str:
    net = new_id()
    db.run(lambda s: s.add(models.Network(id=net, project_id="p")))
    return net


def add_subnet(db: Database, net: str, cidr: str, pool: tuple[str, str] | None = None,
               mode: str | None = None) -> ipam.SubnetInfo:
    sid = new_id()
    version = 6 if ":" in cidr else 4

    def run(s) -> None:
        s.add(models.Subnet(id=sid, project_id="p", network_id=net, ip_version=version,
                            cidr=cidr, ipv6_ra_mode=mode, ipv6_address_mode=mode))
        s.flush()
        if pool:
            s.add(models.AllocationPool(subnet_id=sid, first_ip=pool[0], last_ip=pool[1]))
    db.run(run)
    return next(s for s in db.run(lambda s: store.network_subnets(s, net)) if s.id == sid)


def add_port(db: Database, net: str, mac: str = MAC, owner: str = "compute:nova"
             ) -> ipam.PortRef:
    port = ipam.PortRef(new_id(), net, mac, owner)
    db.run(lambda s: s.add(models.Port(id=port.id, project_id="p", network_id=net,
                                       mac_address=mac, device_owner=owner)))
    return port


def allocate(db: Database, port: ipam.PortRef, fixed_ips: list[R] | None = None,
             reserved: frozenset[str] = frozenset()) -> list[ipam.Allocation]:
    request = ipam.AllocationRequest(port, None if fixed_ips is None else tuple(fixed_ips),
                                     reserved)
    return db.run(lambda s: ipam.allocate(s, request))


def stored(db: Database, port: ipam.PortRef) -> list[ipam.Allocation]:
    return [a for a, _ in db.run(lambda s: store.port_allocations(s, port.id), write=False)]


def test_requested_first_in_request_order_then_automatic(db: Database) -> None:
    net = add_network(db)
    slaac = add_subnet(db, net, "2001:db8:1::/64", mode="slaac")
    v4 = add_subnet(db, net, "10.0.0.0/24", ("10.0.0.2", "10.0.0.254"))
    port = add_port(db, net)
    got = allocate(db, port, [R(ip_address="10.0.0.9"), R(ip_address="10.0.0.3")])
    expected = [A(v4.id, "10.0.0.9"), A(v4.id, "10.0.0.3"),
                A(slaac.id, "2001:db8:1:0:f816:3eff:fe00:1")]
    assert got == expected
    assert stored(db, port) == expected


def test_default_choice_ipv4_first(db: Database) -> None:
    net = add_network(db)
    add_subnet(db, net, "2001:db8:1::/64", mode="slaac")
    v4 = add_subnet(db, net, "10.0.0.0/24", ("10.0.0.2", "10.0.0.254"))
    port = add_port(db, net)
    got = allocate(db, port)
    assert [a.subnet_id for a in got][0] == v4.id
    assert stored(db, port) == got


def test_bulk_reservation_and_exhaustion(db: Database) -> None:
    net = add_network(db)
    v4 = add_subnet(db, net, "10.0.0.0/29", ("10.0.0.2", "10.0.0.3"))
    first = add_port(db, net, "fa:16:3e:00:00:01")
    assert allocate(db, first, reserved=frozenset({"10.0.0.2"})) == [A(v4.id, "10.0.0.3")]
    second = add_port(db, net, "fa:16:3e:00:00:02")
    assert allocate(db, second, [R(ip_address="10.0.0.2")]) == [A(v4.id, "10.0.0.2")]
    third = add_port(db, net, "fa:16:3e:00:00:03")
    with pytest.raises(exc.IpAddressGenerationFailure):
        allocate(db, third)
    with pytest.raises(exc.IpAddressAlreadyAllocated):
        allocate(db, third, [R(ip_address="10.0.0.2")])
    assert stored(db, third) == []


def test_update_keeps_order_and_appends(db: Database) -> None:
    net = add_network(db)
    slaac = add_subnet(db, net, "2001:db8:1::/64", mode="slaac")
    v4 = add_subnet(db, net, "10.0.0.0/24", ("10.0.0.2", "10.0.0.254"))
    port = add_port(db, net)
    auto = A(slaac.id, "2001:db8:1:0:f816:3eff:fe00:1")
    allocate(db, port, [R(ip_address="10.0.0.5"), R(ip_address="10.0.0.6")])
    got = db.run(lambda s: ipam.update(s, port, [R(ip_address="10.0.0.7"),
                                                 R(ip_address="10.0.0.6")]))
    expected = [A(v4.id, "10.0.0.6"), auto, A(v4.id, "10.0.0.7")]
    assert got == expected
    assert stored(db, port) == expected
    with pytest.raises(exc.InvalidInput):
        db.run(lambda s: ipam.update(s, port, [R(subnet_id=new_id())]))
    assert stored(db, port) == expected  # nothing changed


def test_new_mac_moves_automatic_address_in_place(db: Database) -> None:
    net = add_network(db)
    slaac = add_subnet(db, net, "2001:db8:1::/64", mode="slaac")
    v4 = add_subnet(db, net, "10.0.0.0/24", ("10.0.0.2", "10.0.0.254"))
    port = add_port(db, net)
    allocate(db, port, [R(subnet_id=slaac.id), R(ip_address="10.0.0.5")])
    moved = ipam.PortRef(port.id, net, "fa:16:3e:00:00:02", port.device_owner)
    db.run(lambda s: ipam.move_auto_addresses(s, moved, MAC))
    assert stored(db, port) == [A(slaac.id, "2001:db8:1:0:f816:3eff:fe00:2"),
                                A(v4.id, "10.0.0.5")]


def test_new_automatic_subnet_appends_to_ports_but_not_router_ports(db: Database) -> None:
    net = add_network(db)
    v4 = add_subnet(db, net, "10.0.0.0/24", ("10.0.0.2", "10.0.0.254"))
    port = add_port(db, net)
    router = add_port(db, net, "fa:16:3e:00:00:02", "network:router_interface")
    allocate(db, port, [R(ip_address="10.0.0.5"), R(ip_address="10.0.0.6")])
    allocate(db, router, [R(ip_address="10.0.0.1")])
    slaac = add_subnet(db, net, "2001:db8:1::/64", mode="slaac")
    addressed = db.run(lambda s: ipam.address_ports_on_new_subnet(s, slaac, [port, router]))
    assert addressed == [port.id]
    assert stored(db, port) == [A(v4.id, "10.0.0.5"), A(v4.id, "10.0.0.6"),
                                A(slaac.id, "2001:db8:1:0:f816:3eff:fe00:1")]
    assert stored(db, router) == [A(v4.id, "10.0.0.1")]


def test_release_by_port_subnet_or_both(db: Database) -> None:
    net = add_network(db)
    a = add_subnet(db, net, "10.0.0.0/24", ("10.0.0.2", "10.0.0.254"))
    b = add_subnet(db, net, "10.1.0.0/24", ("10.1.0.2", "10.1.0.254"))
    p1, p2 = add_port(db, net), add_port(db, net, "fa:16:3e:00:00:02")
    allocate(db, p1, [R(subnet_id=a.id), R(subnet_id=b.id)])
    allocate(db, p2, [R(subnet_id=a.id), R(subnet_id=b.id)])
    db.run(lambda s: ipam.release(s, port_id=p1.id, subnet_id=a.id))
    assert [x.subnet_id for x in stored(db, p1)] == [b.id]
    db.run(lambda s: ipam.release(s, subnet_id=b.id))
    assert stored(db, p1) == []
    assert [x.subnet_id for x in stored(db, p2)] == [a.id]
    db.run(lambda s: ipam.release(s, port_id=p2.id))
    assert stored(db, p2) == []
    assert db.run(lambda s: store.used_count(s, a.id)) == 0
