"""The security-group logging part of the "l2" desired state (issue 14): on each
port, the enabled logs that cover it (contract/l2.py `PortLog`).

A log covers a port as upstream decides which ports a log applies to: the port it
names as ``target_id``; else the members of the security group it names as
``resource_id``; else (neither) every port of its project. Only enabled
``security_group`` logs count. Upstream logs only a named group's rules when a log
names both a port and a group; here a log covers its port's whole firewall (the
agent logs per port, not per rule: docs/agents.md).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, or_, select
from sqlalchemy.orm import Session, aliased

from neutrino.contract.l2 import L2Port, PortLog
from neutrino.db import models
from neutrino.resources import log as lr

G = models.Log
P = models.Port
PB = models.PortBinding
SGB = models.SecurityGroupPortBinding


@dataclass(frozen=True)
class LogRef:
    id: str
    project_id: str
    resource_id: str | None
    target_id: str | None
    event: str


def covers(log: LogRef, port_id: str, project_id: str, groups: Iterable[str]) -> bool:
    """Whether `log` applies to the port (its id, project and security groups)."""
    if log.target_id:
        return log.target_id == port_id
    if log.resource_id:
        return log.resource_id in groups
    return log.project_id == project_id


def port_logs(logs: Iterable[LogRef], port: L2Port, project_id: str) -> list[PortLog]:
    """The logs of `logs` covering `port`, by id."""
    return [{"id": log.id, "project_id": log.project_id, "event": log.event}
            for log in sorted(logs, key=lambda log: log.id)
            if covers(log, port["id"], project_id, port["security_groups"])]


@functools.cache
def _candidates_stmt() -> Select[Any]:
    """Made once: the same statement for every host (a bind parameter)."""
    host = bindparam("host", type_=String)
    binding, port, group = aliased(PB), aliased(P), aliased(SGB)
    ports = select(binding.port_id).where(binding.host == host)
    groups = (select(group.security_group_id)
              .join(binding, binding.port_id == group.port_id).where(binding.host == host))
    projects = (select(port.project_id).join(binding, binding.port_id == port.id)
                .where(binding.host == host))
    return select(G.id, G.project_id, G.resource_id, G.target_id, G.event).where(
        G.enabled.is_(True), G.resource_type == lr.SECURITY_GROUP,
        or_(G.target_id.in_(ports),
            and_(G.target_id.is_(None), G.resource_id.in_(groups)),
            and_(G.target_id.is_(None), G.resource_id.is_(None),
                 G.project_id.in_(projects))))


def candidates(session: Session, host: str) -> list[LogRef]:
    """The enabled security-group logs that may cover one of the ports bound to
    `host` (by port, by one of their groups or by their project), by id, in one
    query whatever the number of ports; l2.py asks `covers` for each port."""
    rows = session.connection().execute(_candidates_stmt(), {"host": host}).all()
    return sorted((LogRef(*row) for row in rows), key=lambda log: log.id)
