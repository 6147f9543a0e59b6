"""The tags of one collection's resources (the tag extensions' reads and writes)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.services import common


class ResourceTags:
    """Tag writes bump the tagged resource's revision, as any change does."""

    def __init__(self, db: Database, model: type, collection: str) -> None:
        self.db = db
        self.model = model
        self.collection = collection

    def _touch(self, session: Session, resource_id: str) -> None:
        row = session.get(self.model, resource_id, with_for_update=True)
        if row is not None:
            common.bump_revision(row)

    def get_all(self, resource_id: str) -> list[str]:
        return self.db.run(lambda s: common.load_tags(s, [resource_id]).get(resource_id, []),
                           write=False)

    def has(self, resource_id: str, tag: str) -> bool:
        return self.db.run(lambda s: s.get(models.Tag, (resource_id, tag)) is not None,
                           write=False)

    def replace(self, resource_id: str, tags: list[str]) -> list[str]:
        def run(session: Session) -> list[str]:
            common.set_tags(session, self.collection, resource_id, tags)
            self._touch(session, resource_id)
            return sorted(set(tags))
        return self.db.run(run)

    def add_many(self, resource_id: str, tags: list[str]) -> None:
        """Add the tags the resource lacks, keeping the others (tag-creation)."""
        def run(session: Session) -> None:
            existing = set(session.scalars(select(models.Tag.tag).where(
                models.Tag.resource_id == resource_id)))
            new = [t for t in dict.fromkeys(tags) if t not in existing]
            for tag in new:
                session.add(models.Tag(resource_id=resource_id, tag=tag,
                                       resource_type=self.collection))
            if new:
                self._touch(session, resource_id)
        self.db.run(run)

    def add(self, resource_id: str, tag: str) -> None:
        def run(session: Session) -> None:
            if session.get(models.Tag, (resource_id, tag)) is None:
                session.add(models.Tag(resource_id=resource_id, tag=tag,
                                       resource_type=self.collection))
                self._touch(session, resource_id)
        self.db.run(run)

    def remove(self, resource_id: str, tag: str) -> None:
        def run(session: Session) -> None:
            row = session.get(models.Tag, (resource_id, tag))
            if row is None:
                raise exc.TagNotFound(tag=tag)
            session.delete(row)
            self._touch(session, resource_id)
        self.db.run(run)

    def remove_all(self, resource_id: str) -> None:
        def run(session: Session) -> None:
            existing = session.scalars(select(models.Tag).where(
                models.Tag.resource_id == resource_id)).all()
            for row in existing:
                session.delete(row)
            self._touch(session, resource_id)
        self.db.run(run)
