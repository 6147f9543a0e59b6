"""Resource notifications on RabbitMQ (issue 15): a real oslo.messaging notification
listener on the server's ``[oslo_messaging_notifications] topics`` hears upstream's
``<resource>.create/update/delete.start/.end`` after API calls, with their payloads
and publisher ``network.<host>``; a failed request sends its ``.start`` only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oslo_messaging
import pytest

from backends import database
from neutrino import conf as conf_mod
from rpc_helpers import server_conf, unique
from server import Api, ServerProcess


class Collector:
    """A notification endpoint: every (event_type, payload, publisher, ctxt)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, str, dict]] = []
        self.changed = threading.Condition()

    def info(self, ctxt: dict, publisher_id: str, event_type: str, payload: Any,
             metadata: dict) -> None:
        with self.changed:
            self.seen.append((event_type, payload, publisher_id, ctxt))
            self.changed.notify_all()

    def wait_for(self, event_type: str, match: Any = lambda p: True,
                 timeout: float = 30) -> tuple[str, Any, str, dict]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for seen in self.seen:
                    if seen[0] == event_type and match(seen[1]):
                        return seen
                left = deadline - time.monotonic()
                assert left > 0, f"no {event_type}; heard {[s[0] for s in self.seen]}"
                self.changed.wait(left)


@pytest.fixture(scope="module")
def topic() -> str:
    return unique("notifications")  # this module's queue on the shared broker


@pytest.fixture(scope="module")
def collector(rabbit: str, topic: str) -> Iterator[Collector]:
    conf = conf_mod.new_conf([])
    conf.set_override("transport_url", rabbit)
    transport = oslo_messaging.get_notification_transport(conf)
    found = Collector()
    server = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=topic)], [found], executor="threading")
    server.start()  # declares the queue before the server sends anything
    try:
        yield found
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


@pytest.fixture(scope="module")
def notifying_server(rabbit: str, backend: str, topic: str, collector: Collector,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp(f"notifications-{backend}")
    name = unique("notify-host")
    extra = (server_conf(rabbit, name) + "[oslo_messaging_notifications]\n"
             f"driver = messagingv2\ntopics = {topic}\n")
    with database(backend, state) as url, ServerProcess(state, url,
                                                        extra_conf=extra) as proc:
        proc.rpc_name = name
        yield proc


def test_network_lifecycle_notifications(notifying_server: ServerProcess,
                                         collector: Collector) -> None:
    project = unique("proj")
    api = Api(notifying_server.url).as_project(project, ["admin"])
    name = unique("notified")  # the backends' servers share the collector
    net = api.network(name=name)
    _, start, publisher, ctxt = collector.wait_for(
        "network.create.start", lambda p: p.get("network", {}).get("name") == name)
    assert start == {"network": {"name": name}}  # the request's body
    assert publisher == f"network.{notifying_server.rpc_name}"
    assert ctxt.get("project_id") == project, ctxt
    _, end, _, _ = collector.wait_for(
        "network.create.end", lambda p: p.get("network", {}).get("id") == net["id"])
    assert end == {"network": net}  # the API's answer, in full

    updated = api.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "renamed"}})
    assert updated.status_code == 200
    _, start, _, _ = collector.wait_for("network.update.start",
                                        lambda p: p.get("id") == net["id"])
    assert start == {"network": {"name": "renamed"}, "id": net["id"]}
    _, end, _, _ = collector.wait_for(
        "network.update.end", lambda p: p.get("network", {}).get("id") == net["id"])
    assert end == updated.json()

    assert api.delete(f"/v2.0/networks/{net['id']}").status_code == 204
    _, start, _, _ = collector.wait_for("network.delete.start",
                                        lambda p: p.get("network_id") == net["id"])
    assert start == {"network_id": net["id"]}
    _, end, _, _ = collector.wait_for("network.delete.end",
                                      lambda p: p.get("network_id") == net["id"])
    assert end["network"]["name"] == "renamed" and end["network"]["id"] == net["id"]


def test_bulk_subnet_and_port_notifications(notifying_server: ServerProcess,
                                            collector: Collector) -> None:
    api = Api(notifying_server.url).as_project(unique("proj"), ["admin"])
    net = api.network(name="bulk")
    created = api.post("/v2.0/ports", {"ports": [
        {"network_id": net["id"], "name": "b1"}, {"network_id": net["id"], "name": "b2"}]})
    assert created.status_code == 201
    ids = {p["id"] for p in created.json()["ports"]}
    _, end, _, _ = collector.wait_for(
        "port.create.end", lambda p: {i["id"] for i in p.get("ports", [])} == ids)
    assert end == created.json()
    subnet = api.subnet(net["id"], "10.91.0.0/24")
    _, end, _, _ = collector.wait_for(
        "subnet.create.end", lambda p: p.get("subnet", {}).get("id") == subnet["id"])
    assert end["subnet"]["cidr"] == "10.91.0.0/24"


def test_failed_request_sends_start_only(notifying_server: ServerProcess,
                                         collector: Collector) -> None:
    api = Api(notifying_server.url).as_project(unique("proj"), ["admin"])
    marker = unique("bad")
    bad = api.post("/v2.0/networks", {"network": {"name": marker, "mtu": "not-a-number"}})
    assert bad.status_code == 400
    collector.wait_for("network.create.start",
                       lambda p: p.get("network", {}).get("name") == marker)
    # A later request's end arriving proves the failed one's end would have by now
    # (one sender thread, in order).
    good = api.network(name=unique("good"))
    collector.wait_for("network.create.end",
                       lambda p: p.get("network", {}).get("id") == good["id"])
    assert not [s for s in collector.seen if s[0] == "network.create.end"
                and s[1].get("network", {}).get("name") == marker]


def test_notifications_off_by_default(tmp_path: Path) -> None:
    """No driver configured: the server sends nothing and starts no thread (the
    session server's log would show a sender; here the sender says it is off)."""
    from neutrino.services.notifications import NotificationSender
    sender = NotificationSender(conf_mod.new_conf())
    assert not sender.enabled
    sender.start()
    sender.info({}, "network.create.start", {})
    assert sender.backlog == 0


def test_router_interface_notifications(notifying_server: ServerProcess,
                                        collector: Collector) -> None:
    """add/remove_router_interface → router.interface.create/.delete, once each,
    carrying the action's answer (upstream's L3 service does the same)."""
    api = Api(notifying_server.url).as_project(unique("proj"), ["admin"])
    net = api.network(name="ri")
    subnet = api.subnet(net["id"], "10.92.0.0/24")
    created = api.post("/v2.0/routers", {"router": {"name": "ri"}})
    assert created.status_code == 201
    router = created.json()["router"]
    added = api.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                    {"subnet_id": subnet["id"]})
    assert added.status_code == 200
    _, payload, publisher, _ = collector.wait_for(
        "router.interface.create",
        lambda p: p.get("router_interface", {}).get("id") == router["id"])
    assert payload == {"router_interface": added.json()}
    assert payload["router_interface"]["subnet_id"] == subnet["id"]
    assert publisher == f"network.{notifying_server.rpc_name}"

    # A failed action notifies nothing: the subnet is not on the router twice.
    again = api.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                    {"subnet_id": subnet["id"]})
    assert again.status_code == 400
    removed = api.put(f"/v2.0/routers/{router['id']}/remove_router_interface",
                      {"subnet_id": subnet["id"]})
    assert removed.status_code == 200
    _, payload, _, _ = collector.wait_for(
        "router.interface.delete",
        lambda p: p.get("router_interface", {}).get("id") == router["id"])
    assert payload == {"router_interface": removed.json()}
    assert [s[0] for s in collector.seen
            if s[0].startswith("router.interface.")
            and s[1]["router_interface"]["id"] == router["id"]] == \
        ["router.interface.create", "router.interface.delete"]
