"""The one generic controller: every collection is served by it, driven by the
resource's attribute definitions and a service object."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlencode

import falcon
import orjson
from oslo_config import cfg

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.query import parse_list_query
from neutrino.context import Context
from neutrino.db.listing import ListQuery
from neutrino.policy import Policy
from neutrino.resources.attributes import Resource
from neutrino.resources.validators import UUID_RE
from neutrino.services import prepare

IF_MATCH_RE = re.compile(r"^\s*revision_number=(\d+)\s*$")


class Service(Protocol):
    resource: Resource

    def get(self, ctx: Context, resource_id: str) -> dict: ...
    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]: ...
    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Callable[[dict, dict], None]) -> list[dict]: ...
    def update(self, ctx: Context, resource_id: str, data: dict,
               revision: int | None = None) -> dict: ...
    def delete(self, ctx: Context, resource_id: str, revision: int | None = None
               ) -> None: ...


def send(resp: falcon.Response, payload: Any, status: int = 200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    try:
        resp.data = orjson.dumps(payload)
    except orjson.JSONEncodeError:
        # orjson stops at 64-bit integers; IPv6 address counts (IP availability)
        # go beyond, and JSON itself has no such limit.
        resp.data = json.dumps(payload, separators=(",", ":")).encode()


class View:
    """What a caller may see of a resource: policy per item and per field."""

    def __init__(self, resource: Resource, policy: Policy) -> None:
        self.resource = resource
        self.policy = policy
        self.visible = [name for name, a in resource.attrs.items() if a.visible]
        self.shown = set(self.visible)
        self.policed = [name for name, a in resource.attrs.items() if a.enforce_policy]

    def can_see(self, ctx: Context, item: dict) -> bool:
        action = f"get_{self.resource.name}"
        return (self.policy.passes_for_any_target(ctx, action)
                or self.policy.check(ctx, action, item))

    def field_rules(self, ctx: Context) -> list[tuple[str, str]]:
        """(attribute, rule) pairs that must be checked per item for this caller."""
        rules = self.policy.enforcer.rules
        out = []
        for name in self.policed:
            rule = f"get_{self.resource.name}:{name}"
            if rule in rules and not self.policy.passes_for_any_target(ctx, rule):
                out.append((name, rule))
        return out

    def render(self, ctx: Context, item: dict, fields: list[str] | None = None,
               field_rules: list[tuple[str, str]] | None = None) -> dict:
        if field_rules is None:
            field_rules = self.field_rules(ctx)
        hidden = {name for name, rule in field_rules
                  if not self.policy.check(ctx, rule, item)}
        names = [f for f in fields if f in self.shown] if fields else self.visible
        return {name: item[name] for name in names if name in item and name not in hidden}


class Collection:
    """``/v2.0/<collection>``: list and create."""

    def __init__(self, service: Service, policy: Policy, conf: cfg.ConfigOpts) -> None:
        self.service = service
        self.resource = service.resource
        self.policy = policy
        self.view = View(self.resource, policy)
        self.max_limit = conf.pagination_max_limit

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        params = _query_params(req)
        query = parse_list_query(self.resource, params, self.max_limit)
        fields = [f for f in query.fields if f]
        hint = set(fields) | {"project_id", "shared", "network:project_id"} if fields \
            else None
        items = self.service.list(ctx, query, hint)
        items = [i for i in items if self.view.can_see(ctx, i)]
        field_rules = self.view.field_rules(ctx)
        result: dict[str, Any] = {
            self.resource.collection: [self.view.render(ctx, i, fields, field_rules)
                                       for i in items]}
        if query.limit:
            links = pagination_links(req, params, items, query)
            if links:
                result[f"{self.resource.collection}_links"] = links
        send(resp, result)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        items, bulk = bodies.items_for_create(self.resource, bodies.decode(req.bounded_stream
                                                                              .read()))
        prepared = [prepare.prepare_create(self.resource, item, ctx) for item in items]
        created = self.service.create_bulk(ctx, prepared, self._authorizer(ctx))
        if bulk:
            send(resp, {self.resource.collection: [self.view.render(ctx, c)
                                                   for c in created]}, 201)
        else:
            send(resp, {self.resource.name: self.view.render(ctx, created[0])}, 201)

    def _authorizer(self, ctx: Context) -> Callable[[dict, dict], None]:
        """Policy for each item, run by the service inside its transaction once the
        target (with e.g. the network's owner) is known."""
        action = f"create_{self.resource.name}"

        def authorize(data: dict, target: dict) -> None:
            self.policy.enforce(ctx, action, target, self._explicit_policed(data))
        return authorize

    def _explicit_policed(self, data: dict) -> list[str]:
        """Policed attributes the request sets to something other than the default."""
        return [name for name in self.view.policed
                if name in data and data[name] != self.resource.attrs[name].default]


class Member:
    """``/v2.0/<collection>/<id>``: show, update, delete."""

    def __init__(self, service: Service, policy: Policy) -> None:
        self.service = service
        self.resource = service.resource
        self.policy = policy
        self.view = View(self.resource, policy)

    def load_visible(self, ctx: Context, resource_id: str) -> dict:
        """The item, or the resource's 404 when it is missing or not visible."""
        if not UUID_RE.match(resource_id):
            raise self.resource.not_found_error(resource_id)
        item = self.service.get(ctx, resource_id)
        if not self.view.can_see(ctx, item):
            raise self.resource.not_found_error(resource_id)
        return item

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        item = self.load_visible(ctx, resource_id)
        fields = [f for f in req.get_param_as_list("fields") or [] if f]
        send(resp, {self.resource.name: self.view.render(ctx, item, fields or None)})

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        item = bodies.single_item(self.resource, bodies.decode(req.bounded_stream.read()))
        data = prepare.prepare_update(self.resource, item)
        current = self.load_visible(ctx, resource_id)
        target = dict(current, **data)
        policed = [n for n in self.view.policed if n in data]
        self.enforce_write(ctx, f"update_{self.resource.name}", target, policed)
        updated = self.service.update(ctx, resource_id, data, if_match(req))
        send(resp, {self.resource.name: self.view.render(ctx, updated)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  resource_id: str) -> None:
        ctx: Context = req.context.ctx
        current = self.load_visible(ctx, resource_id)
        self.enforce_write(ctx, f"delete_{self.resource.name}", current)
        self.service.delete(ctx, resource_id, if_match(req))
        resp.status = 204

    def enforce_write(self, ctx: Context, action: str, target: dict,
                      attrs: list[str] | None = None) -> None:
        """Policy for an update or delete. Refused, upstream answers 403 only when the
        caller may read the item as its policy layer loads it: the declared attributes
        and what policy derives from a parent (``network:project_id``); otherwise 404,
        giving nothing away. So a shared network's non-owner gets 403 (``shared`` is
        an attribute), a shared address group's 404 (its sharing is none)."""
        try:
            self.policy.enforce(ctx, action, target, attrs)
        except exc.PolicyNotAuthorized:
            declared = {k: v for k, v in target.items()
                        if k in self.resource.attrs or ":" in k}
            if not self.policy.check(ctx, f"get_{self.resource.name}", declared):
                raise exc.HTTPNotFound() from None
            raise


def if_match(req: falcon.Request) -> int | None:
    header = req.get_header("If-Match")
    if not header:
        return None
    match = IF_MATCH_RE.match(header)
    if match is None:
        raise exc.HTTPBadRequest(
            f"If-Match header {header!r} must have the form revision_number=<number>")
    return int(match.group(1))


def _query_params(req: falcon.Request) -> list[tuple[str, str]]:
    """Query parameters in order, repeated keys kept (fields=a&fields=b)."""
    from urllib.parse import parse_qsl
    return parse_qsl(req.query_string, keep_blank_values=True)


def pagination_links(req: falcon.Request, params: list[tuple[str, str]],
                     items: list[dict], query: ListQuery) -> list[dict]:
    """Upstream's next/previous links: next unless a short forward page, previous
    unless a short backward page. An empty page has links too, without a marker
    (the previous link of the page after the last one leads back to the last page)."""
    if not query.limit:
        return []
    base = [(k, v) for k, v in params if k not in ("marker", "page_reverse")]
    url = f"{req.prefix}{req.path}"
    links = []
    short = len(items) < query.limit
    if not (short and not query.page_reverse):
        marker = [("marker", items[-1]["id"])] if items else []
        links.append({"rel": "next", "href": url + "?" + urlencode(base + marker)})
    if not (short and query.page_reverse):
        marker = [("marker", items[0]["id"])] if items else []
        links.append({"rel": "previous", "href": url + "?" + urlencode(
            base + marker + [("page_reverse", "True")])})
    return links


class ReadOnlyCollection:
    """GET only (list); other methods answer 405 as upstream."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.collection.on_get(req, resp)


class ReadOnlyMember:
    """GET only (show); other methods answer 405 as upstream."""

    def __init__(self, member: Member) -> None:
        self.member = member

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        self.member.on_get(req, resp, resource_id)
