"""``/v2.0/quotas``: limits per project, defaults and usage details."""

from __future__ import annotations

import falcon

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import send
from neutrino.context import Context
from neutrino.policy import Policy
from neutrino.resources import validators as v
from neutrino.services.quotas import QuotaService


class QuotaAPI:
    def __init__(self, quotas: QuotaService, policy: Policy) -> None:
        self.quotas = quotas
        self.policy = policy

    def _check(self, req: falcon.Request, action: str, project_id: str) -> Context:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, action, {"project_id": project_id, "tenant_id": project_id})
        return ctx


class QuotaList(QuotaAPI):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        if not ctx.is_admin:
            raise exc.PolicyNotAuthorized(action="rule:get_quota")
        send(resp, {"quotas": self.quotas.projects_with_quotas()})


class QuotaProject(QuotaAPI):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        ctx: Context = req.context.ctx
        if project_id in ("tenant", "project"):
            key = "tenant_id" if project_id == "tenant" else "project_id"
            send(resp, {project_id: {key: ctx.project_id}})
            return
        self._check(req, "get_quota", project_id)
        send(resp, {"quota": self.quotas.limits(project_id)})

    def on_put(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        self._check(req, "update_quota", project_id)
        payload = bodies.decode(req.bounded_stream.read())
        if not isinstance(payload, dict) or not isinstance(payload.get("quota"), dict):
            raise exc.HTTPBadRequest("Unable to find 'quota' in request body")
        values = dict(payload["quota"])
        # quota-check-limit(-default): a limit below the usage is refused unless
        # "force" is true; "check_limit" (deprecated upstream) is accepted, the check
        # being on anyway.
        force = v.to_boolean(values.pop("force", False))
        v.to_boolean(values.pop("check_limit", True))
        send(resp, {"quota": self.quotas.update(project_id, values,
                                                check_usage=not force)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        self._check(req, "delete_quota", project_id)
        self.quotas.reset(project_id)
        resp.status = 204


class QuotaDefault(QuotaAPI):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        self._check(req, "get_quota", project_id)
        send(resp, {"quota": self.quotas.defaults()})


class QuotaDetails(QuotaAPI):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        self._check(req, "get_quota", project_id)
        send(resp, {"quota": self.quotas.details(project_id)})
