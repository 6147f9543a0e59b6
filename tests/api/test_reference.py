"""Replay of the upstream Neutron 29 transcripts (/work/shared/reference/neutron-29)
that concern what we implement: networks, subnets, ports, quotas, versions, lists
and errors.

A module-scoped scenario creates the equivalents of the transcripts' resources (the
creates and updates 005-013 are themselves replayed there, in order) and maps the
transcripts' ids, MACs and random IPs to ours. Each listed transcript is then sent
again (ids substituted) and compared: the status code; for errors the NeutronError
type and message; for successes the top-level keys of the body, the keys of each
resource restricted to the attributes we implement, and their values except those
that are volatile (timestamps, revisions, MACs, random IPs, segmentation ids).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from server import Api, ServerProcess
from upstream import upstream_extensions

REFERENCE = Path("/work/shared/reference/neutron-29")
UNKNOWN = "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50"

# Attributes upstream shows that we do not implement yet, and attributes of
# extensions the recorded deployment did not enable (dns-integration; segment's
# segment_id on subnets; the ML2
# extension drivers behind propagate_uplink_status, device_profile, trusted,
# numa_affinity_policy): neither side's are compared.
NOT_IMPLEMENTED = re.compile(
    r"^(ipv[46]_address_scope|binding:.*"
    r"|dns_(name|domain|assignment|publish_fixed_ip)"
    r"|propagate_uplink_status|device_profile|trusted|numa_affinity_policy"
    r"|segment_id"
    r"|qos_policy_id|qos_network_policy_id)$")  # qos: not enabled in the recording
# Values that legitimately differ between two servers (MTU: both 1450, vxlan).
VOLATILE = {"created_at", "updated_at", "revision_number", "mac_address",
            "provider:segmentation_id"}
QUOTA_RESOURCES = {"network", "subnet", "subnetpool", "port", "security_group",
                   "security_group_rule", "rbac_policy", "router", "floatingip"}
# Service plugins the recorded deployment did not load (FWaaS v2, issue 16).
NOT_RECORDED_QUOTAS = {"firewall_group", "firewall_policy", "firewall_rule",
                       # VPNaaS (issue 16)
                       "vpnservice", "ipsec_site_connection", "ikepolicy",
                       "ipsecpolicy", "endpoint_group"}


# -- transcripts --------------------------------------------------------------

@dataclass
class Transcript:
    name: str
    method: str
    path: str
    body: str
    status: int
    response: Any

    @property
    def error(self) -> dict | None:
        if isinstance(self.response, dict) and "NeutronError" in self.response:
            return self.response["NeutronError"]
        return None


def load(name: str) -> Transcript:
    (path,) = REFERENCE.glob(f"{name}-*.txt")
    text = path.read_text()
    request, response = text.split("### RESPONSE\n", 1)
    request_lines = request.split("### REQUEST\n", 1)[1].split("\n")
    method, url = request_lines[0].split(" ", 1)
    rest = request_lines[1:]
    while rest and rest[0].strip() and ":" in rest[0] and not rest[0].startswith("{"):
        rest = rest[1:]  # headers
    body = "\n".join(rest).strip()
    status = int(response.split("\n", 1)[0].split()[1])
    raw = response.split("--- raw body ---\n", 1)[1].split("\n--- pretty body ---", 1)[0]
    raw = raw.strip()
    return Transcript(name, method, url, body, status, json.loads(raw) if raw else None)


# -- the scenario -------------------------------------------------------------

@dataclass
class Scenario:
    api: Api
    ids: dict[str, str] = field(default_factory=dict)  # upstream value -> ours
    recorded: dict[str, Any] = field(default_factory=dict)  # transcript -> our response

    def sub(self, text: str) -> str:
        for theirs, ours in self.ids.items():
            text = text.replace(theirs, ours)
        return text

    def send(self, t: Transcript):
        content = self.sub(t.body) if t.body else None
        headers = {"Host": "127.0.0.1:9696"}
        return self.api.request(t.method, self.sub(t.path), content=content, headers=headers)

    def learn(self, theirs: dict, ours: dict, *keys: str) -> None:
        for key in keys:
            self.ids[theirs[key]] = ours[key]


@pytest.fixture(scope="module")
def scenario(server: ServerProcess, backend: str) -> Scenario:
    sc = Scenario(Api(server.url, backend=backend))

    def replay(name: str, resource: str, *keys: str) -> None:
        t = load(name)
        response = sc.send(t)
        sc.recorded[name] = response
        if response.status_code in (200, 201) and keys:
            sc.learn(t.response[resource], response.json()[resource], *keys)

    replay("005", "network", "id")
    replay("006", "network")
    replay("007", "network")
    if sc.recorded["007"].status_code != 200:  # see test_007: keep later lists comparable
        net = sc.ids[load("005").response["network"]["id"]]
        sc.api.put(f"networks/{net}", {"network": {"description": "updated"}})
    replay("008", "subnet", "id")
    replay("009", "subnet")
    replay("010", "port", "id", "mac_address")
    if sc.recorded["010"].status_code == 201:  # the project's default security group
        sc.ids[load("010").response["port"]["security_groups"][0]] = (
            sc.recorded["010"].json()["port"]["security_groups"][0])
    port1 = (load("010").response["port"]["fixed_ips"][0]["ip_address"],
             sc.recorded["010"].json()["port"]["fixed_ips"][0]["ip_address"])
    sc.ids[port1[0]] = port1[1]
    replay("011", "port", "id", "mac_address")
    replay("012", "port")
    replay("013", "port")
    return sc


# -- comparison ---------------------------------------------------------------

def implemented(keys) -> set[str]:
    return {k for k in keys if not NOT_IMPLEMENTED.match(k)}


PROVIDER = frozenset({"provider:network_type", "provider:physical_network",
                      "provider:segmentation_id"})


def shape(item: dict) -> frozenset[str]:
    """The keys of a listed item, up to those upstream shows only on some objects:
    `is_default` on external networks, `segments` instead of the provider
    attributes on multi-segment networks. Other tests share the database, so a
    page may hold such an object where the transcript held a plain one."""
    keys = implemented(item) - {"is_default"}
    if "segments" in keys:
        keys = (keys - {"segments"}) | PROVIDER
    return frozenset(keys)


def mapped(sc: Scenario, value: Any) -> Any:
    return json.loads(sc.sub(json.dumps(value)))


def compare_item(sc: Scenario, theirs: dict, ours: dict, where: str) -> None:
    assert implemented(ours) == implemented(theirs), where
    for key in implemented(theirs) - VOLATILE:
        assert ours[key] == mapped(sc, theirs[key]), (where, key)


def compare_success(sc: Scenario, t: Transcript, response) -> None:
    assert response.status_code == t.status, response.text
    if t.response is None:
        assert not response.content
        return
    ours = response.json()
    assert set(ours) == set(t.response), t.name
    for key, value in t.response.items():
        if key.endswith("_links"):
            assert [link["rel"] for link in ours[key]] == [link["rel"] for link in value]
            continue
        if isinstance(value, dict):
            compare_item(sc, value, ours[key], f"{t.name} {key}")
            continue
        # A list: items matched by id when they have one, else by value.
        by_id = {i["id"]: i for i in ours[key] if "id" in i}
        keysets = {shape(i) for i in value}
        for item in ours[key]:
            if keysets:
                assert shape(item) in keysets, (t.name, item)
        for item in value:
            if "id" in item:
                ours_id = sc.ids.get(item["id"])
                if ours_id in by_id:
                    compare_item(sc, item, by_id[ours_id], f"{t.name} {item['id']}")
                else:  # only a page may miss it: the database is shared
                    assert ours_id is None or "limit=" in t.path, (t.name, item["id"])
            elif item and set(item) <= {"name", "device_owner"}:
                assert mapped(sc, item) in ours[key] or not item.get("name", "").startswith(
                    "port"), (t.name, item)


def compare_error(sc: Scenario, t: Transcript, response) -> None:
    assert response.status_code == t.status, response.text
    ours = response.json()
    assert set(ours) == {"NeutronError"}
    expected = dict(t.error, message=sc.sub(t.error["message"]))
    assert ours["NeutronError"] == expected


# -- replayed at set-up (creates and updates, in transcript order) -------------

@pytest.mark.parametrize("name", ["005", "006", "008", "009", "010", "011", "012", "013"])
def test_recorded(scenario: Scenario, name: str) -> None:
    t = load(name)
    compare_success(scenario, t, scenario.recorded[name])


def test_007_network_update_mtu(scenario: Scenario) -> None:
    t = load("007")
    compare_success(scenario, t, scenario.recorded["007"])
    assert scenario.recorded["007"].json()["network"]["mtu"] == 1400


def test_revision_number_after_create(scenario: Scenario) -> None:
    """Networks, ports and routers start at 1 upstream (a second write step adds the
    segment, the binding, the router's extra attributes); subnets at 0."""
    for name, resource in [("005", "network"), ("008", "subnet"), ("010", "port")]:
        ours = scenario.recorded[name].json()[resource]["revision_number"]
        assert ours == load(name).response[resource]["revision_number"], name


# -- replayed live ------------------------------------------------------------

LIVE_SUCCESS = ["030", "031", "033", "034", "035", "036", "037", "038", "039", "042",
                "043", "047", "106"]
LIVE_ERRORS = ["052", "053", "054", "055", "056", "057", "058", "059", "060", "061", "064",
               "065", "066", "067", "068", "069", "070", "071", "072", "073", "074", "075",
               "076", "077", "083"]


@pytest.mark.parametrize("name", LIVE_SUCCESS)
def test_live_success(scenario: Scenario, name: str) -> None:
    t = load(name)
    compare_success(scenario, t, scenario.send(t))


@pytest.mark.parametrize("name", LIVE_ERRORS)
def test_live_error(scenario: Scenario, name: str) -> None:
    t = load(name)
    compare_error(scenario, t, scenario.send(t))


def test_039_040_041_pagination(scenario: Scenario) -> None:
    """The markers of 040/041 are upstream router ports; ours page through our own
    ports with the same query and must give links of the same shape."""
    query = "limit=2&sort_key=name&sort_dir=asc&fields=id&fields=name"
    base = "http://127.0.0.1:9696/v2.0/ports"
    page = scenario.send(load("039")).json()
    last, first = page["ports"][-1]["id"], page["ports"][0]["id"]
    assert page["ports_links"] == [
        {"rel": "next", "href": f"{base}?{query}&marker={last}"},
        {"rel": "previous", "href": f"{base}?{query}&marker={first}&page_reverse=True"}]
    for name, ours in (("040", first), ("041", last)):
        t = load(name)
        marker = re.search(r"marker=([0-9a-f-]+)", t.path).group(1)
        scenario.ids[marker] = ours
        try:
            response = scenario.send(t)
        finally:
            del scenario.ids[marker]
        assert response.status_code == 200
        body = response.json()
        assert set(body) == set(t.response)
        assert all(set(p) == {"id", "name"} for p in body["ports"])


def test_quotas(scenario: Scenario) -> None:  # 048-050
    for name in ("048", "050"):
        t = load(name)
        response = scenario.send(t)
        assert response.status_code == 200
        expected = {k: v for k, v in t.response["quota"].items() if k in QUOTA_RESOURCES}
        ours = {k: v for k, v in response.json()["quota"].items()
                if k not in NOT_RECORDED_QUOTAS}
        assert ours == expected
    t = load("049")
    response = scenario.send(t)
    assert response.status_code == 200
    ours = {k: v for k, v in response.json()["quota"].items()
            if k not in NOT_RECORDED_QUOTAS}
    assert set(ours) == QUOTA_RESOURCES
    for key, value in ours.items():
        assert set(value) == {"limit", "used", "reserved"}
        assert value["limit"] == t.response["quota"][key]["limit"]
        assert value["reserved"] == 0


def test_versions(scenario: Scenario) -> None:  # 001, 002
    t = load("001")
    response = scenario.send(t)
    assert (response.status_code, response.json()) == (200, t.response)
    t = load("002")
    response = scenario.send(t)
    assert response.status_code == 200
    assert response.json() == t.response


def test_extensions(scenario: Scenario) -> None:  # 003
    t = load("003")
    upstream = upstream_extensions(t.response["extensions"])
    ours = scenario.send(t).json()["extensions"]
    assert ours and all(e == upstream[e["alias"]] for e in ours)


def test_teardown_sequence(server: ServerProcess, backend: str) -> None:
    """062/063 (deletes refused while in use), then 095, 096, 099, 100, 105 on a
    scenario of its own."""
    sc = Scenario(Api(server.url, backend=backend))
    net = sc.api.network(name="net1")
    sc.ids[load("005").response["network"]["id"]] = net["id"]
    subnet = sc.api.subnet(net["id"], "10.0.0.0/24", name="subnet1")
    sc.ids[load("008").response["subnet"]["id"]] = subnet["id"]
    port1 = sc.api.port(net["id"], name="port1")
    port2 = sc.api.port(net["id"], name="port2")
    sc.ids[load("010").response["port"]["id"]] = port1["id"]
    sc.ids[load("011").response["port"]["id"]] = port2["id"]

    t = load("062")
    response = sc.send(t)
    assert response.status_code == 409
    error = response.json()["NeutronError"]
    assert error["type"] == t.error["type"] == "NetworkInUse"
    prefix, listed = error["message"].rsplit(": ", 1)
    assert prefix == sc.sub(t.error["message"]).rsplit(": ", 1)[0]
    assert set(listed.rstrip(".").split(",")) == {port1["id"], port2["id"]}

    compare_error(sc, load("063"), sc.send(load("063")))
    for name in ("095", "096", "099", "100"):
        t = load(name)
        compare_success(sc, t, sc.send(t))
    compare_error(sc, load("105"), sc.send(load("105")))
