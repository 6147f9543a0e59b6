"""Port events to Nova (issue 15) against a small fake Nova HTTP server (a real HTTP
server in this process; Nova itself cannot run here): a real neutrino-server on
RabbitMQ, a test L2 agent setting a compute port's status over the bus, and the
``os-server-external-events`` batches the server POSTs.

``[nova] auth_type = none`` with ``endpoint_override``: keystoneauth's own no-auth
plugin (the Keystone path is keystoneauth's, exercised by the CLI's tests)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from backends import database
from rpc_helpers import PluginClient, Reporter, lb_state, server_conf, unique
from server import Api, ServerProcess


class FakeNova:
    """POST /v2.1/os-server-external-events: records each batch; answers 207 with
    a code per event (404 for servers in `unknown`), or 500 while `failures` > 0."""

    def __init__(self) -> None:
        self.batches: list[list[dict]] = []
        self.failures = 0
        self.refused = 0
        self.unknown: set[str] = set()
        self.changed = threading.Condition()
        # A batch with this tag is held (its POST unanswered) until `release`.
        self.hold_tag: str | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        nova = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if nova.hold_tag in {e.get("tag") for e in body.get("events", [])}:
                    nova.holding.set()
                    nova.release.wait(60)
                with nova.changed:
                    if self.path != "/v2.1/os-server-external-events":
                        code, answer = 404, {}
                    elif nova.failures > 0:
                        nova.failures -= 1
                        nova.refused += 1
                        code, answer = 500, {"computeFault": {"code": 500}}
                    else:
                        nova.batches.append(body["events"])
                        nova.changed.notify_all()
                        answer = {"events": [dict(e, code=404 if e["server_uuid"] in
                                                  nova.unknown else 200)
                                             for e in body["events"]]}
                        code = 207 if any(e["code"] != 200 for e in answer["events"]) \
                            else 200
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v2.1"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def events(self) -> list[dict]:
        with self.changed:
            return [e for b in self.batches for e in b]

    def wait_for(self, predicate: Any, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for batch in self.batches:
                    for item in batch:
                        if predicate(item):
                            return item
                left = deadline - time.monotonic()
                assert left > 0, f"no such event; Nova got {self.batches}"
                self.changed.wait(left)


@pytest.fixture(scope="module")
def nova(backend: str) -> Iterator[FakeNova]:
    """One per backend, like the server that posts to it (its counts are theirs)."""
    fake = FakeNova()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.http.shutdown()
        fake.http.server_close()


@pytest.fixture(scope="module")
def nova_server(rabbit: str, backend: str, nova: FakeNova,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp(f"nova-events-{backend}")
    name = unique("nova-host")
    extra = (server_conf(rabbit, name, send_events_interval=0.3)
             + f"[nova]\nauth_type = none\nendpoint_override = {nova.url}\n")
    with database(backend, state) as url, ServerProcess(state, url,
                                                        extra_conf=extra) as proc:
        proc.rpc_name = name
        yield proc


class L2Agent:
    def __init__(self, bus: Any, server: str) -> None:
        self.host = f"host-{uuid.uuid4().hex[:8]}"
        self.plugin = PluginClient(bus, server)
        assert Reporter(bus, server)(lb_state(self.host, "192.0.2.1")) == "new"

    def call(self, method: str, **kwargs: Any) -> Any:
        return self.plugin.call(method, agent_id=f"lb-{self.host}", host=self.host,
                                **kwargs)


def tap(port: dict) -> str:
    return "tap" + port["id"][:11]


def test_vif_plugged_unplugged_changed_deleted(bus: Any, nova_server: ServerProcess,
                                               nova: FakeNova) -> None:
    api = Api(nova_server.url)
    agent = L2Agent(bus, nova_server.rpc_name)
    net = api.network(name="nova-events")
    subnet = api.subnet(net["id"], "10.93.0.0/24")
    server_uuid = str(uuid.uuid4())
    port = api.port(net["id"], device_id=server_uuid, device_owner="compute:nova",
                    **{"binding:host_id": agent.host})
    assert port["status"] == "DOWN"

    agent.call("update_device_up", device=tap(port))
    plugged = nova.wait_for(lambda e: e["tag"] == port["id"])
    assert plugged == {"name": "network-vif-plugged", "server_uuid": server_uuid,
                       "tag": port["id"], "status": "completed"}

    agent.call("update_device_down", device=tap(port))
    nova.wait_for(lambda e: e["tag"] == port["id"]
                  and e["name"] == "network-vif-unplugged" and e["status"] == "completed")

    moved = api.put(f"/v2.0/ports/{port['id']}", {"port": {"fixed_ips": [
        {"subnet_id": subnet["id"], "ip_address": "10.93.0.77"}]}})
    assert moved.status_code == 200
    nova.wait_for(lambda e: e["tag"] == port["id"] and e["name"] == "network-changed"
                  and e["server_uuid"] == server_uuid)

    assert api.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    nova.wait_for(lambda e: e["tag"] == port["id"] and e["name"] == "network-vif-deleted"
                  and e["server_uuid"] == server_uuid)
    names = [e["name"] for e in nova.events() if e["tag"] == port["id"]]
    assert names == ["network-vif-plugged", "network-vif-unplugged", "network-changed",
                     "network-vif-deleted"]


def test_only_compute_ports_and_batches(bus: Any, nova_server: ServerProcess,
                                        nova: FakeNova) -> None:
    """Events that come while a batch is on its way go together in the next POST
    (Nova is held answering the first: no timing involved); the API does not wait
    for Nova; a DHCP port's changes are not Nova's business."""
    api = Api(nova_server.url)
    net = api.network(name="nova-batch")
    api.subnet(net["id"], "10.94.0.0/24")
    dhcp = api.port(net["id"], device_id="dhcp-x", device_owner="network:dhcp")
    blocker, *ports = [api.port(net["id"], device_id=str(uuid.uuid4()),
                                device_owner="compute:az1") for _ in range(4)]
    nova.hold_tag = blocker["id"]
    try:
        assert api.delete(f"/v2.0/ports/{blocker['id']}").status_code == 204
        assert nova.holding.wait(30), "the first batch never reached Nova"
        # A create is no event; deletes are. Answered while Nova still holds the
        # first batch; each event is queued before its DELETE is answered.
        for port in (*ports, dhcp):
            assert api.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    finally:
        nova.release.set()
    ids = {p["id"] for p in ports}
    nova.wait_for(lambda e: e["tag"] == ports[-1]["id"])
    with nova.changed:
        batches = [b for b in nova.batches if {e["tag"] for e in b} & ids]
    assert len(batches) == 1 and {e["tag"] for e in batches[0]} == ids
    assert dhcp["id"] not in {e["tag"] for e in nova.events()}


def test_retried_after_nova_errors_and_api_not_held(nova_server: ServerProcess,
                                                     nova: FakeNova) -> None:
    api = Api(nova_server.url)
    net = api.network(name="nova-retry")
    port = api.port(net["id"], device_id=str(uuid.uuid4()), device_owner="compute:nova")
    with nova.changed:
        nova.failures = 2
    started = time.monotonic()
    assert api.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert time.monotonic() - started < 2  # the retries' back-off is not the API's
    nova.wait_for(lambda e: e["tag"] == port["id"])
    assert nova.refused == 2


def test_floating_ip_association_is_network_changed(
        bus: Any, nova_server: ServerProcess, nova: FakeNova) -> None:
    api = Api(nova_server.url)
    ext = api.network(name="nova-ext", **{"router:external": True})
    api.subnet(ext["id"], "198.51.100.0/24", enable_dhcp=False)
    net = api.network(name="nova-fip")
    subnet = api.subnet(net["id"], "10.95.0.0/24")
    router = api.create("router", name="nova-r",
                        external_gateway_info={"network_id": ext["id"]})
    added = api.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                    {"subnet_id": subnet["id"]})
    assert added.status_code == 200
    server_uuid = str(uuid.uuid4())
    port = api.port(net["id"], device_id=server_uuid, device_owner="compute:nova")
    api.create("floatingip", floating_network_id=ext["id"], port_id=port["id"])
    nova.wait_for(lambda e: e["tag"] == port["id"] and e["name"] == "network-changed"
                  and e["server_uuid"] == server_uuid)
