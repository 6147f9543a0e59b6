"""Queue depths on the real RabbitMQ (rpc/queues.py): a queue of this test's own with
messages waiting, one that does not exist, the cache, and a broker that does not
answer. (The server's own queues, scraped: tests/rpc/test_rpc_workers.py.)"""

from __future__ import annotations

import socket
import time

import kombu
from oslo_config import cfg

from neutrino.rpc import queues
from rpc_helpers import unique


def publish(url: str, name: str, count: int) -> None:
    with kombu.Connection(url) as connection:
        queue = kombu.Queue(name, channel=connection.channel(), auto_delete=False)
        queue.declare()
        producer = connection.Producer()
        for i in range(count):
            producer.publish({"n": i}, routing_key=name)


def test_depths_of_existing_queues_cached(rabbit: str) -> None:
    conf = cfg.ConfigOpts()
    conf(args=[], default_config_files=[])
    url = queues.amqp_url(conf, rabbit)
    assert url is not None
    name, missing = unique("depth-test"), unique("no-such-queue")
    publish(url, name, 3)
    try:
        depths = queues.QueueDepths(url, [name, missing], ttl=60)
        assert depths.read() == {name: (3, 0)}
        publish(url, name, 1)
        assert depths.read() == {name: (3, 0)}  # within ttl: the last reading
        depths.ttl = 0
        deadline = time.monotonic() + 5  # a publish is asynchronous at the broker
        while depths.read() != {name: (4, 0)}:
            assert time.monotonic() < deadline, depths.read()
            time.sleep(0.1)
    finally:
        with kombu.Connection(url) as connection:
            connection.channel().queue_delete(name)


def test_broker_that_does_not_answer_gives_no_reading() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once we leave: nothing listens
    depths = queues.QueueDepths(f"amqp://guest:guest@127.0.0.1:{port}//", ["q-plugin"])
    started = time.monotonic()
    assert depths.read() == {}
    assert time.monotonic() - started < queues.CONNECT_TIMEOUT + 3


def test_server_queue_names() -> None:
    assert queues.queue_names(["q-plugin"], "h1", ["notifications"]) == [
        "q-plugin", "q-plugin.h1", "notifications.info"]
    conf = cfg.ConfigOpts()
    conf(args=[], default_config_files=[])
    assert queues.amqp_url(conf, "fake://") is None
    assert queues.amqp_url(conf, "rabbit://u:p%40w@h1:5673,u:p@h2/vh") == \
        "amqp://u:p%40w@h1:5673/vh"
