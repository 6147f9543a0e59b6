"""The topology page (issue 15): ``GET /topology`` serves one static document (HTML, its
script and style inline, nothing from elsewhere) that draws the caller's networks,
routers, ports and floating IPs and keeps the drawing live by polling ``GET
/v2.0/neutrino/topology`` with ``If-None-Match``.

The page holds no data, so it is served like version discovery, without credentials
(a browser cannot send a token header when it follows a link); everything it shows
comes from the JSON endpoint, which takes the API's credentials (a Keystone token or
the noauth headers) and the API's policy: the gate ``get_neutrino_topology`` (admin,
or a project's own picture), then each item and field exactly as the collections show
them (`View`). The model (`neutrino.topology.graph`) is the one `neutrino topology`
draws in the terminal.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

import falcon
import orjson

from neutrino import exceptions as exc
from neutrino import topology
from neutrino.api.controller import View
from neutrino.api.query import parse_list_query
from neutrino.context import Context
from neutrino.core import Core

PAGE_PATH = "/topology"
DATA_PATH = "/v2.0/neutrino/topology"


class TopologyPage:
    """The static page, with a Content-Security-Policy that allows exactly its own
    inline script and style (by hash) and requests to this server."""

    def __init__(self) -> None:
        self.body = resources.files("neutrino.api").joinpath(
            "static", "topology.html").read_bytes()
        self.headers = {
            "Content-Security-Policy": content_security_policy(self.body.decode()),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "text/html; charset=utf-8"
        resp.set_headers(self.headers)
        resp.data = self.body


def content_security_policy(html: str) -> str:
    def hashes(tag: str) -> str:
        found = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S)
        return " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
            for s in found)
    return ("default-src 'none'; "
            f"script-src {hashes('script')}; style-src {hashes('style')}; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


class TopologyData:
    """``GET /v2.0/neutrino/topology[?project_id=P]``: ``{"topology": {"project_id",
    "nodes", "edges"}}`` with an ETag; ``If-None-Match`` with it answers 304."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.services = {"networks": core.networks, "subnets": core.subnets,
                         "ports": core.ports, "routers": core.routers,
                         "floatingips": core.floatingips}
        self.views = {name: View(s.resource, core.policy) for name, s in self.services.items()}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        project = _project_param(parse_qsl(req.query_string, keep_blank_values=True))
        self.core.policy.enforce(ctx, "get_neutrino_topology",
                                 {"project_id": project or ctx.project_id or ""})
        where = [("project_id", project)] if project else []
        data = {name: self._list(ctx, name, where) for name in topology.COLLECTIONS}
        extra = topology.external_network_ids(data)
        if extra:
            # Another project's external networks, as far as the caller may see them.
            data["networks"] += self._list(ctx, "networks", [("id", i) for i in extra])
            data["subnets"] += self._list(ctx, "subnets",
                                          [("network_id", i) for i in extra])
        body = orjson.dumps({"topology": {"project_id": project, **topology.graph(data)}})
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        resp.set_header("ETag", etag)
        resp.set_header("Cache-Control", "no-cache, private")
        if _matches(req.get_header("If-None-Match"), etag):
            resp.status = falcon.HTTP_304
            return
        resp.content_type = falcon.MEDIA_JSON
        resp.data = body

    def _list(self, ctx: Context, name: str, where: list[tuple[str, str]]
              ) -> list[dict[str, Any]]:
        service, view = self.services[name], self.views[name]
        query = parse_list_query(service.resource, where)
        items = [i for i in service.list(ctx, query, None) if view.can_see(ctx, i)]
        rules = view.field_rules(ctx)
        return [view.render(ctx, i, None, rules) for i in items]


def _project_param(params: list[tuple[str, str]]) -> str | None:
    unknown = sorted({key for key, _ in params if key != "project_id"})
    if unknown:
        raise exc.HTTPBadRequest(f"{unknown} is invalid attribute for filtering")
    values = [value for _, value in params]
    if len(values) > 1 or (values and not values[0].strip()) or "\x00" in "".join(values):
        raise exc.HTTPBadRequest("project_id takes one project id")
    return values[0] if values else None


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def add_routes(app: falcon.App, core: Core) -> None:
    app.add_route(PAGE_PATH, TopologyPage())
    app.add_route(DATA_PATH, TopologyData(core))
