"""The agents' side of the bus: calls to the server (q-plugin) and the listener
for the server's fanout notifications (q-agent-notifier-*, docs/rpc.md)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, overload

import oslo_messaging

from neutrino.agent.common.reconnect import ReconnectWatch
from neutrino.contract import topics
from neutrino.contract.dhcp import DhcpState
from neutrino.contract.kinds import DesiredState, Kind
from neutrino.contract.l2 import DeviceDetails, DeviceDown, DeviceList, L2State
from neutrino.contract.l3 import L3State

LOG = logging.getLogger(__name__)

# The fanout topics an L2 agent listens on: any message on them means "something
# this host may realise changed", so the agent resyncs.
L2_NOTIFICATION_TOPICS = (topics.PORT_UPDATE, topics.PORT_DELETE, topics.NETWORK_UPDATE,
                          topics.NETWORK_DELETE, topics.SECURITY_GROUP_UPDATE)


class PluginApi:
    """The agent's calls on q-plugin."""

    def __init__(self, transport: oslo_messaging.Transport, host: str, agent_id: str,
                 timeout: float | None = None, server: str | None = None) -> None:
        self.host = host
        self.agent_id = agent_id
        target = oslo_messaging.Target(topic=topics.PLUGIN, version="1.0")
        client = oslo_messaging.get_rpc_client(transport, target, timeout=timeout)
        # `server`: one server's own queue (tests sharing a broker with others).
        # oslo.messaging is untyped: what a call answers is declared by each method
        # from neutrino.contract.
        self.client: Any = client.prepare(server=server) if server else client
        # Cleared when the server answers that it has no update_device_list (a
        # server from before it): then one call per device, as before.
        self.batch_status = True

    @overload
    def get_desired_state(self, kind: Literal["l2"]) -> L2State: ...
    @overload
    def get_desired_state(self, kind: Literal["dhcp"]) -> DhcpState: ...
    @overload
    def get_desired_state(self, kind: Literal["l3"]) -> L3State: ...

    def get_desired_state(self, kind: Kind) -> DesiredState:
        state: DesiredState = self.client.call({}, "get_desired_state", host=self.host,
                                               kind=kind)
        return state

    def get_devices_details_list(self, devices: list[str]) -> list[DeviceDetails]:
        details: list[DeviceDetails] = self.client.call(
            {}, "get_devices_details_list", devices=devices, agent_id=self.agent_id,
            host=self.host)
        return details

    def update_device_up(self, device: str) -> None:
        self.client.call({}, "update_device_up", device=device, agent_id=self.agent_id,
                         host=self.host)

    def update_device_down(self, device: str) -> DeviceDown:
        answer: DeviceDown = self.client.call({}, "update_device_down", device=device,
                                              agent_id=self.agent_id, host=self.host)
        return answer

    def update_device_list(self, devices_up: list[str], devices_down: list[str]
                           ) -> DeviceList:
        """Every status change of a sync in one call (one transaction on the
        server); one call per device when the server is older than the batch."""
        if self.batch_status:
            try:
                answer: DeviceList = self.client.call(
                    {}, "update_device_list", devices_up=devices_up,
                    devices_down=devices_down, agent_id=self.agent_id, host=self.host)
                return answer
            except (oslo_messaging.RemoteError, oslo_messaging.NoSuchMethod) as error:
                # RabbitMQ names the server's exception; the in-process bus raises it.
                if (isinstance(error, oslo_messaging.RemoteError)
                        and error.exc_type != "NoSuchMethod"):
                    raise
                LOG.info("the server has no update_device_list: one call per device")
                self.batch_status = False
        return self._one_by_one(devices_up, devices_down)

    def _one_by_one(self, devices_up: list[str], devices_down: list[str]) -> DeviceList:
        answer: DeviceList = {"devices_up": [], "failed_devices_up": [],
                              "devices_down": [], "failed_devices_down": []}
        for device in devices_up:
            try:
                self.update_device_up(device)
                answer["devices_up"].append(device)
            except Exception as error:  # noqa: BLE001 - reported as failed
                LOG.warning("reporting %s up failed: %s", device, error)
                answer["failed_devices_up"].append(device)
        for device in devices_down:
            try:
                answer["devices_down"].append(self.update_device_down(device))
            except Exception as error:  # noqa: BLE001 - reported as failed
                LOG.warning("reporting %s down failed: %s", device, error)
                answer["failed_devices_down"].append(device)
        return answer


class Trigger(Protocol):
    """AgentLoop.trigger: a resync soon; `urgent` also cuts a failed sync's back-off."""

    def __call__(self, reason: str, urgent: bool = False) -> None: ...


class NotificationEndpoint:
    """Answers every notification method by calling `trigger(reason)`: the message
    itself is not trusted to carry the state (principle 4, level-triggered)."""

    target = oslo_messaging.Target(version="1.9")

    def __init__(self, trigger: Callable[[str], None],
                 wants: Callable[[str, dict[str, Any]], bool] | None = None) -> None:
        """`wants(method, kwargs)`, when given, filters out notifications that
        cannot concern this agent (agent/common/interest.py)."""
        self._trigger = trigger
        self._wants = wants

    def __getattr__(self, method: str) -> Callable[..., None]:
        # Private names and oslo.messaging's reserved ones are not notifications.
        if method.startswith(("_", "oslo_")):
            raise AttributeError(method)

        def notified(context: Any, **kwargs: Any) -> None:
            if self._wants is not None and not self._wants(method, kwargs):
                LOG.debug("notification %s %s: not about this host", method, kwargs)
                return
            LOG.debug("notification %s %s", method, kwargs)
            self._trigger(f"notification {method}")
        return notified


class NotificationListener:
    """Consumes the fanout topics (each agent gets its own copy of every message).
    What is cast while the agent is cut off from the broker is lost: when a
    connection comes back, it triggers a resync too (reconnect.py)."""

    def __init__(self, transport: oslo_messaging.Transport, host: str,
                 trigger: Trigger,
                 topic_names: Sequence[str] = L2_NOTIFICATION_TOPICS,
                 wants: Callable[[str, dict[str, Any]], bool] | None = None) -> None:
        self.transport = transport
        self.host = host
        self.topic_names = list(topic_names)
        self.endpoint = NotificationEndpoint(trigger, wants)
        # Urgent: the server is likely back too, a failed sync need not wait out
        # its back-off.
        self.reconnects = ReconnectWatch(lambda: trigger("bus reconnected", urgent=True))
        self.servers: list[Any] = []

    def start(self) -> NotificationListener:
        self.reconnects.start()
        for topic in self.topic_names:
            target = oslo_messaging.Target(topic=topic, server=self.host)
            server = oslo_messaging.get_rpc_server(self.transport, target, [self.endpoint])
            server.start()
            self.servers.append(server)
        return self

    def stop(self) -> None:
        self.reconnects.stop()
        stop_servers(self.servers)
        self.servers.clear()


def stop_servers(servers: Sequence[Any]) -> None:
    """Stop oslo.messaging servers, in parallel: on RabbitMQ each stop() waits for its
    listener's poll to end (up to about 5 s); one after another, an agent on five
    topics took 13 s and more to exit after SIGTERM."""

    def stop_one(server: Any) -> None:
        try:
            server.stop()
            server.wait()
        except Exception:  # noqa: BLE001 - best effort at exit
            LOG.debug("notification listener stop failed", exc_info=True)

    threads = [threading.Thread(target=stop_one, args=(server,), daemon=True)
               for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
