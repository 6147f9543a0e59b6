"""The agent's update_device_list over the in-process bus (real oslo.messaging,
server and client in one process): a server from before the batch answers
NoSuchMethod and the agent reports one device per call from then on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest

from neutrino import conf as conf_mod
from neutrino.agent.common.rpc import PluginApi
from neutrino.contract import bus as rpc_bus
from neutrino.contract import topics


class OldServer:
    """update_device_up / update_device_down only."""

    target = oslo_messaging.Target(version="1.0")

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def update_device_up(self, context: Any, device: str, **kwargs: Any) -> None:
        self.calls.append(("up", device))
        if device == "tapbroken":
            raise RuntimeError("no")

    def update_device_down(self, context: Any, device: str, **kwargs: Any) -> dict:
        self.calls.append(("down", device))
        return {"device": device, "exists": True}


@pytest.fixture
def bus() -> Iterator[tuple[Any, OldServer, str]]:
    transport = rpc_bus.get_transport(conf_mod.new_conf([]), "fake://")
    old, name = OldServer(), f"old-{uuid.uuid4().hex[:8]}"
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic=topics.PLUGIN, server=name), [old],
        executor="threading")
    server.start()
    yield transport, old, name
    server.stop()
    server.wait()
    transport.cleanup()


def test_falls_back_to_single_calls(bus: tuple[Any, OldServer, str]) -> None:
    transport, old, name = bus
    api = PluginApi(transport, "h1", "lb-h1", timeout=5, server=name)
    answer = api.update_device_list(["tapa", "tapbroken"], ["tapc"])
    assert answer == {"devices_up": ["tapa"], "failed_devices_up": ["tapbroken"],
                      "devices_down": [{"device": "tapc", "exists": True}],
                      "failed_devices_down": []}
    assert api.batch_status is False
    api.update_device_list(["tapd"], [])
    assert old.calls == [("up", "tapa"), ("up", "tapbroken"), ("down", "tapc"),
                         ("up", "tapd")]
