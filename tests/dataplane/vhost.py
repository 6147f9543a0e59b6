"""A RabbitMQ virtual host of one's own on the shared test broker.

Agents call the server on the topic queue ``q-plugin`` and listen on
``<topic>_fanout`` exchanges: names that are the same for every server on a broker
(``control_exchange`` does not change queue names). With other servers on the same
broker (other tests, a parallel run), an agent *process*, which cannot be told to
call one server only, would be answered by any of them. A vhost of its own isolates
a test's server and agents completely; it is deleted afterwards, with everything in
it. Needs ``rabbitmqctl`` (root, on the broker's machine).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from rpc_helpers import RABBIT


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60,
                   check=True)


def available() -> str | None:
    """Why no vhost can be made here (None: it can)."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed (needed for a private RabbitMQ vhost)"
    return None


@contextmanager
def private_vhost(prefix: str = "neutrino-test") -> Iterator[str]:
    """A fresh vhost the guest user may use; yields its transport_url."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    _ctl("add_vhost", name)
    try:
        _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield RABBIT.rstrip("/") + "/" + name
    finally:
        _ctl("delete_vhost", name)


def emptied(url: str) -> None:
    """What a broker restart leaves of a vhost: the vhost, without the queues and
    exchanges that were not durable (here: all of them), as deleting it and making
    it again does. Clients still connected are disconnected; the test keeps them
    away meanwhile (a proxy refusing them), or they would be refused by a missing
    vhost, which a restart does not do."""
    name = url.rstrip("/").rsplit("/", 1)[1]
    _ctl("delete_vhost", name)
    _ctl("add_vhost", name)
    _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
