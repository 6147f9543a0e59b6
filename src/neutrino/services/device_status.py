"""Device status in batches (``update_device_list``): what one L2 agent reports up
and down in one call becomes one transaction of a fixed number of queries, however
many devices the batch holds (a host's first sync reports hundreds).

The outcome per device is what the single calls (``port_binding.set_status``)
give: a device names the port whose id starts that way; only the agent of the host
the port is bound to changes its status; a status already set changes nothing; a
device in both lists ends DOWN (the single calls run ups before downs).

The queries, whatever the batch's size:

1. the ids of the ports bound to ``host`` (indexed by host; a host has hundreds to
   a few thousand), matched to the devices' prefixes in Python;
2. only for devices not matched there (deleted ports, ports moved away): which
   ports their prefixes name, to answer ``exists`` as the single call does;
3. the ports to change, locked for update, and ``to_dicts`` before and after (a
   fixed number of queries for the whole list).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from neutrino import events
from neutrino.contract.l2 import DeviceDown
from neutrino.db import models
from neutrino.db.listing import in_chunks
from neutrino.services import common
from neutrino.services import port_binding as bindings
from neutrino.services.port_binding import StatusChange, ToDicts

LOG = logging.getLogger(__name__)
P = models.Port
PB = models.PortBinding
# What a change of the port's status alone changes besides it.
_STATUS_KEYS = frozenset({"status", "revision_number", "updated_at"})
# Prefixes per OR-ed query for devices not found on the host (rare: deleted ports).
_PREFIXES_PER_QUERY = 200


def status_only(payload: events.Payload) -> bool:
    """A port AFTER_UPDATE whose status alone changed (an agent reported its
    device up or down), for subscribers with little or nothing to do then: the
    notifier (no agent's desired state shows another host's port status: only the
    port's own host is told, on its own queue; this keeps a host's first sync of
    hundreds of ports from waking every agent of the region once per port), port
    forwardings (addresses unchanged), trunks (unless the port is in one)."""
    if len(payload.states) != 2 or not all(payload.states):
        return False
    old, new = payload.states
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    return "status" in changed and changed <= _STATUS_KEYS



@dataclass
class Resolved:
    """Where each device leads: the port bound to the host it stands for (None:
    none such) and whether the single call would answer ``exists``."""

    port_of: dict[str, str | None] = field(default_factory=dict)
    exists: dict[str, bool] = field(default_factory=dict)


@dataclass
class BatchResult:
    devices_up: list[str] = field(default_factory=list)
    devices_down: list[DeviceDown] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)


def _match(prefix: str, ids_by_length: dict[int, dict[str, list[str]]]) -> list[str]:
    return ids_by_length.get(len(prefix), {}).get(prefix, [])


def _index(ids: list[str], lengths: set[int]) -> dict[int, dict[str, list[str]]]:
    """ids grouped by their first n characters, for each prefix length n asked."""
    out: dict[int, dict[str, list[str]]] = {}
    for n in lengths:
        by_prefix: dict[str, list[str]] = defaultdict(list)
        for port_id in ids:
            by_prefix[port_id[:n]].append(port_id)
        out[n] = by_prefix
    return out


def _ports_named(session: Session, prefixes: list[str]) -> list[tuple[str, str | None]]:
    """(port id, bound host) of every port whose id starts with one of `prefixes`."""
    rows: list[tuple[str, str | None]] = []
    for chunk in in_chunks(sorted(set(prefixes)), _PREFIXES_PER_QUERY):
        stmt = (select(P.id, PB.host).outerjoin(PB, PB.port_id == P.id)
                .where(or_(*[P.id.startswith(p, autoescape=True) for p in chunk])))
        rows.extend((r.id, r.host) for r in session.execute(stmt))
    return rows


def resolve(session: Session, devices: list[str], host: str | None) -> Resolved:
    """Each device's port, in at most two queries (plus one per 200 devices that
    name no port of `host`)."""
    out = Resolved()
    prefixes = {d: bindings.device_port_prefix(d) for d in devices}
    named = {d: p for d, p in prefixes.items() if p is not None}
    for device in devices:
        out.port_of[device], out.exists[device] = None, False
    lengths = {len(p) for p in named.values()}
    leftovers = dict(named)
    if host:
        here = list(session.scalars(select(PB.port_id).where(PB.host == host)))
        index = _index(here, lengths)
        for device, prefix in named.items():
            matches = _match(prefix, index)
            if len(matches) == 1:
                out.port_of[device], out.exists[device] = matches[0], True
                del leftovers[device]
            elif len(matches) > 1:
                LOG.warning("device %s matches %d ports; ignored", device, len(matches))
                del leftovers[device]
    if not leftovers:
        return out
    rows = _ports_named(session, list(leftovers.values()))
    index = _index([r[0] for r in rows], lengths)
    bound = dict(rows)
    for device, prefix in leftovers.items():
        matches = _match(prefix, index)
        if len(matches) != 1:
            # None, or several and none bound here: the single call finds none.
            if len(matches) > 1 and host is None:
                LOG.warning("device %s matches %d ports; ignored", device, len(matches))
            continue
        out.exists[device] = True
        if host is None or bound.get(matches[0]) == host:
            out.port_of[device] = matches[0]
        else:
            LOG.debug("device %s (port %s) reported by host %s but bound to %r: "
                      "ignored", device, matches[0], host, bound.get(matches[0]))
    return out


def set_statuses(session: Session, devices_up: list[str], devices_down: list[str],
                 host: str | None, to_dicts: ToDicts) -> BatchResult:
    """Set ACTIVE / DOWN the ports behind the devices, bound to `host` (any host
    when None); a change bumps the port's revision. Runs inside a transaction;
    the changes' events are the caller's to publish after commit."""
    resolved = resolve(session, list(devices_up) + list(devices_down), host)
    wanted: dict[str, str] = {}
    for device in devices_up:
        if (port_id := resolved.port_of.get(device)) is not None:
            wanted[port_id] = bindings.STATUS_ACTIVE
    for device in devices_down:  # after the ups: a device in both ends DOWN
        if (port_id := resolved.port_of.get(device)) is not None:
            wanted[port_id] = bindings.STATUS_DOWN
    result = BatchResult(
        devices_up=list(devices_up),
        devices_down=[{"device": d, "exists": resolved.exists.get(d, False)}
                      for d in devices_down])
    result.changes = _apply(session, wanted, to_dicts)
    return result


def ports_by_id(session: Session, ids: list[str], lock: bool = False) -> list[P]:
    """The ports of `ids` (ORM rows, in id order), locked for update if asked."""
    ports: list[P] = []
    for chunk in in_chunks(sorted(ids), 10000):
        stmt = select(P).where(P.id.in_(chunk)).order_by(P.id)
        ports.extend(session.scalars(stmt.with_for_update() if lock else stmt))
    return ports


def _apply(session: Session, wanted: dict[str, str], to_dicts: ToDicts
           ) -> list[StatusChange]:
    if not wanted:
        return []
    ports = [p for p in ports_by_id(session, list(wanted), lock=True)
             if p.status != wanted[p.id]]
    if not ports:
        return []
    old = to_dicts(session, ports)
    # Only these three change (_STATUS_KEYS): the new dicts are the old ones with
    # them, not a second to_dicts (every extension's queries and the building of
    # hundreds of dicts again: a third of the server's work in a resync storm).
    # Taken as set, before the flush expires them (read after, each would be a
    # query).
    new = []
    for port, before in zip(ports, old, strict=True):
        port.status = wanted[port.id]
        common.bump_revision(port)
        # Written even when equal to the stored second (a port created this very
        # second): every row then has the same columns, one executemany, not one
        # UPDATE per run of rows that differ.
        flag_modified(port, "updated_at")
        new.append(dict(before, status=port.status, revision_number=port.revision_number,
                        updated_at=common.fmt_time(port.updated_at)))
    session.flush()
    return [StatusChange(exists=True, old=o, new=n) for o, n in zip(old, new, strict=True)]
