"""Each project's `default` security group, created on first need.

Its rules come from the templates (services/default_security_group_rules); seeded
with upstream's: egress anywhere for IPv4 and IPv6, and ingress from members of the
same group. The primary key of default_security_group (one row per project)
makes two first requests racing to create it fail one insert; that request's
transaction is retried and finds the winner's group.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from neutrino.db import models
from neutrino.services import common
from neutrino.services.default_security_group_rules import (
    default_stateful,
    rules_for_new_group,
)

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"


_FIND_DEFAULT = select(models.DefaultSecurityGroup.security_group_id).where(
    models.DefaultSecurityGroup.project_id == bindparam("project_id"))


def find_default_group(session: Session, project_id: str) -> str | None:
    return session.connection().execute(_FIND_DEFAULT, {"project_id": project_id}).scalar()


def ensure_default_group(session: Session, project_id: str) -> str:
    """The id of the project's default group, creating it (with its rules, from the
    templates for default groups) if needed."""
    existing = find_default_group(session, project_id)
    if existing is not None:
        return existing
    now = models.utcnow()
    group_id = common.new_id()
    connection = session.connection()
    connection.execute(insert(models.SecurityGroup), {
        "id": group_id, "project_id": project_id, "name": DEFAULT_NAME,
        "description": DEFAULT_DESCRIPTION,
        "stateful": default_stateful(session, project_id), "created_at": now,
        # 1 as upstream: the group is written, then adding its rules bumps it.
        "updated_at": now, "revision_number": 1})
    connection.execute(insert(models.DefaultSecurityGroup),
                       {"project_id": project_id, "security_group_id": group_id})
    rules = rules_for_new_group(session, group_id, project_id, True, now)
    if rules:
        connection.execute(insert(models.SecurityGroupRule), rules)
    return group_id
