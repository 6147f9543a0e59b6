"""`neutrino audit` on RabbitMQ: one ``<resource>.exists`` notification per network,
subnet, port, router and floating IP, consumed from the broker with a real
oslo.messaging notification listener; and `neutrino status` seeing the broker."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import oslo_messaging
import pytest

from neutrino.cli import audit
from neutrino.cli import main as cli_main
from rpc_helpers import PluginClient, Reporter, dhcp_state, unique
from server import Api, ServerProcess


class Collector:
    """A notification endpoint: every (event_type, payload, publisher) it hears."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict, str]] = []
        self.contexts: list[dict] = []
        self.changed = threading.Condition()

    def info(self, ctxt: dict, publisher_id: str, event_type: str, payload: dict,
             metadata: dict) -> None:
        with self.changed:
            self.seen.append((event_type, payload, publisher_id))
            self.contexts.append(ctxt)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.seen) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.seen)} of {count} notifications heard"
                self.changed.wait(left)


@pytest.fixture
def notifications_conf(tmp_path: Path, rabbit: str) -> tuple[Path, str]:
    topic = f"audit-{uuid.uuid4().hex[:8]}"  # this test's queue on the shared broker
    path = tmp_path / "neutrino.conf"
    path.write_text(f"[DEFAULT]\ntransport_url = {rabbit}\n"
                    f"[oslo_messaging_notifications]\ndriver = messagingv2\n"
                    f"topics = {topic}\n")
    return path, topic


@pytest.fixture
def listener(notifications_conf: tuple[Path, str]) -> Any:
    path, topic = notifications_conf
    conf = audit.load_conf([str(path)], None)
    transport = oslo_messaging.get_notification_transport(conf)
    collector = Collector()
    server = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=topic)], [collector], executor="threading")
    server.start()  # declares the queue: nothing sent after this is lost
    try:
        yield collector
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


def test_audit_emits_exists_for_every_resource(
        rpc_server: ServerProcess, admin: Api, listener: Collector,
        notifications_conf: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    api = admin.as_project(f"audit-{uuid.uuid4().hex[:8]}", ["admin"])
    ext = api.network(name="audit-ext", **{"router:external": True})
    api.subnet(ext["id"], "203.0.113.0/24", enable_dhcp=False)
    net = api.network(name="audit-net")
    subnet = api.subnet(net["id"], "10.77.0.0/24")
    port = api.port(net["id"], name="audit-port")
    router = api.create("router", name="audit-router",
                        external_gateway_info={"network_id": ext["id"]})
    fip = api.create("floatingip", floating_network_id=ext["id"])
    everything = {kind: {i["id"] for i in admin.get(collection).json()[collection]}
                  for kind, collection in audit.RESOURCES}
    capsys.readouterr()
    status = cli_main.main(["--noauth", "--endpoint", rpc_server.url, "--format", "json",
                            "audit", "--config-file", str(notifications_conf[0]),
                            "--host", "audit-host"])
    assert status == 0
    total = sum(len(ids) for ids in everything.values())
    listener.wait_for(total)
    heard: dict[str, set[str]] = {}
    for event_type, payload, publisher in listener.seen:
        kind = event_type.removesuffix(".exists")
        assert event_type == f"{kind}.exists" and set(payload) == {kind}, event_type
        assert publisher == "network.audit-host"
        heard.setdefault(kind, set()).add(payload[kind]["id"])
    assert heard == everything
    # One audit run, one admin request context on every notification.
    request_ids = {ctxt.get("request_id") for ctxt in listener.contexts}
    assert len(request_ids) == 1 and next(iter(request_ids)).startswith("req-")
    assert all(ctxt.get("is_admin") for ctxt in listener.contexts)
    for kind, item in (("network", net), ("subnet", subnet), ("port", port),
                       ("router", router), ("floatingip", fip)):
        assert item["id"] in heard[kind]
    payload = next(p for e, p, _ in listener.seen if e == "subnet.exists"
                   and p["subnet"]["id"] == subnet["id"])
    assert payload["subnet"]["cidr"] == "10.77.0.0/24"  # the API's view, in full
    sent = capsys.readouterr().out
    assert f'"port": {len(everything["port"])}' in sent


def test_audit_refuses_without_a_bus(rpc_server: ServerProcess, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.conf"
    path.write_text("[DEFAULT]\n")
    status = cli_main.main(["--noauth", "--endpoint", rpc_server.url, "audit",
                            "--config-file", str(path)])
    assert status == 2
    assert "in-process bus (fake://)" in capsys.readouterr().err


def test_audit_refuses_when_notifications_are_off(
        rpc_server: ServerProcess, rabbit: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "off.conf"
    path.write_text(f"[DEFAULT]\ntransport_url = {rabbit}\n")
    status = cli_main.main(["--noauth", "--endpoint", rpc_server.url, "audit",
                            "--config-file", str(path)])
    assert status == 2
    assert "notifications are off" in capsys.readouterr().err


def test_status_sees_the_broker(rpc_server: ServerProcess, bus: Any,
                                plugin: PluginClient,
                                capsys: pytest.CaptureFixture[str]) -> None:
    # The RPC servers start beside the HTTP listener: once a report and a call are
    # answered, the server consumes its own queues.
    Reporter(bus, rpc_server.rpc_name)(dhcp_state(unique("status-host")))
    plugin.call("get_metadata_instance", ip_address="192.0.2.1", network_id=unique("n"))
    capsys.readouterr()
    cli_main.main(["--noauth", "--endpoint", rpc_server.url, "--format", "json", "status"])
    import json
    bus = json.loads(capsys.readouterr().out)["server"]["bus"]
    queues = {q["name"]: q for q in bus.pop("queues")}
    assert bus == {"driver": "rabbit", "hosts": ["127.0.0.1:5672"], "reachable": True}
    # The server's own RPC queues, served by it: agents' calls would be answered.
    for topic in ("q-plugin", "q-reports-plugin"):
        own = queues[f"{topic}.{rpc_server.rpc_name}"]
        assert own["rpc"] is True and own["consumers"] >= 1, own
        assert isinstance(own["messages"], int)
    capsys.readouterr()
    cli_main.main(["--noauth", "--endpoint", rpc_server.url, "--format", "table",
                   "status"])
    table = capsys.readouterr().out
    assert "Queues" in table and f"q-plugin.{rpc_server.rpc_name}" in table
