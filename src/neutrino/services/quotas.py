"""Quotas: per-project limits over registered resources, checked inside the
creating transaction by counting what the project already has, and counted again
exactly at commit (see QuotaService.check)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg
from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.db import models
from neutrino.db.engine import Database


@dataclass(frozen=True)
class QuotaResource:
    name: str
    model: Any          # counted by project_id
    default_option: str  # option name in [quotas]


class QuotaService:
    def __init__(self, conf: cfg.ConfigOpts, db: Database) -> None:
        self.conf = conf
        self.db = db
        self.resources: dict[str, QuotaResource] = {}

    def register(self, name: str, model: Any, default_option: str) -> None:
        self.resources[name] = QuotaResource(name, model, default_option)

    @functools.cache  # noqa: B019 - one statement per resource, for the service's life
    def _limit_and_usage(self, name: str) -> Any:
        """SELECT (the project's limit for `name`), (its count of `name`), built once:
        it runs on every create."""
        model = self.resources[name].model
        project = bindparam("project_id")
        return select(
            select(models.Quota.limit).where(models.Quota.project_id == project,
                                             models.Quota.resource == name)
            .scalar_subquery(),
            select(func.count()).select_from(model).where(model.project_id == project)
            .scalar_subquery())

    def defaults(self) -> dict[str, int]:
        return {name: self._default(r) for name, r in self.resources.items()}

    def _default(self, resource: QuotaResource) -> int:
        group = self.conf.quotas
        if resource.default_option in group:
            return getattr(group, resource.default_option)
        return group.default_quota

    def _limits(self, session: Session, project_id: str) -> dict[str, int]:
        limits = self.defaults()
        for resource, limit in session.execute(
                select(models.Quota.resource, models.Quota.limit)
                .where(models.Quota.project_id == project_id)):
            if resource in limits:
                limits[resource] = limit
        return limits

    def limits(self, project_id: str) -> dict[str, int]:
        return self.db.run(lambda s: self._limits(s, project_id), write=False)

    def _used(self, session: Session, project_id: str, name: str) -> int:
        model = self.resources[name].model
        return session.scalar(select(func.count()).select_from(model)
                              .where(model.project_id == project_id)) or 0

    def details(self, project_id: str) -> dict[str, dict[str, int]]:
        def run(session: Session) -> dict:
            limits = self._limits(session, project_id)
            return {name: {"limit": limit, "used": self._used(session, project_id, name),
                           "reserved": 0} for name, limit in limits.items()}
        return self.db.run(run, write=False)

    def projects_with_quotas(self) -> list[dict]:
        def run(session: Session) -> list[dict]:
            projects = session.scalars(select(models.Quota.project_id).distinct())
            return [dict(self._limits(session, p), project_id=p, tenant_id=p)
                    for p in sorted(projects)]
        return self.db.run(run, write=False)

    def update(self, project_id: str, values: dict[str, Any],
               check_usage: bool = False) -> dict[str, int]:
        """`check_usage` (quota-check-limit): refuse a limit below what the project
        already uses."""
        # Validated like any resource body: the registered resources are its attributes.
        unknown = [k for k in values if k not in self.resources]
        if unknown:
            raise exc.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
        converted = {k: _quota_value(k, v) for k, v in values.items()}

        def run(session: Session) -> dict[str, int]:
            if check_usage:
                self._check_usage(session, project_id, converted)
            for name, limit in converted.items():
                row = session.scalars(select(models.Quota).where(
                    models.Quota.project_id == project_id,
                    models.Quota.resource == name)).first()
                if row is None:
                    session.add(models.Quota(project_id=project_id, resource=name,
                                             limit=limit))
                else:
                    row.limit = limit
            session.flush()
            return self._limits(session, project_id)
        return self.db.run(run)

    def _check_usage(self, session: Session, project_id: str,
                     limits: dict[str, int]) -> None:
        for name, limit in limits.items():
            if limit < 0:  # unlimited is never below the usage
                continue
            used = self._used(session, project_id, name)
            if used > limit:
                raise exc.HTTPBadRequest(
                    f"Quota limit {limit} for {name} must be greater than or equal to "
                    f"already used {used}")

    def reset(self, project_id: str) -> None:
        self.db.run(lambda s: s.execute(
            delete(models.Quota).where(models.Quota.project_id == project_id)))

    def check(self, session: Session, project_id: str | None, name: str,
              delta: int) -> None:
        """Raise OverQuota if the project would go over its limit for `name`.

        Counted twice: here, so a project already at its limit is refused before
        any work; and right before COMMIT, under a lock of (project, resource),
        including what this transaction wrote. Concurrent creates hold that lock only
        for the count and the commit, and each counts the others' committed rows, so
        the limit holds exactly however many transactions are in flight.
        """
        if project_id is None or name not in self.resources:
            return
        limit, used = self._limit_and_used(session, project_id, name)
        if limit < 0:
            return
        if used + delta > limit:
            raise exc.OverQuota(overs=[name])
        self.db.before_commit(session, ("quota", project_id, name),
                              lambda s: self._final_check(s, project_id, name))

    def _limit_and_used(self, session: Session, project_id: str, name: str
                        ) -> tuple[int, int]:
        # One round trip: the project's own limit (if any) and its usage.
        row, used = session.connection().execute(
            self._limit_and_usage(name), {"project_id": project_id}).one()
        return (row if row is not None else self._default(self.resources[name])), used

    def _final_check(self, session: Session, project_id: str, name: str) -> None:
        _serialize(session, project_id, name)
        limit, used = self._limit_and_used(session, project_id, name)
        if 0 <= limit < used:
            raise exc.OverQuota(overs=[name])


def _serialize(session: Session, project_id: str, name: str) -> None:
    """Make concurrent creates of one project's `name` take turns from here to their
    commit (the count after the wait sees the previous one's rows: READ COMMITTED).

    SQLite already serializes writers (BEGIN IMMEDIATE). PostgreSQL: a transaction-
    scoped advisory lock. MariaDB/MySQL: the (project, resource) row of quota_locks
    FOR UPDATE, inserted the first time (concurrent first inserts may deadlock once:
    a retried race).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        key = int.from_bytes(hashlib.blake2b(f"quota:{project_id}:{name}".encode(),
                                             digest_size=8).digest(), "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect == "mysql":
        lock = models.QuotaLock
        locked = select(lock.resource).where(lock.project_id == project_id,
                                             lock.resource == name).with_for_update()
        # READ COMMITTED takes no gap lock: a missing row locks nothing.
        if session.execute(locked).first() is None:
            session.execute(insert(lock).prefix_with("IGNORE").values(
                project_id=project_id, resource=name))
            session.execute(locked)


QUOTA_MAX = 2**31 - 1  # the limit column is a 32-bit INTEGER on every backend


def _quota_value(name: str, value: Any) -> int:
    """An integer in [-1, QUOTA_MAX]; numeric strings ("10") are accepted, as upstream."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    if number is None:
        raise exc.InvalidInput(f"'{value}' is not an integer")
    if number < -1:
        raise exc.HTTPBadRequest(f"Invalid input for {name}. Reason: '{number}' is too "
                                 "small - must be at least '-1'.")
    if number > QUOTA_MAX:
        raise exc.HTTPBadRequest(f"Invalid input for {name}. Reason: '{number}' is too "
                                 f"large - must be no larger than '{QUOTA_MAX}'.")
    return number
