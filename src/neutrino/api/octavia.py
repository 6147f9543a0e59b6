"""Load balancing routes (issue 16): the Octavia v2 API under ``/v2/lbaas`` (and
``/v2.0/lbaas``, where python-octaviaclient sends it: it appends ``/v2.0`` to the
``load-balancer`` endpoint), served beside ``/v2.0`` by the same listener.

Errors here are Octavia's (``{"faultcode", "faultstring", "debuginfo"}``), not
Neutron's. Lists take Octavia's query: a filter on any field, ``fields``,
``sort``/``sort_key``/``sort_dir``, ``limit``/``marker``/``page_reverse``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import falcon

from neutrino import exceptions as exc
from neutrino.api.controller import send
from neutrino.context import Context
from neutrino.policy import Policy
from neutrino.resources import octavia as res
from neutrino.services.octavia import PROVIDERS, LoadBalancingService

LOG = logging.getLogger(__name__)

PREFIXES = ("/v2/lbaas", "/v2.0/lbaas")
QUOTA_ALIASES = {"load_balancer": "loadbalancer", "health_monitor": "healthmonitor"}


def fault(resp: falcon.Response, code: int, message: str, faultcode: str = "Client"
          ) -> None:
    send(resp, {"faultcode": faultcode, "faultstring": message, "debuginfo": None}, code)


def octavia_errors(responder: Callable[..., None]) -> Callable[..., None]:
    """Octavia's error body for whatever the responder raises."""
    @functools.wraps(responder)
    def wrapped(self: Any, req: falcon.Request, resp: falcon.Response, **kw: Any) -> None:
        try:
            responder(self, req, resp, **kw)
        except res.LbFault as error:
            fault(resp, error.code, error.message, error.faultcode)
        except exc.PolicyNotAuthorized:
            fault(resp, 403, "Policy does not allow this request to be performed.")
        except exc.NeutronError as error:
            # e.g. the database out of reach (503), a port's address taken (409)
            fault(resp, error.status, error.msg, "Server" if error.status >= 500
                  else "Client")
    return wrapped


def body_of(req: falcon.Request, key: str) -> Any:
    raw = req.bounded_stream.read()
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        raise res.LbFault("Invalid input: the request body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise res.LbFault(f"Invalid input: the request body has no '{key}' object")
    return data[key]


def ctx_of(req: falcon.Request) -> Context:
    return req.context.ctx


# -- list queries -----------------------------------------------------------------

PAGING = {"limit", "marker", "page_reverse", "sort", "sort_key", "sort_dir", "fields"}


def query(req: falcon.Request, items: list[dict], collection: str) -> dict:
    """Octavia's filtering, sorting, pagination and field selection over `items`."""
    params = req.params
    for name, wanted in params.items():
        if name in PAGING or name == "cascade":
            continue
        values = wanted if isinstance(wanted, list) else [wanted]
        items = [i for i in items if name in i and _text(i[name]) in values]
    keys = _sort_keys(params)
    for key, direction in reversed(keys):
        items.sort(key=lambda i, k=key: (i.get(k) is None, _text(i.get(k))),
                   reverse=direction == "desc")
    links = []
    if "marker" in params:
        ids = [i["id"] for i in items]
        if params["marker"] not in ids:
            raise res.LbFault(f"Invalid input: marker {params['marker']} not found")
        at = ids.index(params["marker"])
        if params.get("page_reverse") in ("true", "True"):
            items = items[:at]
        else:
            items = items[at + 1:]
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError:
            raise res.LbFault("Invalid input for field/attribute limit") from None
        if limit > 0 and len(items) > limit:
            items = items[:limit]
            links.append({"rel": "next", "href": f"{req.prefix}{req.path}?limit={limit}"
                                                 f"&marker={items[-1]['id']}"})
    fields = params.get("fields")
    if fields:
        wanted = set(fields if isinstance(fields, list) else fields.split(","))
        items = [{k: v for k, v in i.items() if k in wanted} for i in items]
    return {collection: items, f"{collection}_links": links}


def _sort_keys(params: dict) -> list[tuple[str, str]]:
    if "sort" in params:
        out = []
        for part in str(params["sort"]).split(","):
            key, _, direction = part.partition(":")
            out.append((key.strip(), direction.strip() or "asc"))
    else:
        out = [(params.get("sort_key", "created_at"), params.get("sort_dir", "asc"))]
    for _, direction in out:
        if direction not in ("asc", "desc"):
            raise res.LbFault(f"Invalid input: sort direction {direction}")
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# -- resources ----------------------------------------------------------------------

class Kind:
    """One kind's collection and member (members and L7 rules under their parent)."""

    def __init__(self, service: LoadBalancingService, policy: Policy, kind: str) -> None:
        self.service, self.policy, self.kind = service, policy, kind
        self.collection = res.COLLECTIONS[kind]
        # Octavia's body key: {"rule": …} for L7 rules, the kind otherwise.
        self.key = "rule" if kind == "l7rule" else kind

    def _allow(self, ctx: Context, action: str, project: str | None) -> None:
        self.policy.enforce(ctx, f"{action}_{self.kind}", {"project_id": project,
                                                          "tenant_id": project})

    @octavia_errors
    def on_get_collection(self, req: falcon.Request, resp: falcon.Response,
                          parent_id: str | None = None) -> None:
        ctx = ctx_of(req)
        items = [i for i in self.service.list(ctx, self.kind, parent_id)
                 if self.policy.check(ctx, f"get_{self.kind}",
                                      {"project_id": i["project_id"],
                                       "tenant_id": i["project_id"]})]
        if "project_id" in req.params and not ctx.is_admin and \
                req.params["project_id"] != ctx.project_id:
            items = []
        send(resp, query(req, items, self.collection))

    @octavia_errors
    def on_post_collection(self, req: falcon.Request, resp: falcon.Response,
                           parent_id: str | None = None) -> None:
        ctx = ctx_of(req)
        body = body_of(req, self.key)
        self._allow(ctx, "create", body.get("project_id") or ctx.project_id)
        item = self.service.create(ctx, self.kind, body, parent_id)
        send(resp, {self.key: item}, 201)

    @octavia_errors
    def on_get(self, req: falcon.Request, resp: falcon.Response, object_id: str,
               parent_id: str | None = None) -> None:
        ctx = ctx_of(req)
        item = self.service.get(ctx, self.kind, object_id, parent_id)
        self._allow(ctx, "get", item["project_id"])
        fields = req.params.get("fields")
        if fields:
            wanted = set(fields if isinstance(fields, list) else fields.split(","))
            item = {k: v for k, v in item.items() if k in wanted}
        send(resp, {self.key: item})

    @octavia_errors
    def on_put(self, req: falcon.Request, resp: falcon.Response, object_id: str,
               parent_id: str | None = None) -> None:
        ctx = ctx_of(req)
        body = body_of(req, self.key)
        current = self.service.get(ctx, self.kind, object_id, parent_id)
        self._allow(ctx, "update", current["project_id"])
        item = self.service.update(ctx, self.kind, object_id, body, parent_id)
        send(resp, {self.key: item}, 200)

    @octavia_errors
    def on_delete(self, req: falcon.Request, resp: falcon.Response, object_id: str,
                  parent_id: str | None = None) -> None:
        ctx = ctx_of(req)
        current = self.service.get(ctx, self.kind, object_id, parent_id)
        self._allow(ctx, "delete", current["project_id"])
        cascade = req.params.get("cascade") in ("true", "True", "1")
        self.service.delete(ctx, self.kind, object_id, cascade, parent_id)
        resp.status = 204


class SubKind:
    """Members and L7 rules: their parent's id is the route's ``object_id`` (falcon
    wants one field name per level), their own ``child_id``."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    def on_get_collection(self, req: falcon.Request, resp: falcon.Response,
                          object_id: str) -> None:
        self.kind.on_get_collection(req, resp, parent_id=object_id)

    def on_post_collection(self, req: falcon.Request, resp: falcon.Response,
                           object_id: str) -> None:
        self.kind.on_post_collection(req, resp, parent_id=object_id)

    def on_get(self, req: falcon.Request, resp: falcon.Response, object_id: str,
               child_id: str) -> None:
        self.kind.on_get(req, resp, object_id=child_id, parent_id=object_id)

    def on_put(self, req: falcon.Request, resp: falcon.Response, object_id: str,
               child_id: str) -> None:
        self.kind.on_put(req, resp, object_id=child_id, parent_id=object_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, object_id: str,
                  child_id: str) -> None:
        self.kind.on_delete(req, resp, object_id=child_id, parent_id=object_id)


class LoadBalancerStatus:
    def __init__(self, service: LoadBalancingService, policy: Policy) -> None:
        self.service, self.policy = service, policy

    @octavia_errors
    def on_get(self, req: falcon.Request, resp: falcon.Response, object_id: str) -> None:
        ctx = ctx_of(req)
        lb = self.service.get(ctx, "loadbalancer", object_id)
        self.policy.enforce(ctx, "get_loadbalancer", {"project_id": lb["project_id"]})
        send(resp, self.service.statuses(ctx, object_id))


class LoadBalancerFailover:
    def __init__(self, service: LoadBalancingService, policy: Policy) -> None:
        self.service, self.policy = service, policy

    @octavia_errors
    def on_put(self, req: falcon.Request, resp: falcon.Response, object_id: str) -> None:
        ctx = ctx_of(req)
        self.policy.enforce(ctx, "failover_loadbalancer", {})
        self.service.failover(ctx, object_id)
        resp.status = 202


class Providers:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    @octavia_errors
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"providers": [{"name": n, "description": d}
                                  for n, d in PROVIDERS.items()]})


def _quota_view(limits: dict[str, int]) -> dict:
    out = dict(limits)
    for name, alias in QUOTA_ALIASES.items():   # Octavia shows both spellings
        out[alias] = limits[name]
    return out


def _quota_body(req: falcon.Request) -> dict[str, int]:
    body = body_of(req, "quota")
    out: dict[str, int] = {}
    for name, value in body.items():
        resource = {v: k for k, v in QUOTA_ALIASES.items()}.get(name, name)
        if resource not in res.QUOTA_RESOURCES:
            raise res.LbFault(f"Invalid input for field/attribute {name}. Value: "
                              f"'{value}'. Unknown attribute")
        if value is None:
            value = -1
        if isinstance(value, bool) or not isinstance(value, int) or \
                not -1 <= value <= 2000000000:
            raise res.LbFault(f"Invalid input for field/attribute {name}. Value: "
                              f"'{value}'. Value should be an integer between -1 and "
                              "2000000000")
        out[resource] = value
    return out


class Quotas:
    def __init__(self, service: LoadBalancingService, policy: Policy) -> None:
        self.service, self.policy = service, policy

    @octavia_errors
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = ctx_of(req)
        quotas = [dict(_quota_view(q), project_id=q["project_id"])
                  for q in self.service.quotas()
                  if self.policy.check(ctx, "get_lbaas_quota",
                                       {"project_id": q["project_id"]})]
        send(resp, {"quotas": quotas, "quotas_links": []})

    @octavia_errors
    def on_get_defaults(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"quota": _quota_view(dict(self.service.quota_defaults))})

    @octavia_errors
    def on_get_project(self, req: falcon.Request, resp: falcon.Response,
                       project_id: str) -> None:
        self.policy.enforce(ctx_of(req), "get_lbaas_quota", {"project_id": project_id})
        send(resp, {"quota": _quota_view(self.service.quota(project_id))})

    @octavia_errors
    def on_put_project(self, req: falcon.Request, resp: falcon.Response,
                       project_id: str) -> None:
        self.policy.enforce(ctx_of(req), "update_lbaas_quota", {"project_id": project_id})
        limits = self.service.set_quota(project_id, _quota_body(req))
        send(resp, {"quota": _quota_view(limits)}, 202)

    @octavia_errors
    def on_delete_project(self, req: falcon.Request, resp: falcon.Response,
                          project_id: str) -> None:
        self.policy.enforce(ctx_of(req), "delete_lbaas_quota", {"project_id": project_id})
        self.service.reset_quota(project_id)
        resp.status = 202


class Root:
    """GET /v2/lbaas and /v2: what Octavia's version document points at."""

    @octavia_errors
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"version": {"id": "v2.0", "status": "CURRENT", "links": [
            {"rel": "self", "href": f"{req.prefix}/v2/lbaas/"}]}})


def add_routes(app: falcon.App, service: LoadBalancingService, policy: Policy) -> None:
    kinds = {kind: Kind(service, policy, kind) for kind in res.FIELDS}
    quotas = Quotas(service, policy)
    for prefix in PREFIXES:
        app.add_route(prefix, Root())
        for kind in ("loadbalancer", "listener", "pool", "healthmonitor", "l7policy"):
            path = f"{prefix}/{res.COLLECTIONS[kind]}"
            app.add_route(path, kinds[kind], suffix="collection")
            app.add_route(path + "/{object_id}", kinds[kind])
        for kind, parent in (("member", "pools"), ("l7rule", "l7policies")):
            path = f"{prefix}/{parent}/{{object_id}}/{res.COLLECTIONS[kind]}"
            sub = SubKind(kinds[kind])
            app.add_route(path, sub, suffix="collection")
            app.add_route(path + "/{child_id}", sub)
        lbs = f"{prefix}/loadbalancers/{{object_id}}"
        app.add_route(lbs + "/status", LoadBalancerStatus(service, policy))
        app.add_route(lbs + "/failover", LoadBalancerFailover(service, policy))
        app.add_route(f"{prefix}/providers", Providers(policy))
        app.add_route(f"{prefix}/quotas", quotas)
        app.add_route(f"{prefix}/quotas/defaults", quotas, suffix="defaults")
        app.add_route(f"{prefix}/quotas/{{project_id}}", quotas, suffix="project")
