"""A generated hostile-input sweep over every collection of the OpenAPI document the
server serves (issue 18): no answer of 500 or more, every error a bounded Neutron
error body.

Runs on a server of its own per backend (it creates and deletes what it likes as
admin, global things such as default security group rule templates included, which
the session's shared server must not see). Hypothesis draws the requests with a
fixed seed (derandomize): the same requests on every run, so a failure reproduces.
NEUTRINO_SWEEP_EXAMPLES sets the number of requests per backend (default 300: with
the server's start about half a minute per backend here); NEUTRINO_SWEEP_REPORT
names a file the status histogram is appended to; NEUTRINO_SWEEP_LOG a file prefix
for every request's status, per backend (<prefix>.<backend>).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hostile import Sweep
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from backends import database
from server import ServerProcess

pytestmark = pytest.mark.backends

EXAMPLES = int(os.environ.get("NEUTRINO_SWEEP_EXAMPLES", "300"))


@pytest.fixture(scope="module")
def sweep_server(backend: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp(f"sweep-{backend}")
    with database(backend, state) as url, ServerProcess(state, url) as proc:
        yield proc


def seed(client: httpx.Client) -> dict[str, list[str]]:
    """A few resources of each kind, so member operations reach real rows."""
    ids: dict[str, list[str]] = {}

    def create(path: str, key: str, body: dict) -> dict:
        response = client.post(f"/v2.0/{path}", json={key: body})
        assert response.status_code == 201, (path, response.text)
        item = response.json()[key]
        ids.setdefault(f"/v2.0/{path}", []).append(item["id"])
        return item

    external = create("networks", "network", {"name": "ext", "router:external": True})
    create("subnets", "subnet", {"network_id": external["id"], "cidr": "198.51.100.0/24",
                                 "ip_version": 4})
    net = create("networks", "network", {"name": "sweep"})
    subnet = create("subnets", "subnet", {"network_id": net["id"], "cidr": "10.77.0.0/24",
                                          "ip_version": 4})
    create("subnets", "subnet", {"network_id": net["id"], "cidr": "fd77::/64",
                                 "ip_version": 6})
    port = create("ports", "port", {"network_id": net["id"]})
    router = create("routers", "router", {"external_gateway_info":
                                          {"network_id": external["id"]}})
    add = client.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                     json={"subnet_id": subnet["id"]})
    assert add.status_code == 200, add.text
    create("floatingips", "floatingip", {"floating_network_id": external["id"],
                                         "port_id": port["id"]})
    group = create("security-groups", "security_group", {"name": "sweep"})
    create("security-group-rules", "security_group_rule", {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22})
    scope = create("address-scopes", "address_scope", {"name": "s", "ip_version": 4})
    create("subnetpools", "subnetpool", {"name": "p", "prefixes": ["10.200.0.0/16"],
                                         "default_prefixlen": 24,
                                         "address_scope_id": scope["id"]})
    create("qos/policies", "policy", {"name": "q"})
    create("address-groups", "address_group", {"name": "g", "addresses": ["10.1.0.0/24"]})
    create("rbac-policies", "rbac_policy", {"object_type": "network", "object_id": net["id"],
                                            "action": "access_as_shared",
                                            "target_tenant": "sweep-other"})
    ids["/v2.0/network-ip-availabilities"] = [net["id"], external["id"]]
    return ids


def test_hostile_sweep_answers_no_5xx(sweep_server: ServerProcess, backend: str) -> None:
    doc = httpx.get(f"{sweep_server.url}/v2.0/openapi.json", timeout=30).json()
    sweep = Sweep(sweep_server.url, doc)
    client = httpx.Client(base_url=sweep_server.url, timeout=60)
    sweep.ids = seed(client)
    for path in {op.path for op in sweep.operations if op.method == "GET"
                 and "{" not in op.path}:
        listed = client.get(path).json()
        sweep.samples[path] = [i for items in listed.values() if isinstance(items, list)
                               for i in items]
    operations = sweep.operations
    assert len(operations) > 100, "the document lists the collections' operations"
    started = time.monotonic()

    @settings(max_examples=EXAMPLES, derandomize=True, database=None,
              phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one_request(data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(operations), label="operation")
        sweep.request(data, op)

    one_request()
    elapsed = time.monotonic() - started
    report = {"backend": backend, "requests": sum(sweep.statuses.values()),
              "seconds": round(elapsed, 1),
              "statuses": dict(sorted(sweep.statuses.items()))}
    print(f"hostile sweep: {json.dumps(report)}")
    if os.environ.get("NEUTRINO_SWEEP_LOG"):  # to compare backends request by request
        Path(f"{os.environ['NEUTRINO_SWEEP_LOG']}.{backend}").write_text(
            "\n".join(sweep.log) + "\n")
    if os.environ.get("NEUTRINO_SWEEP_REPORT"):
        with Path(os.environ["NEUTRINO_SWEEP_REPORT"]).open("a") as out:
            out.write(json.dumps(report) + "\n")
    assert sweep.failures == [], "\n".join(sweep.failures[:30])
    # The sweep reaches past validation: some requests succeed, most are refused.
    assert any(200 <= s < 300 for s in sweep.statuses), sweep.statuses
    assert any(400 <= s < 500 for s in sweep.statuses), sweep.statuses
