"""``/v2.0/<collection>/<id>/tags[/<tag>]``: the tags API of every tagged resource."""

from __future__ import annotations

import falcon

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import Member, send
from neutrino.context import Context
from neutrino.resources.standard import tag_list, validate_tag
from neutrino.resources.validators import TAG_MAX_LEN
from neutrino.services.tags import ResourceTags


def requested_tags(payload: object) -> list[str]:
    """The ``{"tags": [...]}`` body of POST .../tags, checked as upstream does (a
    list of unique strings of at most 255 characters; NUL and empty strings, which
    no stored tag holds, refused as well)."""
    if not isinstance(payload, dict) or "tags" not in payload:
        raise exc.InvalidInput("Invalid tags body")
    tags = payload["tags"]
    if not isinstance(tags, list):
        raise exc.InvalidInput(f"'{tags}' is not a list")
    seen: list[object] = []
    duplicates: list[object] = []
    for tag in tags:
        if tag in seen and tag not in duplicates:
            duplicates.append(tag)
        seen.append(tag)
    if duplicates:
        listed = ", ".join(str(d) for d in duplicates)
        raise exc.InvalidInput(f"Duplicate items in the list: '{listed}'")
    for tag in tags:
        if not isinstance(tag, str) or not tag or "\x00" in tag:
            raise exc.InvalidInput(f"'{tag}' is not a valid string")
        if len(tag) > TAG_MAX_LEN:
            raise exc.InvalidInput(f"'{tag}' exceeds maximum length of {TAG_MAX_LEN}")
    return tags


class Tags:
    def __init__(self, member: Member, store: ResourceTags) -> None:
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

    def on_post(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        """tag-creation: add tags, keeping the others; upstream answers 200 with the
        tags of the request."""
        tags = requested_tags(bodies.decode(req.bounded_stream.read()))
        self._authorize(req, resource_id, write=True)
        self.store.add_many(resource_id, tags)
        send(resp, {"tags": tags})

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
