"""The list contract: fields, filters, sorting, pagination links, extensions and
version documents (transcripts 001-004, 030-043, 047, 070-075)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

import pytest

import upstream
from neutrino.api.extensions import EXTENSIONS
from server import Api, ServerProcess, error_of


@dataclass
class World:
    prefix: str
    net_a: dict
    net_b: dict
    net_empty: dict
    net_other: dict
    sub4: dict
    sub6: dict
    sub_b: dict
    ports: dict[str, dict]


@pytest.fixture(scope="module")
def world(server: ServerProcess, backend: str) -> World:
    """Resources of this module, tagged with a unique prefix."""
    api = Api(server.url, backend=backend)
    prefix = f"lst{uuid.uuid4().hex[:8]}"
    tag = [prefix]
    net_a = api.network(name=f"{prefix}-a", tags=tag)
    net_b = api.network(name=f"{prefix}-b", admin_state_up=False, description="second",
                        tags=tag)
    net_empty = api.network(name="", tags=tag)
    net_other = api.network(name=f"{prefix}-o", project_id=f"{prefix}-proj", tags=tag)
    sub4 = api.subnet(net_a["id"], "10.77.0.0/24", name=f"{prefix}-s4")
    sub6 = api.subnet(net_a["id"], "fd77::/64", name=f"{prefix}-s6")
    sub_b = api.subnet(net_b["id"], "10.78.0.0/24", name=f"{prefix}-sb", gateway_ip=None,
                       enable_dhcp=False)
    ports = {
        "p1": api.port(net_a["id"], name=f"{prefix}-p1",
                       fixed_ips=[{"subnet_id": sub4["id"], "ip_address": "10.77.0.10"}]),
        "p2": api.port(net_a["id"], name=f"{prefix}-p2", device_owner="compute:nova",
                       device_id="dev-1", admin_state_up=False,
                       fixed_ips=[{"subnet_id": sub4["id"], "ip_address": "10.77.0.20"}]),
        "p3": api.port(net_a["id"], name=f"{prefix}-p3", device_owner="compute:nova",
                       fixed_ips=[{"subnet_id": sub6["id"]}]),
        "p4": api.port(net_a["id"], name="", description="nameless",
                       fixed_ips=[{"subnet_id": sub4["id"], "ip_address": "10.77.0.120"}]),
    }
    return World(prefix, net_a, net_b, net_empty, net_other, sub4, sub6, sub_b, ports)


def ids(response) -> set[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    (collection,) = [k for k in body if not k.endswith("_links")]
    return {item["id"] for item in body[collection]}


def nets(api: Api, world: World, query: str) -> set[str]:
    return ids(api.get(f"networks?tags={world.prefix}&{query}"))


def ports(api: Api, world: World, query: str) -> set[str]:
    return ids(api.get(f"ports?network_id={world.net_a['id']}&{query}"))


def subnets(api: Api, world: World, query: str) -> set[str]:
    nets_q = f"network_id={world.net_a['id']}&network_id={world.net_b['id']}"
    return ids(api.get(f"subnets?{nets_q}&{query}"))


# -- fields -------------------------------------------------------------------

def test_fields_only_requested_keys(api: Api, world: World) -> None:  # transcript 033
    body = api.get(f"ports?network_id={world.net_a['id']}&fields=id&fields=name"
                   "&fields=fixed_ips&fields=status").json()
    assert len(body["ports"]) == 4
    for port in body["ports"]:
        assert set(port) == {"id", "name", "fixed_ips", "status"}


def test_fields_single(api: Api, world: World) -> None:  # transcript 047
    body = api.get(f"networks?tags={world.prefix}&fields=id").json()
    assert body["networks"] and all(set(n) == {"id"} for n in body["networks"])


def test_fields_unknown_ignored(api: Api, world: World) -> None:
    body = api.get(f"networks?tags={world.prefix}&fields=id&fields=nosuch").json()
    assert all(set(n) == {"id"} for n in body["networks"])
    body = api.get(f"networks?tags={world.prefix}&fields=nosuch").json()
    assert body["networks"] == [{}] * 4


def test_fields_on_show(api: Api, world: World) -> None:
    net = api.get(f"networks/{world.net_a['id']}?fields=name&fields=subnets").json()
    assert set(net["network"]) == {"name", "subnets"}
    assert net["network"]["name"] == world.net_a["name"]
    assert sorted(net["network"]["subnets"]) == sorted([world.sub4["id"], world.sub6["id"]])


def test_fields_do_not_show_hidden(api: Api, world: World) -> None:
    body = api.get(f"subnets/{world.sub4['id']}?fields=prefixlen&fields=id").json()
    assert body == {"subnet": {"id": world.sub4["id"]}}


def test_no_fields_gives_every_attribute(api: Api, world: World) -> None:
    (net,) = api.get(f"networks?name={world.prefix}-a").json()["networks"]
    assert net == api.get(f"networks/{world.net_a['id']}").json()["network"]


# -- filters ------------------------------------------------------------------

def test_network_filters(api: Api, world: World) -> None:
    a, b, e, o = (world.net_a["id"], world.net_b["id"], world.net_empty["id"],
                  world.net_other["id"])
    assert nets(api, world, f"name={world.prefix}-a") == {a}
    assert nets(api, world, "name=") == {e}  # empty-string filtering
    assert nets(api, world, f"name={world.prefix}-a&name={world.prefix}-b") == {a, b}
    assert nets(api, world, "description=second") == {b}
    assert nets(api, world, "admin_state_up=false") == {b}
    assert nets(api, world, "admin_state_up=False") == {b}
    assert nets(api, world, "admin_state_up=True") == {a, e, o}
    assert nets(api, world, "admin_state_up=1") == {a, e, o}
    assert nets(api, world, "shared=false") == {a, b, e, o}
    assert nets(api, world, "shared=true") == set()
    assert nets(api, world, "status=ACTIVE") == {a, b, e, o}
    assert nets(api, world, f"id={a}&id={b}") == {a, b}
    assert nets(api, world, f"mtu={world.net_a['mtu']}") == {a, b, e, o}
    assert nets(api, world, "revision_number=999999") == set()
    created = world.net_a["created_at"]
    assert a in nets(api, world, f"created_at={created}")
    assert nets(api, world, "created_at=2000-01-01T00:00:00Z") == set()
    # Adding subnets may touch the network: take its current updated_at.
    updated = api.get(f"networks/{a}").json()["network"]["updated_at"]
    assert a in nets(api, world, f"updated_at={updated}")


def test_project_and_tenant_filters(api: Api, world: World) -> None:
    other = world.net_other["id"]
    assert nets(api, world, f"project_id={world.prefix}-proj") == {other}
    assert nets(api, world, f"tenant_id={world.prefix}-proj") == {other}
    assert other not in nets(api, world, "project_id=fake_project_id")
    assert nets(api, world, "tenant_id=fake_project_id") == {
        world.net_a["id"], world.net_b["id"], world.net_empty["id"]}
    assert nets(api, world, f"project_id={world.prefix}-proj&tenant_id=fake_project_id") \
        == set()


def test_subnet_filters(api: Api, world: World) -> None:
    s4, s6, sb = world.sub4["id"], world.sub6["id"], world.sub_b["id"]
    assert subnets(api, world, "") == {s4, s6, sb}
    assert subnets(api, world, "ip_version=4") == {s4, sb}
    assert subnets(api, world, "ip_version=6") == {s6}
    assert subnets(api, world, "cidr=10.77.0.0/24") == {s4}
    assert subnets(api, world, "cidr=fd77::/64") == {s6}
    assert subnets(api, world, "gateway_ip=10.77.0.1") == {s4}
    assert subnets(api, world, "enable_dhcp=false") == {sb}
    assert subnets(api, world, "enable_dhcp=True") == {s4, s6}
    assert ids(api.get(f"subnets?network_id={world.net_b['id']}")) == {sb}
    assert subnets(api, world, f"name={world.prefix}-s6") == {s6}
    assert subnets(api, world, "ipv6_ra_mode=slaac") == set()
    assert subnets(api, world, "tenant_id=fake_project_id") == {s4, s6, sb}
    assert subnets(api, world, "project_id=nobody") == set()
    assert subnets(api, world, "description=") == {s4, s6, sb}


def test_subnet_cidr_filter_fields(api: Api, world: World) -> None:  # transcript 043
    body = api.get("subnets?cidr=10.77.0.0/24&fields=id&fields=cidr&fields=gateway_ip").json()
    # Other tests of the session may have made subnets with this CIDR too.
    assert {"id": world.sub4["id"], "cidr": "10.77.0.0/24",
            "gateway_ip": "10.77.0.1"} in body["subnets"]
    assert all(s["cidr"] == "10.77.0.0/24" and set(s) == {"id", "cidr", "gateway_ip"}
               for s in body["subnets"])


def test_port_filters(api: Api, world: World) -> None:
    p = {k: v["id"] for k, v in world.ports.items()}
    every = set(p.values())
    assert ports(api, world, "") == every
    assert ports(api, world, f"name={world.prefix}-p1") == {p["p1"]}
    assert ports(api, world, "name=") == {p["p4"]}
    assert ports(api, world, f"name={world.prefix}-p1&name={world.prefix}-p2") == \
        {p["p1"], p["p2"]}
    assert ports(api, world, "device_owner=compute:nova") == {p["p2"], p["p3"]}
    assert ports(api, world, "device_owner=") == {p["p1"], p["p4"]}
    assert ports(api, world, "device_id=dev-1") == {p["p2"]}
    assert ports(api, world, "admin_state_up=false") == {p["p2"]}
    assert ports(api, world, "admin_state_up=True") == every - {p["p2"]}
    assert ports(api, world, "status=DOWN") == every
    assert ports(api, world, "description=nameless") == {p["p4"]}
    mac = world.ports["p3"]["mac_address"]
    assert ports(api, world, f"mac_address={mac}") == {p["p3"]}
    assert ports(api, world, "tenant_id=fake_project_id") == every
    assert ports(api, world, "project_id=fake_project_id") == every
    assert ports(api, world, f"id={p['p1']}") == {p["p1"]}
    assert ids(api.get(f"ports?network_id={world.net_b['id']}")) == set()


def test_port_fixed_ip_filters(api: Api, world: World) -> None:  # transcript 035
    p = {k: v["id"] for k, v in world.ports.items()}
    sub4 = world.sub4["id"]
    body = api.get(f"ports?fixed_ips={quote('ip_address=10.77.0.20')}&fields=id&fields=name")
    assert body.json() == {"ports": [{"id": p["p2"], "name": f"{world.prefix}-p2"}]}
    assert ports(api, world, f"fixed_ips=subnet_id%3D{sub4}") == {p["p1"], p["p2"], p["p4"]}
    assert ports(api, world, f"fixed_ips=subnet_id%3D{world.sub6['id']}") == {p["p3"]}
    assert ports(api, world, "fixed_ips=ip_address_substr%3D77.0.2") == {p["p2"]}
    assert ports(api, world, "fixed_ips=ip_address_substr%3D77.0.1") == {p["p1"], p["p4"]}
    assert ports(api, world, "fixed_ips=ip_address%3D10.77.0.10"
                             "&fixed_ips=ip_address%3D10.77.0.20") == {p["p1"], p["p2"]}
    assert ports(api, world, f"fixed_ips=ip_address%3D10.77.0.10"
                             f"&fixed_ips=subnet_id%3D{sub4}") == {p["p1"]}
    assert ports(api, world, f"fixed_ips=ip_address%3D10.77.0.10"
                             f"&fixed_ips=subnet_id%3D{world.sub6['id']}") == set()


def test_filters_combine_with_fields(api: Api, world: World) -> None:  # transcript 036
    body = api.get(f"ports?name={world.prefix}-p1&name={world.prefix}-p2&fields=name").json()
    assert sorted(body["ports"], key=lambda i: i["name"]) == [
        {"name": f"{world.prefix}-p1"}, {"name": f"{world.prefix}-p2"}]


def test_unknown_filter(api: Api) -> None:  # transcript 074
    response = api.get("ports?nosuchfilter=1")
    assert response.status_code == 400
    assert error_of(response) == {"type": "HTTPBadRequest", "detail": "",
                                  "message": "['nosuchfilter'] is invalid attribute for "
                                             "filtering"}


@pytest.mark.parametrize("query", ["admin_state_up=maybe", "ip_version=four",
                                   "created_at=yesterday", "name=a%00b"])
def test_bad_filter_values(api: Api, query: str) -> None:
    collection = "subnets" if query.startswith("ip_version") else "networks"
    response = api.get(f"{collection}?{query}")
    assert response.status_code == 400, response.text
    error_of(response)


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports"])
def test_every_filterable_and_sortable_attribute_answers(api: Api, world: World,
                                                        collection: str) -> None:
    from neutrino.resources.network import NETWORK
    from neutrino.resources.port import PORT
    from neutrino.resources.subnet import SUBNET
    resource = {"networks": NETWORK, "subnets": SUBNET, "ports": PORT}[collection]
    for name, attr in resource.attrs.items():
        if name == "tags":  # a tag filter (tags=a,b), not an attribute filter
            continue
        response = api.get(f"{collection}?{name}=x&limit=1")
        if attr.filterable:
            assert response.status_code in (200, 400), (name, response.text)
        else:
            assert response.status_code == 400, (name, response.text)
        for direction in ("asc", "desc"):
            response = api.get(f"{collection}?sort_key={name}&sort_dir={direction}&limit=2")
            if not attr.sortable:
                assert response.status_code == 400, (name, response.text)
                continue
            assert response.status_code == 200, (name, response.text)
            for link in response.json().get(f"{collection}_links", []):
                assert api.client.get(link["href"]).status_code == 200, (name, link)


# -- sorting ------------------------------------------------------------------

def test_sort_single_key(api: Api, world: World) -> None:  # transcript 037
    body = api.get(f"ports?network_id={world.net_a['id']}&sort_key=name&sort_dir=desc"
                   "&fields=name&fields=device_owner").json()
    assert body == {"ports": [
        {"name": f"{world.prefix}-p3", "device_owner": "compute:nova"},
        {"name": f"{world.prefix}-p2", "device_owner": "compute:nova"},
        {"name": f"{world.prefix}-p1", "device_owner": ""},
        {"name": "", "device_owner": ""}]}


def test_sort_multiple_keys(api: Api, world: World) -> None:  # transcript 038
    body = api.get(f"ports?network_id={world.net_a['id']}&sort_key=device_owner&sort_dir=asc"
                   "&sort_key=name&sort_dir=desc&fields=device_owner&fields=name").json()
    assert [(p["device_owner"], p["name"]) for p in body["ports"]] == [
        ("", f"{world.prefix}-p1"), ("", ""),
        ("compute:nova", f"{world.prefix}-p3"), ("compute:nova", f"{world.prefix}-p2")]


def test_sort_by_nullable_and_boolean(api: Api, world: World) -> None:
    body = api.get(f"subnets?network_id={world.net_a['id']}&network_id={world.net_b['id']}"
                   "&sort_key=gateway_ip&sort_dir=asc&fields=id").json()
    # NULL first ascending, on every backend.
    assert body["subnets"][0]["id"] == world.sub_b["id"]
    body = api.get(f"networks?tags={world.prefix}&sort_key=admin_state_up&sort_dir=asc"
                   "&fields=id").json()
    assert body["networks"][0]["id"] == world.net_b["id"]


@pytest.mark.parametrize("query, message", [
    ("sort_key=nosuchfield&sort_dir=asc", "['nosuchfield'] is invalid attribute for sort_keys"),
    ("sort_key=name", "The number of sort_keys and sort_dirs must be same"),
    ("sort_key=name&sort_dir=sideways",
     "['sideways'] is invalid value for sort_dirs, valid value is 'asc' and 'desc'"),
    ("sort_dir=asc", "The number of sort_keys and sort_dirs must be same"),
    ("sort_key=fixed_ips&sort_dir=asc", "['fixed_ips'] is invalid attribute for sort_keys"),
])
def test_sort_errors(api: Api, query: str, message: str) -> None:  # transcripts 070-072
    response = api.get(f"ports?{query}")
    assert response.status_code == 400
    assert error_of(response) == {"type": "HTTPBadRequest", "message": message, "detail": ""}


# -- pagination ---------------------------------------------------------------

def test_pagination_links_exact(api: Api, world: World) -> None:  # transcripts 039-041
    base = f"{api.base_url}/v2.0/ports"
    query = (f"network_id={world.net_a['id']}&limit=2&sort_key=name&sort_dir=asc"
             "&fields=id&fields=name")
    order = [world.ports[k]["id"] for k in ("p4", "p1", "p2", "p3")]

    page1 = api.get(f"ports?{query}").json()
    assert [p["id"] for p in page1["ports"]] == order[:2]
    assert all(set(p) == {"id", "name"} for p in page1["ports"])
    assert page1["ports_links"] == [
        {"rel": "next", "href": f"{base}?{query}&marker={order[1]}"},
        {"rel": "previous", "href": f"{base}?{query}&marker={order[0]}&page_reverse=True"}]

    page2 = api.get(f"ports?{query}&marker={order[1]}").json()
    assert [p["id"] for p in page2["ports"]] == order[2:]
    assert page2["ports_links"] == [
        {"rel": "next", "href": f"{base}?{query}&marker={order[3]}"},
        {"rel": "previous", "href": f"{base}?{query}&marker={order[2]}&page_reverse=True"}]

    back = api.get(f"ports?{query}&marker={order[2]}&page_reverse=True").json()
    assert back == page1

    # The page after the last is empty; as upstream, its previous link (no marker)
    # leads back to the last page.
    empty = api.get(f"ports?{query}&marker={order[3]}").json()
    assert empty == {"ports": [], "ports_links": [
        {"rel": "previous", "href": f"{base}?{query}&page_reverse=True"}]}
    back = api.client.get(empty["ports_links"][0]["href"]).json()
    assert [p["id"] for p in back["ports"]] == order[2:]


def test_short_pages(api: Api, world: World) -> None:
    base = f"{api.base_url}/v2.0/ports"
    query = f"network_id={world.net_a['id']}&limit=3&sort_key=name&sort_dir=asc"
    order = [world.ports[k]["id"] for k in ("p4", "p1", "p2", "p3")]
    last = api.get(f"ports?{query}&marker={order[2]}").json()
    assert [p["id"] for p in last["ports"]] == order[3:]
    assert last["ports_links"] == [
        {"rel": "previous", "href": f"{base}?{query}&marker={order[3]}&page_reverse=True"}]
    first = api.get(f"ports?{query}&marker={order[1]}&page_reverse=True").json()
    assert [p["id"] for p in first["ports"]] == order[:1]
    assert first["ports_links"] == [{"rel": "next", "href": f"{base}?{query}&marker={order[0]}"}]


@pytest.mark.parametrize("collection", ["networks", "ports", "routers", "subnetpools"])
def test_empty_pages_links(api: Api, collection: str) -> None:
    """Upstream's links on empty pages (tempest's pagination tests follow them): after
    the last item, a previous link without marker; before the first (page_reverse), a
    next link without marker; an empty first page, a previous link."""
    tag = f"pe{uuid.uuid4().hex[:8]}"
    if collection == "networks":
        made = [api.network() for _ in range(2)]
    elif collection == "ports":
        net = api.network()
        made = [api.port(net["id"]) for _ in range(2)]
    elif collection == "routers":
        made = [api.create("router", name=tag) for _ in range(2)]
    else:
        made = [api.create("subnetpool", name=tag, prefixes=[f"10.{80 + i}.0.0/16"])
                for i in range(2)]
    for item in made:
        assert api.put(f"{collection}/{item['id']}/tags/{tag}").status_code == 201
    first, last = sorted(m["id"] for m in made)
    base = f"{api.base_url}/v2.0/{collection}"
    query = f"tags={tag}&limit=1"

    after = api.get(f"{collection}?{query}&marker={last}")
    assert after.status_code == 200, after.text
    assert after.json() == {collection: [], f"{collection}_links": [
        {"rel": "previous", "href": f"{base}?{query}&page_reverse=True"}]}
    page = api.client.get(f"{base}?{query}&page_reverse=True").json()
    assert [i["id"] for i in page[collection]] == [last]

    before = api.get(f"{collection}?{query}&marker={first}&page_reverse=True").json()
    assert before == {collection: [], f"{collection}_links": [
        {"rel": "next", "href": f"{base}?{query}"}]}

    nothing = api.get(f"{collection}?tags=none-{tag}&limit=1").json()
    assert nothing == {collection: [], f"{collection}_links": [
        {"rel": "previous", "href": f"{base}?tags=none-{tag}&limit=1&page_reverse=True"}]}
    # Without limit, no links at all.
    assert api.get(f"{collection}?tags=none-{tag}").json() == {collection: []}


def test_links_keep_params_in_order(api: Api, world: World) -> None:  # transcript 042
    response = api.get(f"networks?tags={world.prefix}&limit=1")
    body = response.json()
    (net,) = body["networks"]
    base = f"{api.base_url}/v2.0/networks?tags={world.prefix}&limit=1"
    assert body["networks_links"] == [
        {"rel": "next", "href": f"{base}&marker={net['id']}"},
        {"rel": "previous", "href": f"{base}&marker={net['id']}&page_reverse=True"}]
    # The fixed_ips sub-filter keeps its encoded '='.
    body = api.get("ports?fixed_ips=ip_address%3D10.77.0.20&limit=1&fields=id").json()
    assert body["ports_links"][0]["href"] == (
        f"{api.base_url}/v2.0/ports?fixed_ips=ip_address%3D10.77.0.20&limit=1&fields=id"
        f"&marker={world.ports['p2']['id']}")


def test_links_use_request_host(api: Api, world: World) -> None:
    body = api.get(f"networks?tags={world.prefix}&limit=1",
                   headers={"Host": "neutron.example:9696"}).json()
    for link in body["networks_links"]:
        assert link["href"].startswith("http://neutron.example:9696/v2.0/networks?")


def test_no_links_without_limit(api: Api, world: World) -> None:
    body = api.get(f"networks?tags={world.prefix}").json()
    assert set(body) == {"networks"}
    body = api.get(f"networks?tags={world.prefix}&limit=0").json()
    assert set(body) == {"networks"} and len(body["networks"]) == 4


def walk(api: Api, first: str, collection: str, reverse: bool = False) -> list[str]:
    """Follow next (or previous) links from the first page; ids in order."""
    seen: list[str] = []
    response = api.get(first)
    for _ in range(20):
        body = response.json()
        page = [i["id"] for i in body[collection]]
        seen = page + seen if reverse else seen + page
        rel = "previous" if reverse else "next"
        links = {link["rel"]: link["href"] for link in body.get(f"{collection}_links", [])}
        if not page or rel not in links:
            break
        response = api.client.get(links[rel])
        assert response.status_code == 200, response.text
    return seen


@pytest.mark.parametrize("sort", ["", "&sort_key=name&sort_dir=asc",
                                  "&sort_key=name&sort_dir=desc",
                                  "&sort_key=admin_state_up&sort_dir=asc"
                                  "&sort_key=name&sort_dir=desc",
                                  "&sort_key=created_at&sort_dir=desc"])
def test_paging_seven_items(api: Api, sort: str) -> None:
    tag = f"pg{uuid.uuid4().hex[:8]}"
    names = ["c", "a", "", "b", "a", "", "d"]
    for i, name in enumerate(names):
        api.network(name=name, tags=[tag], admin_state_up=i % 2 == 0)
    full = api.get(f"networks?tags={tag}{sort}").json()["networks"]
    expected = [n["id"] for n in full]
    if not sort:  # id order, as upstream
        assert expected == sorted(expected)
    assert len(expected) == 7
    if sort:
        keys = [(n["name"], n["admin_state_up"]) for n in full]
        if "sort_key=name&sort_dir=asc" in sort:
            assert [k[0] for k in keys] == sorted(names)
        if sort == "&sort_key=name&sort_dir=desc":
            assert [k[0] for k in keys] == sorted(names, reverse=True)
    forward = walk(api, f"networks?tags={tag}&limit=3{sort}", "networks")
    assert forward == expected
    # Backward from the end: the last page (reverse from no marker) then previous links.
    backward = walk(api, f"networks?tags={tag}&limit=3{sort}&page_reverse=True", "networks",
                    reverse=True)
    assert backward == expected


def test_paging_nullable_sort_key(api: Api, world: World) -> None:
    net = api.network(name="nullable-paging")
    for i in range(5):
        api.subnet(net["id"], f"10.79.{i}.0/24", gateway_ip=None if i % 2 else f"10.79.{i}.1")
    for direction in ("asc", "desc"):
        q = f"subnets?network_id={net['id']}&sort_key=gateway_ip&sort_dir={direction}"
        expected = [s["id"] for s in api.get(q).json()["subnets"]]
        assert walk(api, q + "&limit=2", "subnets") == expected
        assert walk(api, q + "&limit=2&page_reverse=True", "subnets", reverse=True) == expected


def test_bad_limit(api: Api) -> None:  # transcript 073
    response = api.get("ports?limit=abc")
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "BadRequest", "detail": "",
        "message": "Bad limit request: Limit must be an integer 0 or greater and not 'abc'."}
    assert api.get("ports?limit=-1").status_code == 400


@pytest.mark.parametrize("collection, type_, label", [
    ("ports", "PortNotFound", "Port"), ("networks", "NetworkNotFound", "Network"),
    ("subnets", "SubnetNotFound", "Subnet")])
def test_unknown_marker(api: Api, collection: str, type_: str, label: str) -> None:  # 075
    marker = "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50"
    response = api.get(f"{collection}?limit=1&marker={marker}")
    assert response.status_code == 404
    assert error_of(response) == {"type": type_, "detail": "",
                                  "message": f"{label} {marker} could not be found."}


# -- extensions and versions --------------------------------------------------

def upstream_extensions() -> dict[str, dict]:
    return upstream.upstream_extensions()


def test_extension_list(api: Api) -> None:
    body = api.get("extensions").json()
    assert [e["alias"] for e in body["extensions"]] == [e.alias for e in EXTENSIONS]
    upstream = upstream_extensions()
    for ext in body["extensions"]:
        assert set(ext) == {"name", "alias", "description", "updated", "links"}
        assert ext == upstream[ext["alias"]], ext["alias"]


def test_extension_show(api: Api) -> None:
    for ext in EXTENSIONS:
        response = api.get(f"extensions/{ext.alias}")
        assert response.status_code == 200
        assert response.json() == {"extension": ext.to_dict()}


def test_extension_show_unknown(api: Api) -> None:
    response = api.get("extensions/router-nosuch")
    assert response.status_code == 404
    assert error_of(response)["message"] == "Extension with alias router-nosuch does not exist"


def test_versions(api: Api) -> None:  # transcript 001
    response = api.get("/", headers={"Host": "neutron.example:9696"})
    assert response.status_code == 200
    assert response.json() == {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": "http://neutron.example:9696/v2.0/"}]}]}


@pytest.mark.parametrize("path", ["/v2.0", "/v2.0/"])
def test_v2_root(api: Api, path: str) -> None:  # transcript 002
    response = api.get(path, headers={"Host": "neutron.example:9696"})
    assert response.status_code == 200
    assert response.json() == {"resources": [
        {"name": name, "collection": f"{name}s", "links": [
            {"rel": "self", "href": f"http://neutron.example:9696/v2.0/{name}s"}]}
        for name in ("network", "subnet", "subnetpool", "port")]}
