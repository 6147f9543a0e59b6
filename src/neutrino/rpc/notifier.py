"""Server -> agents notifications (docs/rpc.md "Server -> agents").

Subscribes to the in-process AFTER_* events of networks, subnets, ports, security
groups and their rules, address groups and DHCP scheduling, and casts what changed
(ids and revisions, never the state itself: agents then ask for their desired state).

Sending never holds up an API request: events only enqueue; one background thread
per process casts, with a bounded number of retries, so a broker that is down costs
log lines and dropped notifications (agents' periodic resync closes the gap), never
a slow or failed request. The queue is bounded for the same reason.

Topics: the L2 agents' fanouts (q-agent-notifier-<resource>-<event>) and the DHCP
agents' topic ``dhcp_agent``: resource changes go as fanout (each agent ignores the
networks it does not serve), a network added to or removed from an agent is cast
to that agent's own queue ``dhcp_agent.<host>`` (network_create_end /
network_delete_end), as upstream does.

Fanout exchanges (``<topic>_fanout``) are auto-deleted by RabbitMQ when the last
agent queue bound to them goes (an agent stopped; no L3 agent any more), while
oslo.messaging remembers it declared them: the next cast published to the vanished
exchange gets 404 NOT_FOUND, which closes the channel, and the connection is
dropped and reopened (and the cast retried or lost). So before its first fanout on
a topic the notifier anchors the exchange: a listener of its own on that topic
(`_Sink`, which ignores what it gets) whose fanout queue stays bound while the
process lives. Nothing casts to these topics without a server or fanout, so the
anchor's share of the topic queue never takes a message meant for an agent.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import oslo_messaging
from oslo_config import cfg
from sqlalchemy import select

from neutrino import events
from neutrino.contract import bus as transport
from neutrino.contract import topics
from neutrino.db import models
from neutrino.rpc.coalesce import coalesce
from neutrino.services.device_status import status_only

LOG = logging.getLogger(__name__)

# Casts retried this many times on connection errors before the message is dropped.
CAST_RETRY = 2
QUEUE_SIZE = 10000
# Queued items taken (and merged) at a time by the sending thread.
DRAIN_MAX = 2000
# Deleted ports / subnets whose network and groups were read before the delete.
_MAX_PENDING = 10000


@dataclass(frozen=True)
class Cast:
    topic: str
    method: str
    kwargs: dict
    fanout: bool = True
    server: str | None = None


def port_ref(port: dict) -> dict:
    return {"id": port["id"], "network_id": port.get("network_id"),
            "revision_number": port.get("revision_number"),
            "binding:host_id": port.get("binding:host_id")}


def dhcp_payload(resource: str, item: dict) -> dict:
    """What the DHCP agents get about a created or updated resource."""
    ref = {"id": item["id"], "revision_number": item.get("revision_number")}
    ref["network_id"] = item["id"] if resource == "network" else item.get("network_id")
    return {resource: ref}


class _Pending:
    """What a delete's precommit read (network, groups), for its after-commit
    notification; bounded, since a failed transaction never reaches after-commit."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, value: dict) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > _MAX_PENDING:
                self._items.popitem(last=False)

    def pop(self, key: str) -> dict:
        with self._lock:
            return self._items.pop(key, {})


def _stop_anchor(anchor: Any) -> None:
    try:
        anchor.stop()
        anchor.wait()
    except Exception:  # noqa: BLE001 - the process is exiting anyway
        LOG.debug("stopping a fanout anchor failed", exc_info=True)


class _Sink:
    """The anchor's endpoint: every fanout it receives is dropped (the agents act on
    them; the server only keeps the exchange bound)."""

    target = oslo_messaging.Target(version="1.0")

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("_") or name == "target":
            raise AttributeError(name)
        return self._ignore

    @staticmethod
    def _ignore(context: Any, **kwargs: Any) -> None:
        return None


class Notifier:
    def __init__(self, conf: cfg.ConfigOpts, db: Any = None,
                 rpc_transport: oslo_messaging.Transport | None = None,
                 retry: int = CAST_RETRY) -> None:
        self.conf = conf
        self.db = db  # for address groups: which security groups use them
        self._transport = rpc_transport
        self._own_transport = rpc_transport is None
        self.retry = retry
        self._queue: queue.Queue[Cast | Callable[[], list[Cast]] | threading.Event
                                 | None] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._pending = _Pending()
        self._dropped = 0
        self.sent = 0
        self.coalesced = 0  # casts saved by merging (rpc/coalesce.py)
        self._anchors: dict[str, Any] = {}  # fanout topic -> its anchor (RPC server)

    @property
    def backlog(self) -> int:
        """Casts queued and not sent yet (metrics: the bus queue)."""
        return self._queue.qsize()

    @property
    def dropped(self) -> int:
        return self._dropped

    # -- wiring -------------------------------------------------------------------

    def subscribe(self, registry: events.Registry) -> Notifier:
        for event in (events.AFTER_CREATE, events.AFTER_UPDATE, events.AFTER_DELETE):
            for resource in ("network", "subnet", "port"):
                registry.subscribe(self._on_core, resource, event)
        registry.subscribe(self._remember_port, "port", events.PRECOMMIT_DELETE)
        registry.subscribe(self._remember_subnet, "subnet", events.PRECOMMIT_DELETE)
        registry.subscribe(self._on_group, "security_group", events.AFTER_UPDATE)
        for event in (events.AFTER_CREATE, events.AFTER_UPDATE, events.AFTER_DELETE):
            registry.subscribe(self._on_rule, "security_group_rule", event)
        registry.subscribe(self._on_address_group, "address_group", events.AFTER_UPDATE)
        registry.subscribe(self._on_binding, "dhcp_agent_network", events.AFTER_CREATE)
        registry.subscribe(self._on_binding, "dhcp_agent_network", events.AFTER_DELETE)
        registry.subscribe(self._on_trunk_delete, "trunk", events.AFTER_DELETE)
        return self

    def _on_trunk_delete(self, resource: str, event: str, payload: events.Payload) -> None:
        """A trunk deleted: its parent's agent (the host's own queue) resyncs; its
        sub-ports' agents hear of their release as port updates."""
        parent = payload.metadata.get("parent") or {}
        if parent.get("binding:host_id"):
            self.enqueue(Cast(topics.PORT_UPDATE, "port_update", {"port": port_ref(parent)},
                              fanout=False, server=parent["binding:host_id"]))

    def start(self, rpc_transport: oslo_messaging.Transport | None = None) -> Notifier:
        """Start sending; `rpc_transport`: the RPC servers' one, when the in-process
        bus (fake://) needs the notifier to share it (else its own, made lazily)."""
        if rpc_transport is not None:
            self._transport, self._own_transport = rpc_transport, False
        self._thread = threading.Thread(target=self._run, name="rpc-notifier", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        if self._thread is None:
            return
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            # Stuck on a broker that is down: what is queued is lost (agents resync);
            # the daemon thread dies with the process.
            LOG.warning("notifier stopped with %d notification(s) unsent",
                        self._queue.qsize())
            return
        # In parallel: each stop() waits for its listener's poll to end (up to about
        # 5 s); one after another held a worker's exit 7 s.
        stoppers = [threading.Thread(target=_stop_anchor, args=(anchor,), daemon=True)
                    for anchor in self._anchors.values()]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        self._anchors.clear()
        if self._own_transport and self._transport is not None:
            closer = threading.Thread(target=self._transport.cleanup, daemon=True)
            closer.start()
            closer.join(1.0)  # the process is exiting: do not hold it up

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued was handled (tests, shutdown)."""
        done = threading.Event()
        self.enqueue(done)
        return done.wait(timeout)

    # -- events -> casts ----------------------------------------------------------

    def enqueue(self, item: Cast | Callable[[], list[Cast]] | threading.Event) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                LOG.warning("notification queue full (broker down?): %d dropped; agents "
                            "catch up at their next resync", self._dropped)

    def _fanout(self, topic: str, method: str, **kwargs: Any) -> None:
        self.enqueue(Cast(topic, method, kwargs))

    def _dhcp(self, method: str, payload: dict) -> None:
        self._fanout(topics.DHCP_AGENT, method, payload=payload)

    def _remember_port(self, resource: str, event: str, payload: events.Payload) -> None:
        session = payload.session
        network_id = session.scalar(select(models.Port.network_id).where(
            models.Port.id == payload.resource_id))
        groups = list(session.scalars(select(
            models.SecurityGroupPortBinding.security_group_id).where(
            models.SecurityGroupPortBinding.port_id == payload.resource_id)))
        self._pending.put(payload.resource_id, {"network_id": network_id,
                                                "security_groups": groups})

    def _remember_subnet(self, resource: str, event: str, payload: events.Payload) -> None:
        network_id = payload.session.scalar(select(models.Subnet.network_id).where(
            models.Subnet.id == payload.resource_id))
        self._pending.put(payload.resource_id, {"network_id": network_id})

    def _on_core(self, resource: str, event: str, payload: events.Payload) -> None:
        item = payload.states[-1] if payload.states else None
        action = {events.AFTER_CREATE: "create", events.AFTER_UPDATE: "update",
                  events.AFTER_DELETE: "delete"}[event]
        if event == events.AFTER_DELETE:
            self._on_delete(resource, payload.resource_id)
            return
        if item is None:
            return
        if resource == "port" and event == events.AFTER_UPDATE and status_only(payload):
            # Only the agent of the port's host hears of it (its own queue, not the
            # fanout), to see the status it reported in its next desired state.
            if item.get("binding:host_id"):
                self.enqueue(Cast(topics.PORT_UPDATE, "port_update",
                                  {"port": port_ref(item)}, fanout=False,
                                  server=item["binding:host_id"]))
            return
        self._dhcp(f"{resource}_{action}_end", dhcp_payload(resource, item))
        if resource == "port":
            if event == events.AFTER_UPDATE:
                self._fanout(topics.PORT_UPDATE, "port_update", port=port_ref(item))
            if item.get("security_groups"):
                self._fanout(topics.SECURITY_GROUP_UPDATE, "security_groups_member_updated",
                             security_groups=sorted(item["security_groups"]))
        elif resource == "network" and event == events.AFTER_UPDATE:
            self._fanout(topics.NETWORK_UPDATE, "network_update",
                         network={"id": item["id"],
                                  "revision_number": item.get("revision_number")})

    def _on_delete(self, resource: str, resource_id: str) -> None:
        if resource == "network":
            self._fanout(topics.NETWORK_DELETE, "network_delete", network_id=resource_id)
            self._dhcp("network_delete_end", {"network_id": resource_id})
            return
        known = self._pending.pop(resource_id)
        network_id = known.get("network_id")
        if resource == "subnet":
            self._dhcp("subnet_delete_end", {"subnet_id": resource_id,
                                             "network_id": network_id})
            return
        self._fanout(topics.PORT_DELETE, "port_delete", port_id=resource_id,
                     network_id=network_id)
        self._dhcp("port_delete_end", {"port_id": resource_id, "network_id": network_id})
        if known.get("security_groups"):
            self._fanout(topics.SECURITY_GROUP_UPDATE, "security_groups_member_updated",
                         security_groups=sorted(known["security_groups"]))

    def _on_group(self, resource: str, event: str, payload: events.Payload) -> None:
        self._fanout(topics.SECURITY_GROUP_UPDATE, "security_groups_rule_updated",
                     security_groups=[payload.resource_id])

    def _on_rule(self, resource: str, event: str, payload: events.Payload) -> None:
        group_id = payload.metadata.get("security_group_id")
        if group_id is None and payload.states and payload.states[-1]:
            group_id = payload.states[-1].get("security_group_id")
        if group_id:
            self._fanout(topics.SECURITY_GROUP_UPDATE, "security_groups_rule_updated",
                         security_groups=[group_id])

    def _on_address_group(self, resource: str, event: str, payload: events.Payload
                          ) -> None:
        """The groups whose rules use the address group must refresh their rules;
        which ones is read in the sending thread, not in the request."""
        if self.db is None:
            return
        group_id = payload.resource_id

        def casts() -> list[Cast]:
            rule = models.SecurityGroupRule
            groups = sorted(set(self.db.run(lambda s: list(s.scalars(
                select(rule.security_group_id).where(
                    rule.remote_address_group_id == group_id))), write=False)))
            if not groups:
                return []
            return [Cast(topics.SECURITY_GROUP_UPDATE, "security_groups_rule_updated",
                         {"security_groups": groups})]
        self.enqueue(casts)

    def _on_binding(self, resource: str, event: str, payload: events.Payload) -> None:
        meta = payload.metadata
        network_id = meta["network_id"]
        if event == events.AFTER_CREATE:
            method, body = "network_create_end", {"network": {"id": network_id}}
        else:
            method, body = "network_delete_end", {"network_id": network_id}
        self.enqueue(Cast(topics.DHCP_AGENT, method, {"payload": body}, fanout=False,
                          server=meta["host"]))

    # -- sending ------------------------------------------------------------------

    def _rpc_client(self) -> Any:
        if self._client is None:
            if self._transport is None:
                self._transport = transport.get_transport(self.conf)
            target = oslo_messaging.Target(topic=topics.DHCP_AGENT, version="1.0")
            self._client = oslo_messaging.get_rpc_client(self._transport, target)
        return self._client

    def _run(self) -> None:
        """Send what is queued, a drained batch at a time, merged (rpc/coalesce.py):
        a storm of changes costs each agent a few messages, not one per change."""
        while True:
            items = [self._queue.get()]
            while len(items) < DRAIN_MAX:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch: list[Cast] = []
            for item in items:
                if item is None:
                    self._send_all(batch)
                    return
                if isinstance(item, threading.Event):  # flush(): all before it sent
                    self._send_all(batch)
                    batch = []
                    item.set()
                    continue
                try:
                    batch.extend(item() if callable(item) else [item])
                except Exception:  # noqa: BLE001 - one failure must not stop the sender
                    LOG.exception("notification could not be prepared")
            self._send_all(batch)

    def _send_all(self, batch: list[Cast]) -> None:
        merged = coalesce(batch)
        self.coalesced += len(batch) - len(merged)
        for cast in merged:
            self._send(cast)

    def _anchor(self, topic: str) -> None:
        """Keep `topic`'s fanout exchange bound while this process lives (see the
        module's docstring); once per topic, not on the in-process bus."""
        if topic in self._anchors or transport.is_in_process(self.conf):
            return
        target = oslo_messaging.Target(topic=topic,
                                       server=f"neutrino-anchor-{uuid.uuid4().hex}")
        try:
            anchor = oslo_messaging.get_rpc_server(self._transport, target, [_Sink()],
                                                   executor="threading")
            anchor.start()
        except Exception as error:  # noqa: BLE001 - the cast is still tried
            LOG.warning("fanout exchange of %s not anchored: %s", topic, error)
            return
        self._anchors[topic] = anchor

    def _send(self, cast: Cast) -> None:
        try:
            if cast.fanout:
                self._rpc_client()  # makes the transport
                self._anchor(cast.topic)
            client = self._rpc_client().prepare(
                topic=cast.topic, fanout=cast.fanout, server=cast.server,
                retry=self.retry)
            client.cast({}, cast.method, **cast.kwargs)
            self.sent += 1
        except Exception as error:  # noqa: BLE001 - logged; agents resync later
            LOG.warning("notification %s on %s%s not sent: %s", cast.method, cast.topic,
                        f".{cast.server}" if cast.server else "", error)
