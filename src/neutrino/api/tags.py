"""``/v2.0/<collection>/<id>/tags[/<tag>]``: the tags API of every tagged resource."""

from __future__ import annotations

import falcon
from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import Member, send
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.resources.standard import tag_list, validate_tag
from neutrino.services import common


class TagStore:
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


class Tags:
    def __init__(self, member: Member, store: TagStore) -> None:
        self.member = member
        self.store = store

    def _authorize(self, req: falcon.Request, resource_id: str, write: bool) -> Context:
        ctx: Context = req.context.ctx
        item = self.member.load_visible(ctx, resource_id)
        if write:
            self.member.policy.enforce(ctx, f"update_{self.member.resource.name}", item)
        return ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        self._authorize(req, resource_id, write=False)
        send(resp, {"tags": self.store.get_all(resource_id)})

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        self._authorize(req, resource_id, write=True)
        payload = bodies.decode(req.bounded_stream.read())
        if not isinstance(payload, dict) or "tags" not in payload:
            raise exc.HTTPBadRequest("Invalid input for tags. Reason: 'tags' is required.")
        send(resp, {"tags": self.store.replace(resource_id, tag_list(payload["tags"]))})

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  resource_id: str) -> None:
        self._authorize(req, resource_id, write=True)
        self.store.remove_all(resource_id)
        resp.status = 204


class Tag:
    def __init__(self, tags: Tags) -> None:
        self.tags = tags

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
               tag: str) -> None:
        self.tags._authorize(req, resource_id, write=False)
        if not self.tags.store.has(resource_id, tag):
            raise exc.TagNotFound(tag=tag)
        resp.status = 204

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
               tag: str) -> None:
        self.tags._authorize(req, resource_id, write=True)
        self.tags.store.add(resource_id, validate_tag(tag))
        resp.status = 201

    def on_delete(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                  tag: str) -> None:
        self.tags._authorize(req, resource_id, write=True)
        self.tags.store.remove(resource_id, tag)
        resp.status = 204
