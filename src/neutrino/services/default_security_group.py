"""Each project's `default` security group, created on first need.

Upstream's default rules: egress anywhere for IPv4 and IPv6, and ingress from members
of the same group. The primary key of default_security_group (one row per project)
makes two first requests racing to create it fail one insert; that request's
transaction is retried and finds the winner's group.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from neutrino.db import models
from neutrino.services import common

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"


def default_rules(group_id: str) -> list[dict]:
    """(direction, ethertype, remote_group_id) of upstream's default rules."""
    return [
        {"direction": "egress", "ethertype": "IPv4", "remote_group_id": None},
        {"direction": "egress", "ethertype": "IPv6", "remote_group_id": None},
        {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": group_id},
        {"direction": "ingress", "ethertype": "IPv6", "remote_group_id": group_id},
    ]


_FIND_DEFAULT = select(models.DefaultSecurityGroup.security_group_id).where(
    models.DefaultSecurityGroup.project_id == bindparam("project_id"))


def find_default_group(session: Session, project_id: str) -> str | None:
    return session.connection().execute(_FIND_DEFAULT, {"project_id": project_id}).scalar()


def ensure_default_group(session: Session, project_id: str) -> str:
    """The id of the project's default group, creating it (with its rules) if needed."""
    existing = find_default_group(session, project_id)
    if existing is not None:
        return existing
    now = models.utcnow()
    group_id = common.new_id()
    connection = session.connection()
    connection.execute(insert(models.SecurityGroup), {
        "id": group_id, "project_id": project_id, "name": DEFAULT_NAME,
        "description": DEFAULT_DESCRIPTION, "stateful": True, "created_at": now,
        # 1 as upstream: the group is written, then adding its rules bumps it.
        "updated_at": now, "revision_number": 1})
    connection.execute(insert(models.DefaultSecurityGroup),
                       {"project_id": project_id, "security_group_id": group_id})
    connection.execute(insert(models.SecurityGroupRule), [
        dict(rule, id=common.new_id(), project_id=project_id, name="", description="",
             security_group_id=group_id, protocol=None, port_range_min=None,
             port_range_max=None, remote_ip_prefix=None, remote_address_group_id=None,
             created_at=now, updated_at=now, revision_number=0)
        for rule in default_rules(group_id)])
    return group_id
