"""Notifications to agents over real RabbitMQ: a listener (what an agent runs)
receives the fanouts after API calls; the DHCP agent hosting a network hears about
it on its own queue; and the API keeps answering fast with an unreachable broker."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oslo_messaging
import pytest

from backends import database, unavailable
from neutrino.contract import topics
from rpc_helpers import (
    PluginClient,
    Reporter,
    dhcp_state,
    hosts_of,
    lb_state,
    new_transport,
    only_new_agents,
    rabbit_answers,
    server_on_rabbit,
    unique,
)
from server import Api, ServerProcess, free_port

TOPICS = [topics.PORT_UPDATE, topics.PORT_DELETE, topics.NETWORK_UPDATE,
          topics.NETWORK_DELETE, topics.SECURITY_GROUP_UPDATE, topics.DHCP_AGENT]


METHODS = ("port_update", "port_delete", "network_update", "network_delete",
           "security_groups_rule_updated", "security_groups_member_updated",
           "network_create_end", "network_update_end", "network_delete_end",
           "subnet_create_end", "subnet_update_end", "subnet_delete_end",
           "port_create_end", "port_update_end", "port_delete_end")


class Recorder:
    """An agent's endpoint: remembers every (topic, method, kwargs) it gets."""

    target = oslo_messaging.Target(version="1.0")

    def __init__(self, topic: str, log: list, cond: threading.Condition) -> None:
        self.topic, self.log, self.cond = topic, log, cond
        for method in METHODS:
            setattr(self, method, self._recorder(method))

    def _recorder(self, method: str) -> Any:
        def record(context: Any, **kwargs: Any) -> None:
            with self.cond:
                self.log.append((self.topic, method, kwargs))
                self.cond.notify_all()
        return record


class Listener:
    def __init__(self, rpc_transport: Any, host: str) -> None:
        self.host = host
        self.log: list[tuple[str, str, dict]] = []
        self.cond = threading.Condition()
        self.servers = []
        for topic in TOPICS:
            server = oslo_messaging.get_rpc_server(
                rpc_transport, oslo_messaging.Target(topic=topic, server=host),
                [Recorder(topic, self.log, self.cond)])
            server.start()
            self.servers.append(server)

    def wait(self, predicate: Any, timeout: float = 15.0) -> tuple[str, str, dict]:
        """The first message matching predicate(topic, method, kwargs)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for item in self.log:
                    if predicate(*item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching notification in {self.log[-20:]}")
                self.cond.wait(left)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        for server in self.servers:
            server.wait()


@pytest.fixture(scope="module")
def listener(bus: object) -> Iterator[Listener]:
    # Its name is also a DHCP agent's host: casts to dhcp_agent.<host> reach it.
    agent = Listener(bus, unique("agent"))
    yield agent
    agent.stop()


def test_fanouts_after_api_calls(admin: Api, listener: Listener) -> None:
    net = admin.network(name=unique("net"))
    subnet = admin.subnet(net["id"], "10.40.0.0/24")
    listener.wait(lambda t, m, k: m == "subnet_create_end"
                  and k["payload"]["subnet"]["id"] == subnet["id"])
    port = admin.port(net["id"])
    _, _, created = listener.wait(lambda t, m, k: m == "port_create_end"
                                  and k["payload"]["port"]["id"] == port["id"])
    assert created["payload"]["port"]["network_id"] == net["id"]

    updated = admin.put(f"ports/{port['id']}", {"port": {"name": "renamed"}}).json()["port"]
    topic, _, kwargs = listener.wait(lambda t, m, k: m == "port_update"
                                     and k["port"]["id"] == port["id"])
    assert topic == topics.PORT_UPDATE
    assert kwargs["port"]["network_id"] == net["id"]
    assert kwargs["port"]["revision_number"] == updated["revision_number"]

    group = admin.post("security-groups", {"security_group": {"name": unique("sg")}}
                     ).json()["security_group"]
    rule = admin.post("security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp"}})
    assert rule.status_code == 201, rule.text
    topic, _, kwargs = listener.wait(
        lambda t, m, k: m == "security_groups_rule_updated"
        and k["security_groups"] == [group["id"]])
    assert topic == topics.SECURITY_GROUP_UPDATE
    admin.put(f"ports/{port['id']}", {"port": {"security_groups": [group["id"]]}})
    listener.wait(lambda t, m, k: m == "security_groups_member_updated"
                  and group["id"] in k["security_groups"])

    assert admin.delete(f"ports/{port['id']}").status_code == 204
    _, _, kwargs = listener.wait(lambda t, m, k: m == "port_delete"
                                 and k["port_id"] == port["id"])
    assert kwargs["network_id"] == net["id"]
    admin.put(f"networks/{net['id']}", {"network": {"name": "renamed"}})
    listener.wait(lambda t, m, k: m == "network_update" and k["network"]["id"] == net["id"])
    assert admin.delete(f"networks/{net['id']}").status_code == 204
    topic, _, _ = listener.wait(lambda t, m, k: m == "network_delete"
                                and k["network_id"] == net["id"])
    assert topic == topics.NETWORK_DELETE
    listener.wait(lambda t, m, k: m == "network_delete_end"
                  and k["payload"]["network_id"] == net["id"])


def test_dhcp_agent_hears_of_its_networks(admin: Api, listener: Listener,
                                          report: Reporter) -> None:
    only_new_agents(admin)
    report(dhcp_state(listener.host))
    net = admin.network(name=unique("net"))
    admin.subnet(net["id"], "10.41.0.0/24")
    assert hosts_of(admin, net["id"]) == [listener.host]
    # Cast to the agent's own queue (dhcp_agent.<host>), not a fanout.
    listener.wait(lambda t, m, k: m == "network_create_end"
                  and k["payload"]["network"]["id"] == net["id"])
    agent = admin.get("agents", params={"host": listener.host}).json()["agents"][0]
    admin.delete(f"agents/{agent['id']}/dhcp-networks/{net['id']}")
    listener.wait(lambda t, m, k: m == "network_delete_end"
                  and k["payload"]["network_id"] == net["id"])


def test_log_changes_reach_the_covered_ports_agents(admin: Api, listener: Listener,
                                                    report: Reporter) -> None:
    """Security group logging: a log made, enabled or disabled casts network_update
    for the networks of the bound ports it covers (their agents resync)."""
    api = admin.as_project(unique("p-log"), ["admin"])
    host = unique("log-host")
    report(lb_state(host, "192.0.2.11"))
    nets = [api.network(name=unique("ln")) for _ in range(3)]
    group = api.create("security_group", name=unique("lg"))
    bound = {"binding:host_id": host}
    named = api.port(nets[0]["id"], **bound)
    api.port(nets[1]["id"], security_groups=[group["id"]], **bound)
    api.port(nets[2]["id"], **bound)

    def log(**attrs: object) -> dict:
        response = api.post("log/logs", {"log": {"resource_type": "security_group",
                                                 **attrs}})
        assert response.status_code == 201, response.text
        return response.json()["log"]

    def updated(net: dict) -> None:
        listener.wait(lambda t, m, k: m == "network_update"
                      and k["network"]["id"] == net["id"])
    log(target_id=named["id"])
    updated(nets[0])
    log(resource_id=group["id"], event="DROP")
    updated(nets[1])
    everywhere = log(enabled=False)  # nothing to do on the agents yet
    api.put(f"log/logs/{everywhere['id']}", {"log": {"enabled": True}})
    updated(nets[2])


def test_api_answers_with_unreachable_broker(tmp_path: Path) -> None:
    closed = f"rabbit://guest:guest@127.0.0.1:{free_port()}/"
    with database("sqlite", tmp_path) as url, ServerProcess(
            tmp_path, url, extra_conf=f"transport_url = {closed}\n") as proc:
        api = Api(proc.url)
        started = time.monotonic()
        for i in range(5):
            net = api.network(name=f"n{i}")
            api.subnet(net["id"], f"10.42.{i}.0/24")
            port = api.port(net["id"])
            assert api.put(f"ports/{port['id']}", {"port": {"name": "x"}}
                           ).status_code == 200
            assert api.delete(f"ports/{port['id']}").status_code == 204
            assert api.delete(f"networks/{net['id']}").status_code == 204
        # 30 writes; each would wait for the broker if sending were in the request.
        assert time.monotonic() - started < 15
        log = proc.log.read_text()
    assert "not sent" in log or "queue full" in log or "Connection refused" in log \
        or "Unable to connect" in log or "ECONNREFUSED" in log


# -- a broker restart ---------------------------------------------------------------


class PrivateRabbit:
    """A RabbitMQ node of this test's own (own name, ports, data and plugins), so
    that restarting it disturbs nobody else on the machine; stopped by pid."""

    SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"

    def __init__(self, base: Path) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.name = f"{unique('neutrino-test')}@localhost"
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (base / "rabbitmq-env.conf").write_text("")
        self.env = dict(
            os.environ, HOME=str(base), RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_DIST_PORT=str(free_port()),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"), RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
            RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
            RABBITMQ_PID_FILE=str(base / "rabbit.pid"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    def start(self, timeout: float = 90) -> None:
        with open(self.base / "console.log", "ab") as out:
            self.proc = subprocess.Popen([self.SERVER], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, cwd=self.base)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rabbitmq-server exited: "
                                   + (self.base / "console.log").read_text()[-2000:])
            if rabbit_answers(self.port):
                return
            time.sleep(0.5)
        raise RuntimeError("rabbitmq-server did not open its port in time")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        deadline = time.monotonic() + 30
        while rabbit_answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.fixture
def private_rabbit(tmp_path: Path) -> Iterator[PrivateRabbit]:
    if not os.path.exists(PrivateRabbit.SERVER):
        unavailable("rabbitmq-server is not installed: no private node for the "
                    "broker restart test")
    node = PrivateRabbit(tmp_path / "rabbit")
    try:
        try:
            node.start()
        except RuntimeError as error:
            unavailable(f"a second RabbitMQ node could not start here: {error}")
        yield node
    finally:
        node.stop()


def test_agents_and_server_survive_a_broker_restart(private_rabbit: PrivateRabbit,
                                                    tmp_path: Path) -> None:
    name = unique("restart-test")
    rpc_transport = new_transport(private_rabbit.url)
    listener = None
    try:
        with server_on_rabbit(private_rabbit.url, "sqlite", tmp_path, name) as proc:
            api = Api(proc.url)
            report = Reporter(rpc_transport, name, deadline=90)
            host = unique("agent")
            assert report(dhcp_state(host)) == "new"
            before = api.get("agents", params={"host": host}).json()["agents"][0]
            listener = Listener(rpc_transport, unique("listener"))

            private_rabbit.stop()
            assert not rabbit_answers(private_rabbit.port)
            private_rabbit.start()

            # The agent's next heartbeat lands (its client reconnects).
            assert report(dhcp_state(host, start_flag=False)) == "alive"
            after = api.get("agents", params={"host": host}).json()["agents"][0]
            assert after["heartbeat_timestamp"] > before["heartbeat_timestamp"]
            assert after["alive"] is True
            # The server's RPC answers, and its notifications flow again.
            plugin = PluginClient(rpc_transport, name)
            assert plugin.call("get_desired_state", host=host, kind="dhcp") == {
                "host": host, "networks": []}
            net = api.network(name=unique("net"))
            api.delete(f"networks/{net['id']}")
            listener.wait(lambda t, m, k: m == "network_delete"
                          and k["network_id"] == net["id"], timeout=60)
    finally:
        if listener is not None:
            listener.stop()
        rpc_transport.cleanup()


def test_in_process_bus_reaches_listeners_of_the_servers_transport(tmp_path: Path) -> None:
    """fake:// (all-in-one): the notifier shares the RPC servers' transport, the only
    one in-process agents can hear."""
    from neutrino import conf as conf_mod
    from neutrino.context import Context
    from neutrino.core import ServerRuntime, build_core
    from neutrino.db import migrate
    from neutrino.db.engine import Database
    from neutrino.services import prepare as bodies

    conf = conf_mod.new_conf([])
    conf.set_override("state_path", str(tmp_path))
    db = Database(conf_mod.database_url(conf))
    migrate.upgrade(db)
    core = build_core(conf, db)
    runtime = ServerRuntime(core, serve_rpc=True).start()
    try:
        assert runtime.rpc is not None and runtime.rpc.wait_started(10)
        agent = Listener(runtime.rpc.transport, "all-in-one")
        ctx = Context.admin("p")
        net = core.networks.create_bulk(ctx, [bodies.prepare_create(
            core.networks.resource, {"name": "n"}, ctx)])[0]
        core.networks.delete(ctx, net["id"])
        agent.wait(lambda t, m, k: m == "network_delete" and k["network_id"] == net["id"])
        agent.stop()
    finally:
        runtime.stop()
        db.engine.dispose()
