"""GET / DELETE /v2.0/auto-allocated-topology/{project_id} (auto-allocated-topology).

Not a collection: a project has at most one topology, named by the project id, and
the GET creates it. Upstream's order: the project check (403 NotAuthorized for
another project unless admin), then the work, with policy
`get_auto_allocated_topology` / `delete_auto_allocated_topology` on
`{"project_id": project}`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import falcon

from neutrino.api.controller import send
from neutrino.context import Context
from neutrino.core import Core
from neutrino.policy import Policy
from neutrino.services.auto_allocated_topology import AutoAllocatedTopologyService

RESOURCE = "auto_allocated_topology"


class AutoAllocatedTopology:
    def __init__(self, service: AutoAllocatedTopologyService, policy: Policy) -> None:
        self.service = service
        self.policy = policy

    def _authorize(self, ctx: Context, action: str, project_id: str) -> str:
        project = self.service.project_of(ctx, project_id)
        self.policy.enforce(ctx, f"{action}_{RESOURCE}",
                            {"project_id": project, "tenant_id": project})
        return project

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        ctx: Context = req.context.ctx
        project = self._authorize(ctx, "get", project_id)
        fields = [v for k, v in parse_qsl(req.query_string, keep_blank_values=True)
                  if k == "fields" and v]
        send(resp, {RESOURCE: self.service.get(ctx, project, fields)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  project_id: str) -> None:
        ctx: Context = req.context.ctx
        project = self._authorize(ctx, "delete", project_id)
        self.service.delete(ctx, project)
        resp.status = 204


def add_routes(app: falcon.App, core: Core) -> None:
    app.add_route("/v2.0/auto-allocated-topology/{project_id}",
                  AutoAllocatedTopology(core.auto_allocated_topology, core.policy))
