"""Provider networks, segments and segmentation-id allocation (ML2 type drivers).

The shared server runs the default configuration: vxlan project networks with VNIs
1:1000, flat networks on any physical network, no VLAN ranges. Dedicated servers
cover VLAN ranges, a small VNI range (exhaustion, concurrency) and a restart with
changed ranges.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from backends import database
from server import Api, ServerProcess, error_of

PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")


def in_parallel(count: int, call: Callable[[httpx.Client, int], httpx.Response],
                headers: dict[str, str], base_url: str, threads: int = 8
                ) -> list[httpx.Response]:
    """call(client, i) for i in range(count), `threads` at a time, each thread with
    its own client; the first calls are released together."""
    barrier = threading.Barrier(min(threads, count))

    def task(i: int) -> httpx.Response:
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
            if i < threads:
                barrier.wait(timeout=60)
            return call(client, i)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(task, range(count)))


def describe(responses: list[httpx.Response]) -> str:
    return "; ".join(sorted({f"{r.status_code} {r.text[:200]}" for r in responses
                             if r.status_code != 201}))


def provider(net: dict) -> tuple:
    return tuple(net[k] for k in PROVIDER)


def post_net(api: Api, **attrs: object) -> httpx.Response:
    return api.post("networks", {"network": attrs})


def outside_vni() -> int:
    """A VNI outside the project ranges: only this test names it."""
    return random.randint(100_000, 2**24 - 1)


def physnet() -> str:
    return f"phys-{uuid.uuid4().hex[:8]}"


# -- project networks ---------------------------------------------------------------

def test_project_networks_get_distinct_vnis(own_project_admin: Api) -> None:
    nets = [own_project_admin.network(name=f"n{i}") for i in range(3)]
    for net in nets:
        assert net["provider:network_type"] == "vxlan"
        assert net["provider:physical_network"] is None
        assert 1 <= net["provider:segmentation_id"] <= 1000
        assert net["mtu"] == 1450
        assert "segments" not in net
    assert len({n["provider:segmentation_id"] for n in nets}) == 3
    shown = own_project_admin.get(f"networks/{nets[0]['id']}").json()["network"]
    assert provider(shown) == provider(nets[0])


def test_parallel_creates_get_distinct_vnis(own_project_admin: Api, server: ServerProcess
                                            ) -> None:
    def create(client: httpx.Client, i: int) -> httpx.Response:
        return client.post("/v2.0/networks", json={"network": {"name": f"par{i}"}})

    responses = in_parallel(40, create, dict(own_project_admin.client.headers),
                            server.url)
    assert Counter(r.status_code for r in responses) == {201: 40}, describe(responses)
    vnis = {r.json()["network"]["provider:segmentation_id"] for r in responses}
    assert len(vnis) == 40
    for r in responses:
        assert own_project_admin.delete(f"networks/{r.json()['network']['id']}"
                                        ).status_code == 204


def test_vni_released_on_delete(api: Api) -> None:
    net = api.network()
    vni = net["provider:segmentation_id"]
    response = post_net(api, **{"provider:network_type": "vxlan",
                                "provider:segmentation_id": vni})
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "TunnelIdInUse", "detail": "",
        "message": f"Unable to create the network. The tunnel ID {vni} is in use."}
    assert api.delete(f"networks/{net['id']}").status_code == 204
    again = api.network(**{"provider:network_type": "vxlan",
                           "provider:segmentation_id": vni})
    assert provider(again) == ("vxlan", None, vni)
    assert api.delete(f"networks/{again['id']}").status_code == 204


# -- provider networks per type -----------------------------------------------------

@pytest.mark.parametrize("network_type,mtu", [("vxlan", 1450), ("gre", 1458),
                                              ("geneve", 1450)])
def test_tunnel_provider_network_outside_ranges(api: Api, network_type: str, mtu: int
                                                ) -> None:
    vni = outside_vni()
    attrs = {"provider:network_type": network_type, "provider:segmentation_id": vni}
    net = api.network(**attrs)
    assert provider(net) == (network_type, None, vni)
    assert net["mtu"] == mtu
    response = post_net(api, **attrs)
    assert response.status_code == 409
    assert error_of(response)["type"] == "TunnelIdInUse"
    assert api.delete(f"networks/{net['id']}").status_code == 204
    assert api.delete(f"networks/{api.network(**attrs)['id']}").status_code == 204


def test_tunnel_type_without_ranges_has_nothing_to_allocate(api: Api) -> None:
    response = post_net(api, **{"provider:network_type": "gre"})
    assert response.status_code == 503
    assert error_of(response) == {
        "type": "NoNetworkAvailable", "detail": "",
        "message": "Unable to create the network. No tenant network is available for "
                   "allocation."}


def test_vxlan_provider_without_id_is_allocated(api: Api) -> None:
    net = api.network(**{"provider:network_type": "vxlan"})
    assert net["provider:network_type"] == "vxlan"
    assert 1 <= net["provider:segmentation_id"] <= 1000


def test_flat_network(api: Api) -> None:
    name = physnet()
    attrs = {"provider:network_type": "flat", "provider:physical_network": name}
    net = api.network(**attrs)
    assert provider(net) == ("flat", name, None)
    assert net["mtu"] == 1500
    response = post_net(api, **attrs)
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "FlatNetworkInUse", "detail": "",
        "message": f"Unable to create the flat network. Physical network {name} is in use."}
    listed = api.get("networks", params={"provider:physical_network": name}).json()
    assert [n["id"] for n in listed["networks"]] == [net["id"]]
    # Writable MTU up to what the transport carries.
    assert api.put(f"networks/{net['id']}", {"network": {"mtu": 1400}}).status_code == 200
    assert api.put(f"networks/{net['id']}", {"network": {"mtu": 1500}}).status_code == 200
    assert api.delete(f"networks/{net['id']}").status_code == 204
    assert api.delete(f"networks/{api.network(**attrs)['id']}").status_code == 204


def test_local_network(api: Api) -> None:
    net = api.network(**{"provider:network_type": "local"})
    assert provider(net) == ("local", None, None)
    assert net["mtu"] == 1500


def test_filter_by_network_type(api: Api) -> None:
    net = api.network(**{"provider:network_type": "local"})
    found = api.get("networks", params={"provider:network_type": "local"}).json()
    assert net["id"] in {n["id"] for n in found["networks"]}
    assert all(n["provider:network_type"] == "local" for n in found["networks"])
    bad = api.get("networks", params={"provider:segmentation_id": "x"})
    assert bad.status_code == 400


@pytest.mark.parametrize("attrs,message", [
    ({"provider:network_type": "bogus"}, "network_type value 'bogus' not supported"),
    ({"provider:segmentation_id": 5}, "network_type required"),
    ({"provider:network_type": "flat"},
     "physical_network required for flat provider network"),
    ({"provider:network_type": "flat", "provider:physical_network": "x",
      "provider:segmentation_id": 3}, "segmentation_id prohibited for flat provider network"),
    ({"provider:network_type": "local", "provider:segmentation_id": 3},
     "segmentation_id prohibited for local provider network"),
    ({"provider:network_type": "vxlan", "provider:physical_network": "x"},
     "provider:physical_network specified for vxlan network"),
    ({"provider:network_type": "vlan", "provider:physical_network": "physnet1",
      "provider:segmentation_id": 5},
     "physical_network 'physnet1' unknown for VLAN provider network"),
    ({"provider:network_type": "vxlan", "provider:segmentation_id": 2**24},
     f"Invalid network tunnel range: '{2**24}:{2**24}' - {2**24} is not a valid vxlan "
     "identifier"),
    ({"provider:network_type": "vxlan", "provider:segmentation_id": "abc"},
     "'abc' is not an integer"),
])
def test_invalid_provider_attributes(api: Api, attrs: dict, message: str) -> None:
    response = post_net(api, name="bad", **attrs)
    assert response.status_code == 400, response.text
    assert error_of(response) == {"type": "InvalidInput", "detail": "",
                                  "message": f"Invalid input for operation: {message}."}


def test_provider_attributes_cannot_change(api: Api) -> None:
    net = api.network(**{"provider:network_type": "local"})
    response = api.put(f"networks/{net['id']}",
                       {"network": {"provider:network_type": "vxlan"}})
    assert response.status_code == 400
    assert error_of(response)["message"] == ("Invalid input for operation: Plugin does "
                                             "not support updating provider attributes.")
    same = api.put(f"networks/{net['id']}", {"network": {"provider:network_type": "local",
                                                         "name": "kept"}})
    assert same.status_code == 200
    assert same.json()["network"]["name"] == "kept"


# -- multi-provider -----------------------------------------------------------------

def test_network_with_several_segments(api: Api) -> None:
    name, vni = physnet(), outside_vni()
    segments = [{"provider:network_type": "flat", "provider:physical_network": name,
                 "provider:segmentation_id": None},
                {"provider:network_type": "vxlan", "provider:physical_network": None,
                 "provider:segmentation_id": vni}]
    net = api.network(segments=segments)
    assert provider(net) == (None, None, None)
    assert net["segments"] == segments
    assert net["mtu"] == 1450
    shown = api.get(f"networks/{net['id']}").json()["network"]
    assert shown["segments"] == segments
    fields = api.get(f"networks/{net['id']}", params={"fields": "segments"}).json()
    assert fields["network"] == {"segments": segments}
    assert api.delete(f"networks/{net['id']}").status_code == 204
    # Both released.
    again = api.network(segments=segments)
    assert api.delete(f"networks/{again['id']}").status_code == 204


@pytest.mark.parametrize("body,message", [
    ({"segments": [{"provider:network_type": "local"}], "provider:network_type": "local"},
     "Segments and provider values cannot both be set."),
    ({"segments": [{"provider:network_type": "local"}, {"provider:network_type": "local"}]},
     "Duplicate segment entry in request."),
])
def test_invalid_segments(api: Api, body: dict, message: str) -> None:
    response = post_net(api, **body)
    assert response.status_code == 400
    assert error_of(response)["message"] == message


def test_a_failed_segment_releases_nothing_taken(api: Api) -> None:
    name = physnet()
    segments = [{"provider:network_type": "flat", "provider:physical_network": name},
                {"provider:network_type": "gre"}]
    assert post_net(api, segments=segments).status_code == 503
    # The flat physnet reserved by the first segment was rolled back.
    net = api.network(**{"provider:network_type": "flat", "provider:physical_network": name})
    assert api.delete(f"networks/{net['id']}").status_code == 204


# -- policy ---------------------------------------------------------------------------

def test_members_cannot_set_or_see_provider_attributes(api: Api) -> None:
    member = api.as_project(f"p-{uuid.uuid4().hex[:12]}")
    response = post_net(member, name="x", **{"provider:network_type": "vxlan"})
    assert response.status_code == 403
    assert error_of(response) == {
        "type": "PolicyNotAuthorized", "detail": "",
        "message": "(rule:create_network and rule:create_network:provider:network_type) "
                   "is disallowed by policy"}
    net = member.network(name="mine")
    assert not set(PROVIDER) & set(net)
    assert not set(PROVIDER) & set(member.get(f"networks/{net['id']}").json()["network"])
    assert net["mtu"] == 1450
    seen = api.get(f"networks/{net['id']}").json()["network"]
    assert seen["provider:network_type"] == "vxlan"
    response = member.put(f"networks/{net['id']}",
                          {"network": {"provider:network_type": "local"}})
    assert response.status_code == 403


# -- dedicated servers ------------------------------------------------------------------

SMALL = ("[ml2]\ntype_drivers = local,flat,vlan,vxlan\n"
         "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:100:110,physnet2\n"
         "[ml2_type_vxlan]\nvni_ranges = {vni}\n")


@pytest.fixture
def small_server(backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    with database(backend, tmp_path) as url, \
            ServerProcess(tmp_path, url, extra_conf=SMALL.format(vni="1:5")) as proc:
        yield proc


def test_small_ranges(small_server: ServerProcess) -> None:
    api = Api(small_server.url)

    def create(client: httpx.Client, i: int) -> httpx.Response:
        return client.post("/v2.0/networks", json={"network": {"name": f"n{i}"}})

    responses = in_parallel(8, create, dict(api.client.headers), small_server.url)
    assert Counter(r.status_code for r in responses) == {201: 5, 503: 3}, \
        describe(responses)
    assert {error_of(r)["type"] for r in responses if r.status_code == 503} == {
        "NoNetworkAvailable"}
    nets = {r.json()["network"]["provider:segmentation_id"]: r.json()["network"]
            for r in responses if r.status_code == 201}
    assert sorted(nets) == [1, 2, 3, 4, 5]

    # A released VNI is the next one given.
    assert api.delete(f"networks/{nets[4]['id']}").status_code == 204
    nets[4] = api.network()
    assert nets[4]["provider:segmentation_id"] == 4

    # Transcript 082: gre is not among the type drivers.
    response = post_net(api, name="bad", **{"provider:network_type": "gre"})
    assert response.status_code == 400
    assert error_of(response)["message"] == ("Invalid input for operation: network_type "
                                             "value 'gre' not supported.")

    # VLANs: in range, outside the range, allocated, in use, unknown physnet.
    vlan = {"provider:network_type": "vlan", "provider:physical_network": "physnet1"}
    net = api.network(**vlan, **{"provider:segmentation_id": 105})
    assert provider(net) == ("vlan", "physnet1", 105) and net["mtu"] == 1500
    response = post_net(api, **vlan, **{"provider:segmentation_id": 105})
    assert response.status_code == 409
    assert error_of(response) == {
        "type": "VlanIdInUse", "detail": "",
        "message": "Unable to create the network. The VLAN 105 on physical network "
                   "physnet1 is in use."}
    assert api.network(**vlan, **{"provider:segmentation_id": 3000}
                       )["provider:segmentation_id"] == 3000
    assert 100 <= api.network(**vlan)["provider:segmentation_id"] <= 110
    other = api.network(**{"provider:network_type": "vlan",
                           "provider:physical_network": "physnet2",
                           "provider:segmentation_id": 7})
    assert provider(other) == ("vlan", "physnet2", 7)
    # physnet2 has no project range.
    response = post_net(api, **{"provider:network_type": "vlan",
                                "provider:physical_network": "physnet2"})
    assert response.status_code == 503
    response = post_net(api, **{"provider:network_type": "vlan",
                                "provider:physical_network": "physnet3"})
    assert response.status_code == 400

    # Restart with VNIs 3:8: allocated ids stay taken (1, 2 included), 6-8 are new.
    small_server.stop()
    small_server.config.write_text(small_server.config.read_text().replace(
        "vni_ranges = 1:5", "vni_ranges = 3:8"))
    small_server.start()
    shown = api.get(f"networks/{nets[1]['id']}").json()["network"]
    assert shown["provider:segmentation_id"] == 1
    more = [api.network()["provider:segmentation_id"] for _ in range(3)]
    assert sorted(more) == [6, 7, 8]
    assert post_net(api).status_code == 503
    # VNI 1 is outside the new range: deleting its network does not make it available.
    assert api.delete(f"networks/{nets[1]['id']}").status_code == 204
    assert post_net(api).status_code == 503
    assert api.delete(f"networks/{nets[3]['id']}").status_code == 204
    assert api.network()["provider:segmentation_id"] == 3


VLAN_PROJECTS = ("[ml2]\ntenant_network_types = vlan\n"
                 "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:100:101,physnet2\n")


@pytest.fixture
def vlan_projects_server(backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    with database(backend, tmp_path) as url, \
            ServerProcess(tmp_path, url, extra_conf=VLAN_PROJECTS) as proc:
        yield proc


def test_vlan_project_networks(vlan_projects_server: ServerProcess) -> None:
    """tenant_network_types = vlan (what the Open vSwitch agent realises between
    hosts, issue 19): a project network gets a VLAN of the range (physnet2 has no
    range: never used), none left is 503, a deleted network's VLAN is given again."""
    api = Api(vlan_projects_server.url)
    first, second = api.network(name="p1"), api.network(name="p2")
    assert {provider(first), provider(second)} == {("vlan", "physnet1", 100),
                                                  ("vlan", "physnet1", 101)}
    assert first["mtu"] == 1500
    response = post_net(api, name="p3")
    assert response.status_code == 503
    assert error_of(response)["type"] == "NoNetworkAvailable"
    assert api.delete(f"networks/{first['id']}").status_code == 204
    assert provider(api.network(name="p4")) == provider(first)
