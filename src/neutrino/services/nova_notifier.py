"""Port events to Nova (issue 15): ``POST /os-server-external-events`` as upstream
sends them, so Nova learns when an instance's VIF is plugged or unplugged and when
its network information changed.

* ``notify_nova_on_port_status_changes``: a ``compute:*`` port going DOWN/BUILD ->
  ACTIVE is ``network-vif-plugged`` (``completed``), -> ERROR the same with
  ``failed``; ACTIVE -> DOWN is ``network-vif-unplugged`` (``completed``).
* ``notify_nova_on_port_data_changes``: a ``compute:*`` port whose fixed IPs change
  is ``network-changed``; its delete is ``network-vif-deleted``; a floating IP
  associated to or taken from it is ``network-changed`` for its instance.

Each event is ``{"name", "server_uuid": device_id, "tag": port_id, "status"}``.
Events are gathered and sent in one batch every ``send_events_interval`` seconds by
this object's thread, through a keystoneauth session made from ``[nova]`` (auth
plugin, session and adapter options: ``auth_type``/``auth_url``/..., ``region_name``,
``endpoint_override``...). A batch that fails (connection error, 5xx) is retried
``SEND_RETRIES`` times; Nova's per-event answers (207: 404 for an instance it does
not know) are logged. The API never waits for any of it.

Off unless both a ``[nova] auth_type`` is configured and one of the two options is
on (upstream's defaults are on; without credentials there is nobody to tell).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from oslo_config import cfg
from sqlalchemy import select

from neutrino import events
from neutrino.db import models
from neutrino.services.notifications import daemon

LOG = logging.getLogger(__name__)

NOVA = "nova"  # the configuration group (conf.py registers it)
VIF_PLUGGED = "network-vif-plugged"
VIF_UNPLUGGED = "network-vif-unplugged"
VIF_DELETED = "network-vif-deleted"
CHANGED = "network-changed"
STATUS_OF = {"ACTIVE": "completed", "DOWN": "completed", "ERROR": "failed"}
SEND_RETRIES = 3
MAX_BATCH = 10000
_MAX_PENDING = 10000

def is_compute(port: dict | None) -> bool:
    return bool(port and port.get("device_id")
                and str(port.get("device_owner") or "").startswith("compute:"))


def event(name: str, port: dict, status: str = "completed") -> dict:
    return {"name": name, "server_uuid": port["device_id"], "tag": port["id"],
            "status": status}


def status_event(old: dict | None, new: dict) -> dict | None:
    """The VIF event a status change is, as upstream: None for the others."""
    before, after = (old or {}).get("status"), new.get("status")
    if before == "ACTIVE" and after == "DOWN":
        return event(VIF_UNPLUGGED, new, STATUS_OF["DOWN"])
    if before in ("DOWN", "BUILD") and after in ("ACTIVE", "ERROR"):
        return event(VIF_PLUGGED, new, STATUS_OF[after])
    return None


def _addresses(port: dict | None) -> list:
    return sorted((f.get("subnet_id"), f.get("ip_address"))
                  for f in (port or {}).get("fixed_ips") or [])


class NovaNotifier:
    def __init__(self, conf: cfg.ConfigOpts, db: Any = None) -> None:
        self.conf = conf
        self.db = db
        self.on_status = conf.notify_nova_on_port_status_changes
        self.on_data = conf.notify_nova_on_port_data_changes
        self.enabled = bool(conf.nova.auth_type) and (self.on_status or self.on_data)
        self.interval = conf.send_events_interval
        self._batch: list[dict] = []
        self._lock = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._olds: OrderedDict[str, dict] = OrderedDict()
        self._adapter: Any = None
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    @property
    def backlog(self) -> int:
        with self._lock:
            return len(self._batch)

    # -- wiring -------------------------------------------------------------------

    def subscribe(self, registry: events.Registry) -> NovaNotifier:
        if not self.enabled:
            return self
        registry.subscribe(self._remember_old, "port", events.PRECOMMIT_UPDATE)
        registry.subscribe(self._on_port_update, "port", events.AFTER_UPDATE)
        if self.on_data:
            registry.subscribe(self._remember_deleted, "port", events.PRECOMMIT_DELETE)
            registry.subscribe(self._on_port_delete, "port", events.AFTER_DELETE)
            registry.subscribe(self._on_floatingip, "floatingip", events.AFTER_UPDATE)
            registry.subscribe(self._on_floatingip, "floatingip", events.AFTER_CREATE)
        return self

    def start(self) -> NovaNotifier:
        if self.enabled and self._thread is None:
            self._thread = daemon(self._run, "nova-notifier")
        return self

    def stop(self, timeout: float = 2.0) -> None:
        if self._thread is None:
            return
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._thread.join(timeout)
        self._thread = None

    # -- events -> Nova events ----------------------------------------------------

    def queue(self, item: dict) -> None:
        with self._lock:
            if len(self._batch) >= MAX_BATCH:
                self.dropped += 1
                return
            self._batch.append(item)
            self._lock.notify_all()

    def _keep(self, port_id: str, value: dict) -> None:
        with self._lock:
            self._olds[port_id] = value
            while len(self._olds) > _MAX_PENDING:
                self._olds.popitem(last=False)

    def _take(self, port_id: str) -> dict | None:
        with self._lock:
            return self._olds.pop(port_id, None)

    def _remember_old(self, resource: str, event_: str, payload: events.Payload) -> None:
        """An API update's AFTER_UPDATE carries only the new port: its old one is
        kept from the precommit (no I/O here, a dict)."""
        old = payload.states[0] if payload.states else None
        if old is not None and payload.resource_id:
            self._keep(payload.resource_id, old)

    def _on_port_update(self, resource: str, event_: str, payload: events.Payload) -> None:
        old = payload.states[0] if payload.states else None
        new = payload.states[-1] if payload.states else None
        kept = self._take(payload.resource_id) if payload.resource_id else None
        old = old or kept
        if new is None:
            return
        if self.on_status and is_compute(new):
            found = status_event(old, new)
            if found:
                self.queue(found)
        if self.on_data and is_compute(new) and old is not None \
                and _addresses(old) != _addresses(new):
            self.queue(event(CHANGED, new))

    def _remember_deleted(self, resource: str, event_: str,
                          payload: events.Payload) -> None:
        row = payload.session.execute(select(
            models.Port.device_id, models.Port.device_owner).where(
            models.Port.id == payload.resource_id)).first()
        if row is not None:
            self._keep(f"deleted:{payload.resource_id}", {
                "id": payload.resource_id, "device_id": row[0], "device_owner": row[1]})

    def _on_port_delete(self, resource: str, event_: str, payload: events.Payload) -> None:
        port = self._take(f"deleted:{payload.resource_id}")
        if is_compute(port):
            assert port is not None
            self.queue(event(VIF_DELETED, port))

    def _on_floatingip(self, resource: str, event_: str, payload: events.Payload) -> None:
        """The instances behind the floating IP's old and new port; which they are is
        read on the sending thread, not in the request."""
        old = payload.states[0] if len(payload.states) > 1 else None
        new = payload.states[-1] if payload.states else None
        ports = {p for p in ((old or {}).get("port_id"), (new or {}).get("port_id")) if p}
        if old is not None and new is not None and old.get("port_id") == new.get(
                "port_id"):
            return
        for port_id in ports:
            self.queue({"_port_id": port_id})

    # -- sending ------------------------------------------------------------------

    def _resolve(self, batch: list[dict]) -> list[dict]:
        """Floating IP changes name a port: its instance is read here."""
        out: list[dict] = []
        for item in batch:
            port_id = item.get("_port_id")
            if port_id is None:
                out.append(item)
                continue
            if self.db is None:
                continue
            row = self.db.run(lambda s, pid=port_id: s.execute(select(
                models.Port.device_id, models.Port.device_owner).where(
                models.Port.id == pid)).first(), write=False)
            port = {"id": port_id, "device_id": row[0], "device_owner": row[1]} \
                if row is not None else None
            if is_compute(port):
                assert port is not None
                out.append(event(CHANGED, port))
        return out

    def _nova(self) -> Any:
        if self._adapter is None:
            from keystoneauth1 import loading as ks_loading
            from keystoneauth1 import session as ks_session
            auth = ks_loading.load_auth_from_conf_options(self.conf, NOVA)
            session = ks_loading.load_session_from_conf_options(self.conf, NOVA,
                                                                auth=auth)
            assert isinstance(session, ks_session.Session)
            from keystoneauth1 import adapter
            self._adapter = adapter.Adapter(
                session, service_type="compute", interface=self.conf.nova.endpoint_type,
                region_name=self.conf.nova.region_name,
                endpoint_override=self.conf.nova.endpoint_override)
        return self._adapter

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                if not self._batch:
                    self._lock.wait()
                    continue
            # Gather what else comes in the interval, then send it all at once.
            deadline = time.monotonic() + self.interval
            with self._lock:
                while not self._stopping and time.monotonic() < deadline:
                    self._lock.wait(deadline - time.monotonic())
                batch, self._batch = self._batch, []
            try:
                resolved = self._resolve(batch)
            except Exception:  # noqa: BLE001 - the database may be away; try later
                LOG.exception("nova events: could not read the ports")
                resolved = [b for b in batch if "_port_id" not in b]
            if resolved:
                self._send(resolved)

    def _send(self, batch: list[dict]) -> None:
        for attempt in range(SEND_RETRIES + 1):
            try:
                response = self._nova().post("/os-server-external-events",
                                             json={"events": batch},
                                             raise_exc=False)
            except Exception as error:  # noqa: BLE001 - retried, then logged
                LOG.warning("nova events: %s (attempt %d)", error, attempt + 1)
            else:
                if response.status_code < 500:
                    self._answered(batch, response)
                    return
                LOG.warning("nova events: Nova answered %d (attempt %d)",
                            response.status_code, attempt + 1)
            if attempt == SEND_RETRIES:
                break
            with self._lock:
                if self._stopping:
                    break
                self._lock.wait(min(2 ** attempt * 0.5, 10))
        self.failed += len(batch)
        LOG.error("nova events not sent after %d attempts: %s", SEND_RETRIES + 1, batch)

    def _answered(self, batch: list[dict], response: Any) -> None:
        if response.status_code in (200, 207):
            self.sent += len(batch)
            try:
                answers = response.json().get("events", [])
            except ValueError:
                answers = []
            for answer in answers:
                if answer.get("code", 200) != 200:
                    LOG.info("nova event %s for %s: %s", answer.get("name"),
                             answer.get("server_uuid"), answer.get("code"))
            return
        # 4xx for the whole batch (404: none of the instances exists): not retried.
        self.failed += len(batch)
        LOG.warning("nova events refused (%d): %s", response.status_code, batch)
