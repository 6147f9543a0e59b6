"""Security groups of ports (securitygroupportbindings) and the
``security_groups=<id>`` list filter (port-security-groups-filtering)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources.port import UNSET
from neutrino.resources.port_security import PORT_SECURITY
from neutrino.resources.port_security_groups import SECURITY_GROUPS
from neutrino.resources.security_group import SecurityGroupNotFound
from neutrino.services import rbac
from neutrino.services.default_security_group import ensure_default_group
from neutrino.services.extensions import FilterBuilder
from neutrino.services.port_security import (
    PortSecurityAndIPRequiredForSecurityGroups,
    PortSecurityPortHasSecurityGroup,
    is_trusted,
)


class SecurityGroupConflict(exc.Conflict):
    message = "Error %(reason)s while attempting the operation."


SGPB = models.SecurityGroupPortBinding
_INSERT_SGPB = insert(SGPB)
SG = models.SecurityGroup


class PortSecurityGroups:

    attribute = "security_groups"
    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        requested = data.get(SECURITY_GROUPS, UNSET)
        given = requested is not UNSET and requested is not None
        if not item[PORT_SECURITY]:
            if given and requested:
                raise PortSecurityAndIPRequiredForSecurityGroups()
            groups: list[str] = []
        elif is_trusted(data.get("device_owner")):
            groups = []
        elif given:
            groups = self._checked(session, ctx, data["project_id"], requested)
        else:
            groups = [ensure_default_group(session, data["project_id"])]
        self._bind(session, item["id"], groups)
        item[SECURITY_GROUPS] = sorted(groups)

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        enabled = item[PORT_SECURITY]
        if SECURITY_GROUPS not in data:
            if not enabled and item[SECURITY_GROUPS]:
                raise PortSecurityPortHasSecurityGroup()
            return
        requested = data[SECURITY_GROUPS] or []
        if requested and not enabled:
            raise PortSecurityAndIPRequiredForSecurityGroups()
        groups = sorted(self._checked(session, ctx, old["project_id"], requested))
        if groups == sorted(old[SECURITY_GROUPS]):
            item[SECURITY_GROUPS] = groups
            return
        session.connection().execute(delete(SGPB).where(SGPB.port_id == item["id"]))
        self._bind(session, item["id"], groups)
        item[SECURITY_GROUPS] = groups

    @staticmethod
    def _checked(session: Session, ctx: Context, project_id: str, requested: list[str]
                 ) -> list[str]:
        """The requested groups, each existing and the port's project's or shared
        with it by an RBAC policy (any group for an administrator)."""
        if not requested:
            return []
        stmt = select(SG.id, SG.project_id, SG.stateful)
        rows = list(rows_for_ids(session, stmt, SG.id, list(requested)))
        found = {group_id: project for group_id, project, _ in rows}
        others = [g for g in requested if g in found and found[g] != project_id]
        shared = rbac.shared_ids(session, "security_group", others, project_id) \
            if others and not ctx.is_admin else set()
        missing = [g for g in requested if g not in found
                   or not (ctx.is_admin or found[g] == project_id or g in shared)]
        if missing:
            raise SecurityGroupNotFound(id=", ".join(missing))
        if len({stateful for _, _, stateful in rows}) > 1:
            raise SecurityGroupConflict(
                reason="Cannot apply both stateful and stateless security groups on the "
                       "same port at the same time.")
        return list(dict.fromkeys(requested))

    @staticmethod
    def _bind(session: Session, port_id: str, groups: list[str]) -> None:
        if groups:
            session.connection().execute(_INSERT_SGPB, [
                {"port_id": port_id, "security_group_id": g} for g in groups])

    def extend(self, session: Session, items: list[dict]) -> None:
        stmt = select(SGPB.port_id, SGPB.security_group_id).order_by(
            SGPB.security_group_id)
        by_port: dict[str, list[str]] = defaultdict(list)
        for port_id, group_id in rows_for_ids(session, stmt, SGPB.port_id,
                                              [i["id"] for i in items]):
            by_port[port_id].append(group_id)
        for item in items:
            item[SECURITY_GROUPS] = by_port.get(item["id"]) or []

    def filters(self) -> dict[str, FilterBuilder]:
        def build(values: list[str]) -> Any:
            ids = select(SGPB.port_id).where(SGPB.security_group_id.in_(values))
            return models.Port.id.in_(ids)
        return {SECURITY_GROUPS: build}
