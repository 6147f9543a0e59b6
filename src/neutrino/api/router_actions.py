"""Router actions outside CRUD: add/remove_router_interface, add/remove_extraroutes
(extraroute-atomic), and router scheduling to L3 agents (l3_agent_scheduler:
/routers/{id}/l3-agents, /agents/{id}/l3-routers)."""

from __future__ import annotations

from typing import Any

import falcon

from neutrino import events
from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import Member, View, send
from neutrino.context import Context
from neutrino.resources import validators as v
from neutrino.resources.agent import AGENT
from neutrino.resources.router import RouterNotFound, routes
from neutrino.services.router_interfaces import RouterInterfaces


class RouterInterfaceAction:
    """PUT /v2.0/routers/{id}/add_router_interface (or remove_router_interface)."""

    def __init__(self, member: Member, interfaces: RouterInterfaces, add: bool) -> None:
        self.member = member
        self.interfaces = interfaces
        self.add = add
        self.action = "add_router_interface" if add else "remove_router_interface"

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        body = bodies.decode(req.bounded_stream.read())
        router = self.member.load_visible(ctx, resource_id)
        self.member.policy.enforce(ctx, self.action, router)
        if self.add:
            result = self.interfaces.add(ctx, resource_id, body)
        else:
            result = self.interfaces.remove(ctx, resource_id, body)
        send(resp, result)


class ExtraRoutesAction:
    """PUT /v2.0/routers/{id}/add_extraroutes (or remove_extraroutes) with
    {"router": {"routes": [...]}}."""

    def __init__(self, member: Member, add: bool) -> None:
        self.member = member
        self.add = add
        self.action = "add_extraroutes" if add else "remove_extraroutes"

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        body = bodies.decode(req.bounded_stream.read())
        if not isinstance(body, dict) or not isinstance(body.get("router"), dict):
            raise exc.HTTPBadRequest("Unable to find 'router' in request body")
        item = body["router"]
        if set(item) != {"routes"}:
            raise v.bad("routes", "Only the routes attribute is allowed")
        wanted = routes(item["routes"])
        router = self.member.load_visible(ctx, resource_id)
        self.member.policy.enforce(ctx, self.action, router)
        updated = self.member.service.change_routes(ctx, resource_id, wanted, self.add)
        send(resp, {"router": self.member.view.render(ctx, updated)})


class _Scheduling:
    def __init__(self, core: Any) -> None:
        self.core = core
        self.db = core.db
        self.policy = core.policy
        self.scheduler = core.routers.scheduler
        self.agent_view = View(AGENT, core.policy)
        self.router_view = View(core.routers.resource, core.policy)

    def _router_changed(self, ctx: Context, router_id: str) -> None:
        # Rescheduling changes where the router lives: tell the agents.
        self.core.events.publish("router", events.AFTER_UPDATE,
                                 events.Payload(ctx, router_id, states=(None, None)))

    def _router_exists(self, session: Any, router_id: str) -> None:
        if not v.UUID_RE.match(router_id) or session.get(
                self.core.routers.model, router_id) is None:
            raise RouterNotFound(router_id=router_id)


class RouterL3Agents(_Scheduling):
    """GET /v2.0/routers/{id}/l3-agents."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "get_l3-agents", {})

        def run(session: Any) -> list[dict]:
            self._router_exists(session, resource_id)
            agents = self.scheduler.agents_of_router(session, resource_id)
            return self.core.agents.to_dicts(agents)
        agents = self.db.run(run, write=False)
        send(resp, {"agents": [self.agent_view.render(ctx, a) for a in agents]})


class AgentL3Routers(_Scheduling):
    """GET / POST /v2.0/agents/{id}/l3-routers."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "get_l3-routers", {})

        def run(session: Any) -> list[dict]:
            self.scheduler.l3_agent(session, resource_id)
            rows = self.scheduler.routers_of_agent(session, resource_id)
            return self.core.routers.to_dicts(session, rows)
        routers = self.db.run(run, write=False)
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

        def run(session: Any) -> bool:
            self.scheduler.l3_agent(session, resource_id)
            self._router_exists(session, router_id)
            return self.scheduler.add_router(session, resource_id, router_id)
        if self.db.run(run):
            self._router_changed(ctx, router_id)
        resp.status = 201
        send(resp, None, 201)


class AgentL3Router(_Scheduling):
    """DELETE /v2.0/agents/{id}/l3-routers/{router_id}."""

    def on_delete(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                  router_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "delete_l3-router", {})

        def run(session: Any) -> None:
            self._router_exists(session, router_id)
            self.scheduler.remove_router(session, resource_id, router_id)
        self.db.run(run)
        self._router_changed(ctx, router_id)
        resp.status = 204


def add_routes(app: falcon.App, core: Any) -> None:
    """The routes above, on the app (the routers' CRUD comes with core.services)."""
    member = Member(core.routers, core.policy)
    path = "/v2.0/routers/{resource_id}"
    for action, add in (("add_router_interface", True), ("remove_router_interface", False)):
        app.add_route(f"{path}/{action}",
                      RouterInterfaceAction(member, core.router_interfaces, add))
    for action, add in (("add_extraroutes", True), ("remove_extraroutes", False)):
        app.add_route(f"{path}/{action}", ExtraRoutesAction(member, add))
    app.add_route(f"{path}/l3-agents", RouterL3Agents(core))
    app.add_route("/v2.0/agents/{resource_id}/l3-routers", AgentL3Routers(core))
    app.add_route("/v2.0/agents/{resource_id}/l3-routers/{router_id}", AgentL3Router(core))
