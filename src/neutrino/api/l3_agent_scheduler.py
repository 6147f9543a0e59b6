"""The l3_agent_scheduler extension's routes (admin by default): routers on L3 agents
by hand (services/router_scheduling.py does the work).

* ``GET /v2.0/routers/{id}/l3-agents``: ``{"agents": [...]}``
* ``GET /v2.0/agents/{id}/l3-routers``: ``{"routers": [...]}``
* ``POST /v2.0/agents/{id}/l3-routers`` ``{"router_id": ...}``: 201, body null
* ``DELETE /v2.0/agents/{id}/l3-routers/{router_id}``: 204

The routers' member actions (interfaces, extra routes) are api/member_actions.py.
"""

from __future__ import annotations

import falcon

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import View, send
from neutrino.context import Context
from neutrino.core import Core
from neutrino.policy import Policy
from neutrino.resources import validators as v
from neutrino.resources.agent import AGENT
from neutrino.resources.router import RouterNotFound
from neutrino.services.router_scheduling import RouterScheduling


class _Scheduling:
    def __init__(self, scheduling: RouterScheduling, policy: Policy) -> None:
        self.scheduling = scheduling
        self.policy = policy
        self.agent_view = View(AGENT, policy)
        self.router_view = View(scheduling.routers.resource, policy)


class RouterL3Agents(_Scheduling):
    """GET /v2.0/routers/{id}/l3-agents."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "get_l3-agents", {})
        agents = self.scheduling.agents_of_router(resource_id)
        # ha_state (l3-ha) is not an agent attribute: added to each agent here.
        send(resp, {"agents": [{**self.agent_view.render(ctx, a),
                                "ha_state": a.get("ha_state")} for a in agents]})


class AgentL3Routers(_Scheduling):
    """GET / POST /v2.0/agents/{id}/l3-routers."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "get_l3-routers", {})
        routers = self.scheduling.routers_of_agent(resource_id)
        send(resp, {"routers": [self.router_view.render(ctx, r) for r in routers]})

    def on_post(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "create_l3-router", {})
        body = bodies.decode(req.bounded_stream.read())
        if not isinstance(body, dict) or "router_id" not in body:
            raise exc.HTTPBadRequest("Unable to find 'router_id' in request body")
        router_id = body["router_id"]
        if not isinstance(router_id, str) or not v.UUID_RE.match(router_id):
            raise RouterNotFound(router_id=router_id)
        self.scheduling.add_router(ctx, resource_id, router_id)
        send(resp, None, 201)


class AgentL3Router(_Scheduling):
    """DELETE /v2.0/agents/{id}/l3-routers/{router_id}."""

    def on_delete(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                  router_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "delete_l3-router", {})
        self.scheduling.remove_router(ctx, resource_id, router_id)
        resp.status = 204


def add_routes(app: falcon.App, core: Core) -> None:
    scheduling, policy = core.router_scheduling, core.policy
    app.add_route("/v2.0/routers/{resource_id}/l3-agents",
                  RouterL3Agents(scheduling, policy))
    app.add_route("/v2.0/agents/{resource_id}/l3-routers",
                  AgentL3Routers(scheduling, policy))
    app.add_route("/v2.0/agents/{resource_id}/l3-routers/{router_id}",
                  AgentL3Router(scheduling, policy))
