"""RabbitMQ quorum queues (docs/operators.md, "Several server hosts"): oslo.messaging's
``[oslo_messaging_rabbit] rabbit_quorum_queue`` in a server's or an agent's
configuration file reaches the transport the process makes, and the server's topic
queues are then declared quorum on the broker.

With a control exchange of the test's own: the quorum setting declares it durable,
and on the shared broker other servers have "openstack" non-durable, so
oslo.messaging would fall back to a non-durable queue, which a quorum queue cannot
be (docs/operators.md: switch every service of a vhost at once, on a fresh vhost)."""

from __future__ import annotations

from pathlib import Path

import kombu
import pytest
from amqp.exceptions import PreconditionFailed
from oslo_config import cfg

from neutrino import conf as conf_mod
from neutrino.agent.common import config as agent_config
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.contract import bus
from neutrino.rpc import queues
from neutrino.rpc.server import RpcService
from rpc_helpers import unique

QUORUM = "[oslo_messaging_rabbit]\nrabbit_quorum_queue = true\n"


def _agent_conf(config: Path) -> cfg.ConfigOpts:
    # As load_binary_config parses an agent's files (without its root check).
    conf = cfg.ConfigOpts()
    agent_config.register_opts(conf)
    lb_config.register_opts(conf)
    conf(args=["--config-file", str(config)], project="neutrino")
    return conf


def test_the_option_reaches_server_and_agent_transports(tmp_path: Path) -> None:
    config = tmp_path / "quorum.conf"
    config.write_text("[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:1/\n"
                      + QUORUM)
    for conf in (conf_mod.new_conf(["--config-file", str(config)]), _agent_conf(config)):
        transport = bus.get_transport(conf)  # no connection until used
        try:
            assert transport.conf.oslo_messaging_rabbit.rabbit_quorum_queue is True
        finally:
            transport.cleanup()
    # Off unless asked.
    plain = tmp_path / "plain.conf"
    plain.write_text("[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:1/\n")
    transport = bus.get_transport(conf_mod.new_conf(["--config-file", str(plain)]))
    assert transport.conf.oslo_messaging_rabbit.rabbit_quorum_queue is False
    transport.cleanup()


def test_server_topic_queues_are_quorum_queues(rabbit: str, tmp_path: Path) -> None:
    topic, host, exchange = unique("quorum-test"), unique("host"), unique("quorum-test")
    config = tmp_path / "quorum.conf"
    config.write_text(f"[DEFAULT]\ntransport_url = {rabbit}\n"
                      f"control_exchange = {exchange}\n" + QUORUM)
    conf = conf_mod.new_conf(["--config-file", str(config)])
    service = RpcService(conf, {topic: []}, host=host).start()
    url = queues.amqp_url(conf, rabbit)
    assert url is not None
    try:
        assert service.wait_started(30)
        with kombu.Connection(url) as connection:
            for name in (topic, f"{topic}.{host}"):
                channel = connection.channel()
                # Re-declaring with the same type is accepted...
                channel.queue_declare(name, durable=True, auto_delete=False,
                                      arguments={"x-queue-type": "quorum"})
                # ... with another refused: the queue is a quorum queue.
                with pytest.raises(PreconditionFailed, match="x-queue-type"):
                    channel.queue_declare(name, durable=True, auto_delete=False,
                                          arguments={"x-queue-type": "classic"})
    finally:
        service.stop()
        with kombu.Connection(url) as connection:
            channel = connection.channel()
            for name in (topic, f"{topic}.{host}"):
                channel.queue_delete(name)
            channel.exchange_delete(exchange)
            channel.exchange_delete(f"{topic}_fanout")
