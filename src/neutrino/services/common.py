"""Helpers every resource service shares: standard attributes, revisions, tags."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.db import models
from neutrino.db.listing import rows_for_ids

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Called inside a create's transaction with (data, policy target); raises to refuse.
Authorize = Callable[[dict, dict], None]


def allow_all(data: dict, target: dict) -> None:
    """The authorizer of internal callers, which act with the server's authority."""


def new_id() -> str:
    return str(uuid.uuid4())


def fmt_time(value: dt.datetime | None) -> str | None:
    # isoformat is several times faster than strftime; stored times have no
    # microseconds or zone (UTC), so this is "YYYY-MM-DDTHH:MM:SSZ".
    if value is None:
        return None
    if value.microsecond:
        value = value.replace(microsecond=0)
    return value.isoformat() + "Z"


def standard_dict(row: Any, tags: list[str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "project_id": row.project_id,
        "tenant_id": row.project_id,
        "tags": tags,
        "created_at": fmt_time(row.created_at),
        "updated_at": fmt_time(row.updated_at),
        "revision_number": row.revision_number,
    }


def bump_revision(obj: Any) -> None:
    obj.revision_number = (obj.revision_number or 0) + 1
    obj.updated_at = models.utcnow()


def check_revision(obj: Any, expected: int | None) -> None:
    """`If-Match: revision_number=N` -> 412 when the stored revision differs."""
    if expected is not None and obj.revision_number != expected:
        raise exc.RevisionNumberConstraintFailed(expected=expected,
                                                 current=obj.revision_number)


def apply_standard(obj: Any, data: dict[str, Any]) -> None:
    for key in ("name", "description"):
        if key in data:
            setattr(obj, key, data[key])


def load_tags(session: Session, ids: list[str]) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = defaultdict(list)
    stmt = select(models.Tag.resource_id, models.Tag.tag).order_by(models.Tag.tag)
    for resource_id, tag in rows_for_ids(session, stmt, models.Tag.resource_id, ids):
        tags[resource_id].append(tag)
    return tags


def set_tags(session: Session, resource_type: str, resource_id: str,
             tags: list[str]) -> None:
    session.execute(delete(models.Tag).where(models.Tag.resource_id == resource_id))
    for tag in sorted(set(tags)):
        session.add(models.Tag(resource_id=resource_id, tag=tag,
                               resource_type=resource_type))


def delete_tags(session: Session, resource_id: str) -> None:
    session.execute(delete(models.Tag).where(models.Tag.resource_id == resource_id))


def create_all(deps: Any, resource: str, ctx: Any, items: list[dict],
               create_one: Callable[[Session, dict], Any],
               to_dicts: Callable[[Session, list[Any]], list[dict]]) -> list[dict]:
    """Create every item in one transaction (a bulk is all or nothing), then tell
    subscribers about each, after commit."""
    def run(session: Session) -> list[dict]:
        rows = [create_one(session, data) for data in items]
        session.flush()
        return to_dicts(session, rows)
    result = deps.db.run(run)
    for item in result:
        deps.events.publish(resource, events.AFTER_CREATE,
                            events.Payload(ctx, item["id"], states=(item,)))
    return result
