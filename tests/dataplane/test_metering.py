"""The metering agent end to end (issue 14): a real server on RabbitMQ, the L2 and
L3 agents of one host namespace (l3_world.py) and the metering agent beside them;
labels and rules made through the API; traffic from a VM through its router to the
outside shows up in the label's counters, published as ``l3.meter`` notifications
consumed from RabbitMQ."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest

from dataplane.l3_world import INTERNET, L3World, l3_world
from dataplane.test_dhcp_agent import agent_conf
from dataplane.topology import ping_once, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.metering import config as metering_config
from neutrino.agent.metering import render
from neutrino.agent.metering.agent import MeteringAgent
from rpc_helpers import RABBIT, unique
from server import Api, ServerProcess

LABELS = "metering/metering-labels"
RULES = "metering/metering-label-rules"
PINGS = 5
WITHIN = 30.0


class Reports:
    """The l3.meter notifications of one topic, as a consumer on RabbitMQ gets them."""

    def __init__(self) -> None:
        self.payloads: list[dict] = []
        self.publishers: set[str] = set()
        self._lock = threading.Lock()

    def info(self, ctxt: Any, publisher_id: str, event_type: str, payload: dict,
             metadata: Any) -> None:
        if event_type == "l3.meter":
            with self._lock:
                self.payloads.append(payload)
                self.publishers.add(publisher_id)

    def totals(self) -> dict[str, tuple[int, int]]:
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        with self._lock:
            for payload in self.payloads:
                out[payload["label_id"]][0] += payload["pkts"]
                out[payload["label_id"]][1] += payload["bytes"]
        return {label: (p, b) for label, (p, b) in out.items()}

    def of(self, label_id: str) -> list[dict]:
        with self._lock:
            return [p for p in self.payloads if p["label_id"] == label_id]


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> Iterator[L3World]:
    with l3_world(server) as made:
        yield made


@pytest.fixture
def reports() -> Iterator[tuple[str, Reports]]:
    topic = unique("metering-notifications")
    conf = agent_conf(metering_config.register_opts, "consumer")
    transport = oslo_messaging.get_notification_transport(conf, url=RABBIT)
    consumer = Reports()
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=topic)], [consumer], executor="threading")
    listener.start()
    try:
        yield topic, consumer
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()


def _label(api: Api, project: str, name: str, *rules: dict) -> dict:
    response = api.post(LABELS, {"metering_label": {"name": name, "project_id": project}})
    assert response.status_code == 201, response.text
    label = response.json()["metering_label"]
    for rule in rules:
        body = {"metering_label_id": label["id"], **rule}
        created = api.post(RULES, {"metering_label_rule": body})
        assert created.status_code == 201, created.text
    return label


def _table(namespace: str) -> str | None:
    return privileged.nft_list_table(render.FAMILY, render.TABLE, namespace)


def test_traffic_through_the_router_is_metered_and_published(
        world: L3World, server: ServerProcess, reports: tuple[str, Reports]) -> None:
    topic, consumer = reports
    member = world.project()
    project = member.client.headers["X-Project-Id"]
    net, subnet = world.network(member, "10.61.0.0/24")
    router = world.router(member, subnet)
    vm = world.vm(member, net, world.open_group(member), "vm")
    admin = world.api
    cidr = subnet["cidr"]
    out = _label(admin, project, "out", {"direction": "egress", "source_ip_prefix": cidr})
    back = _label(admin, project, "back", {"direction": "ingress",
                                           "destination_ip_prefix": f"{vm.ip}/32"})
    excluded = _label(admin, project, "excluded",
                      {"direction": "egress", "source_ip_prefix": cidr},
                      {"direction": "egress", "source_ip_prefix": vm.ip, "excluded": True})
    legacy = _label(admin, project, "legacy", {"direction": "ingress",
                                               "remote_ip_prefix": "10.250.0.0/24"})
    conf = agent_conf(metering_config.register_opts, world.name, transport_url=RABBIT,
                      measure_interval=1, report_interval=2,
                      **{"oslo_messaging_notifications.driver": ["messagingv2"],
                         "oslo_messaging_notifications.topics": [topic]})
    agent = MeteringAgent(conf, transport=world.rpc, server=server.rpc_name,
                          own_all_namespaces=False).start()
    try:
        namespace = world.namespace_of(router)
        assert wait_for(lambda: all(f"counter l-{label['id']}" in (_table(namespace) or "")
                                    for label in (out, back, excluded, legacy)), WITHIN), \
            _table(namespace)
        assert wait_for(lambda: ping_once(vm.namespace, INTERNET), WITHIN)
        answered = 1 + sum(ping_once(vm.namespace, INTERNET) for _ in range(PINGS - 1))
        assert answered == PINGS
        # Each echo is 84 bytes of IPv4 both ways; the first ping's may have been
        # counted before the table was complete for it, hence "at least".
        assert wait_for(lambda: consumer.totals().get(out["id"], (0, 0))[0] >= PINGS
                        and consumer.totals().get(back["id"], (0, 0))[0] >= PINGS,
                        WITHIN), consumer.totals()
        totals = consumer.totals()
        assert totals[out["id"]][1] >= 84 * PINGS and totals[back["id"]][1] >= 84 * PINGS
        # The VM's traffic is excluded from the third label; nothing matches the
        # fourth (an address range no one uses). Both are reported, with zeros.
        assert totals[excluded["id"]] == (0, 0) and totals[legacy["id"]] == (0, 0)
        report = consumer.of(out["id"])[-1]
        assert report["tenant_id"] == project and report["host"] == world.name
        assert set(report) == {"label_id", "tenant_id", "pkts", "bytes", "time",
                               "first_update", "last_update", "host"}
        assert report["first_update"] <= report["last_update"]
        assert consumer.publishers == {f"metering.{world.name}"}
        agents = admin.get("agents", params={"host": world.name,
                                             "agent_type": "Metering agent"}).json()
        assert [a["binary"] for a in agents["agents"]] == ["neutrino-metering-agent"]

        # Restarted, the agent adopts the table: what was counted while it was down
        # is in its first reports.
        agent.stop()
        before = consumer.totals()[out["id"]][0]
        assert sum(ping_once(vm.namespace, INTERNET) for _ in range(PINGS)) == PINGS
        agent = MeteringAgent(conf, transport=world.rpc, server=server.rpc_name,
                              own_all_namespaces=False).start()
        assert wait_for(lambda: consumer.totals()[out["id"]][0] >= before + PINGS,
                        WITHIN), (before, consumer.totals())

        # A label deleted: its counter goes (the notification makes the agent
        # resync); all deleted: the router's table goes.
        assert admin.delete(f"{LABELS}/{out['id']}").status_code == 204
        assert wait_for(lambda: f"l-{out['id']}" not in (_table(namespace) or ""),
                        WITHIN), _table(namespace)
        for label in (back, excluded, legacy):
            assert admin.delete(f"{LABELS}/{label['id']}").status_code == 204
        assert wait_for(lambda: _table(namespace) is None, WITHIN), _table(namespace)
    finally:
        agent.stop()
