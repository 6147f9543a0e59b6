"""Port binding (ml2_port_bindings): the `binding:*` attributes of ports, binding
through the MechanismManager inside the port's create/update transaction, and the
port status changes the L2 agents report.

Every port created here gets a binding row; ports created before have none and
read as unbound. A port is (re)bound when its host, vnic_type or profile changes,
and whenever it is updated while its binding failed (an agent may have appeared
since); binding or unbinding puts the port back to DOWN until its agent reports
the device up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.contract import names
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.ml2.mechanism import Binding, MechanismManager
from neutrino.resources import port_binding as pb
from neutrino.services import common
from neutrino.services.extensions import FilterBuilder

LOG = logging.getLogger(__name__)
PB = models.PortBinding
P = models.Port

STATUS_ACTIVE = "ACTIVE"
STATUS_BUILD = "BUILD"
STATUS_DOWN = "DOWN"


@dataclass(frozen=True)
class BindingRow:
    host: str = ""
    vnic_type: str = pb.VNIC_NORMAL
    profile: dict | None = None
    vif_type: str = pb.VIF_TYPE_UNBOUND
    vif_details: dict | None = None
    segment_id: str | None = None
    driver: str | None = None

    def to_api(self) -> dict:
        return {pb.HOST_ID: self.host, pb.VNIC_TYPE: self.vnic_type,
                pb.PROFILE: dict(self.profile or {}), pb.VIF_TYPE: self.vif_type,
                pb.VIF_DETAILS: dict(self.vif_details or {})}


UNBOUND = BindingRow()


def _loads(text: str | None) -> dict:
    if not text or text == "{}":  # most profiles and unbound ports: no parse
        return {}
    try:
        value = orjson.loads(text)  # lists read two of these per port
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _dumps(value: dict) -> str:
    return json.dumps(value, sort_keys=True)


_COLUMNS = (PB.port_id, PB.host, PB.vnic_type, PB.profile, PB.vif_type, PB.vif_details,
            PB.segment_id, PB.driver)
_INSERT = insert(PB)
_UPDATE = update(PB).where(PB.port_id == bindparam("b_port_id"))


def load_bindings(session: Session, port_ids: list[str]) -> dict[str, BindingRow]:
    out = {}
    for port_id, host, vnic, profile, vif_type, details, segment_id, driver in \
            rows_for_ids(session, select(*_COLUMNS), PB.port_id, port_ids):
        out[port_id] = BindingRow(host, vnic, _loads(profile), vif_type, _loads(details),
                                  segment_id, driver)
    return out


def _values(host: str, vnic_type: str, profile: dict, binding: Binding | None) -> dict:
    if binding is None:  # no host: unbound
        binding = Binding(pb.VIF_TYPE_UNBOUND, {}, None, None)
    return {"host": host, "vnic_type": vnic_type, "profile": _dumps(profile),
            "vif_type": binding.vif_type, "vif_details": _dumps(binding.vif_details),
            "segment_id": binding.segment_id, "driver": binding.driver}


def _as_row(values: dict) -> BindingRow:
    return BindingRow(values["host"], values["vnic_type"], _loads(values["profile"]),
                      values["vif_type"], _loads(values["vif_details"]),
                      values["segment_id"], values["driver"])


class PortBindings:
    """The port extension for the binding:* attributes."""

    attribute = pb.HOST_ID
    attributes = pb.ATTRIBUTES

    def __init__(self, mechanisms: MechanismManager) -> None:
        self.mechanisms = mechanisms

    def _bind(self, session: Session, port: dict, host: str, vnic_type: str,
              profile: dict) -> Binding | None:
        if not host:
            return None
        return self.mechanisms.bind(session, port["id"], port["network_id"], host,
                                    vnic_type, profile)

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        host = data.get(pb.HOST_ID) or ""
        vnic_type = data.get(pb.VNIC_TYPE) or pb.VNIC_NORMAL
        profile = dict(data.get(pb.PROFILE) or {})
        values = _values(host, vnic_type, profile,
                         self._bind(session, item, host, vnic_type, profile))
        session.connection().execute(_INSERT, dict(values, port_id=item["id"]))
        item.update(_as_row(values).to_api())

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        current = load_bindings(session, [item["id"]]).get(item["id"])
        state = current or UNBOUND
        host = data.get(pb.HOST_ID, state.host)
        vnic_type = data.get(pb.VNIC_TYPE, state.vnic_type)
        profile = data.get(pb.PROFILE, state.profile or {})
        changed = (host, vnic_type, profile) != (state.host, state.vnic_type,
                                                 state.profile or {})
        retry = bool(host) and state.vif_type in (pb.VIF_TYPE_BINDING_FAILED,
                                                  pb.VIF_TYPE_UNBOUND)
        if not (changed or retry):
            return
        values = _values(host, vnic_type, profile,
                         self._bind(session, item, host, vnic_type, profile))
        row = _as_row(values)
        if row == state and current is not None:
            return  # a retry that failed again: nothing changes
        self._store(session, item["id"], values, exists=current is not None)
        item.update(row.to_api())
        if item.get("status") != STATUS_DOWN:
            # A new binding (or none) waits for its agent to report the device up.
            port = session.get(P, item["id"])
            if port is not None:
                port.status = STATUS_DOWN
            item["status"] = STATUS_DOWN

    @staticmethod
    def _store(session: Session, port_id: str, values: dict, exists: bool) -> None:
        connection = session.connection()
        if exists:
            connection.execute(_UPDATE, dict(values, b_port_id=port_id))
        else:
            connection.execute(_INSERT, dict(values, port_id=port_id))

    def extend(self, session: Session, items: list[dict]) -> None:
        bindings = load_bindings(session, [i["id"] for i in items])
        for item in items:
            item.update(bindings.get(item["id"], UNBOUND).to_api())

    def filters(self) -> dict[str, FilterBuilder]:
        def build(column: Any, default: str) -> FilterBuilder:
            def clause(values: list[str]) -> Any:
                matching = P.id.in_(select(PB.port_id).where(column.in_(values)))
                if default in values:
                    # Ports created before bindings existed have no row: unbound.
                    return or_(matching, P.id.not_in(select(PB.port_id)))
                return matching
            return clause
        return {pb.HOST_ID: build(PB.host, UNBOUND.host),
                pb.VNIC_TYPE: build(PB.vnic_type, UNBOUND.vnic_type),
                pb.VIF_TYPE: build(PB.vif_type, UNBOUND.vif_type)}


# -- what the L2 agents report ----------------------------------------------------

# The port id (or its prefix) a device name stands for: "tap<id[:11]>", "ns-…",
# "qr-…", "qg-…" or a whole port id; None when it cannot be one.
device_port_prefix = names.port_id_prefix


def find_port(session: Session, device: str, host: str | None = None) -> P | None:
    """The port a device stands for, locked for update. Several ports sharing an id
    prefix (rare): the one bound to `host`, else none (ambiguous)."""
    prefix = device_port_prefix(device)
    if prefix is None:
        return None
    if len(prefix) == 36:
        return session.get(P, prefix, with_for_update=True)
    rows = session.scalars(select(P).where(P.id.startswith(prefix, autoescape=True))
                           .with_for_update()).all()
    if len(rows) > 1 and host:
        bound = load_bindings(session, [r.id for r in rows])
        rows = [r for r in rows if bound.get(r.id, UNBOUND).host == host]
    if len(rows) != 1:
        if rows:
            LOG.warning("device %s matches %d ports; ignored", device, len(rows))
        return None
    return rows[0]


@dataclass
class StatusChange:
    exists: bool
    old: dict | None = None
    new: dict | None = None


ToDicts = Callable[[Session, list[Any]], list[dict]]


def set_status(session: Session, device: str, host: str | None, status: str,
               to_dicts: ToDicts) -> StatusChange:
    """Set the status of the port behind `device` when it is bound to `host` (any
    host when None); a change bumps its revision. Runs inside a transaction."""
    port = find_port(session, device, host)
    if port is None:
        return StatusChange(exists=False)
    binding = load_bindings(session, [port.id]).get(port.id, UNBOUND)
    if host and binding.host != host:
        LOG.debug("device %s (port %s) reported by host %s but bound to %r: ignored",
                  device, port.id, host, binding.host)
        return StatusChange(exists=True)
    if port.status == status:
        return StatusChange(exists=True)
    old = to_dicts(session, [port])[0]
    port.status = status
    common.bump_revision(port)
    session.flush()
    return StatusChange(exists=True, old=old, new=to_dicts(session, [port])[0])


def publish_status(registry: events.Registry, ctx: Context, change: StatusChange) -> None:
    """After commit: the port's AFTER_UPDATE, as for an update through the API."""
    if change.new is not None:
        registry.publish("port", events.AFTER_UPDATE,
                         events.Payload(ctx, change.new["id"], states=(change.old,
                                                                       change.new)))


def retry_binding(bindings: PortBindings, session: Session, ctx: Context, port: P,
                  to_dicts: ToDicts) -> StatusChange:
    """Bind again a port whose binding failed (its agent may have come up since);
    a new binding bumps the port's revision. Runs inside a transaction."""
    old = to_dicts(session, [port])[0]
    new = dict(old)
    bindings.update(session, ctx, {}, old, new)
    if all(new.get(a) == old.get(a) for a in pb.ATTRIBUTES):
        return StatusChange(exists=True)
    common.bump_revision(port)
    session.flush()
    return StatusChange(exists=True, old=old, new=to_dicts(session, [port])[0])
