"""The dhcp_agent_scheduler extension's routes (admin by default):

* ``GET /v2.0/agents/{id}/dhcp-networks``: the networks an agent hosts (with the
  networks list's filters and fields)
* ``POST /v2.0/agents/{id}/dhcp-networks`` ``{"network_id": ...}``: 201, body null
* ``DELETE /v2.0/agents/{id}/dhcp-networks/{network_id}``: 204
* ``GET /v2.0/networks/{id}/dhcp-agents``: ``{"agents": [...]}``

Policy rules (upstream's): get_dhcp-networks, create_dhcp-network,
delete_dhcp-network, get_dhcp-agents; refused is 403, as upstream.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import falcon

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import View, send
from neutrino.api.query import parse_list_query
from neutrino.context import Context
from neutrino.core import Core
from neutrino.db.listing import ListQuery
from neutrino.policy import Policy
from neutrino.resources.validators import UUID_RE
from neutrino.services.agents import AgentService
from neutrino.services.dhcp_scheduler import DhcpScheduler
from neutrino.services.networks import NetworkService


def _listed(ids: list[str], query: ListQuery) -> ListQuery:
    """The query limited to `ids` (and to any id filter the caller gave)."""
    wanted = set(ids)
    if "id" in query.filters:
        wanted &= set(query.filters["id"])
    query.filters["id"] = sorted(wanted)
    return query


class DhcpNetworks:
    """/v2.0/agents/{agent_id}/dhcp-networks"""

    def __init__(self, scheduler: DhcpScheduler, networks: NetworkService,
                 policy: Policy, conf: object) -> None:
        self.scheduler = scheduler
        self.networks = networks
        self.policy = policy
        self.view = View(networks.resource, policy)
        self.max_limit = getattr(conf, "pagination_max_limit", -1)

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "get_dhcp-networks", {})
        agent_id = resource_id
        params = parse_qsl(req.query_string, keep_blank_values=True)
        query = parse_list_query(self.networks.resource, params, self.max_limit)
        ids = self.scheduler.networks_of_agent(agent_id)
        items = self.networks.list(ctx, _listed(ids, query)) if ids else []
        fields = [f for f in query.fields if f] or None
        rules = self.view.field_rules(ctx)
        send(resp, {"networks": [self.view.render(ctx, i, fields, rules) for i in items
                                 if self.view.can_see(ctx, i)]})

    def on_post(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "create_dhcp-network", {})
        agent_id = resource_id
        payload = bodies.decode(req.bounded_stream.read())
        network_id = payload.get("network_id") if isinstance(payload, dict) else None
        if not isinstance(network_id, str) or not network_id:
            raise exc.HTTPBadRequest("Failed to parse request. Required attribute "
                                     "'network_id' not specified")
        if not UUID_RE.match(network_id):
            raise exc.NetworkNotFound(net_id=network_id)
        self.scheduler.add_network(ctx, agent_id, network_id)
        send(resp, None, 201)


class DhcpNetwork:
    """/v2.0/agents/{agent_id}/dhcp-networks/{network_id}"""

    def __init__(self, scheduler: DhcpScheduler, policy: Policy) -> None:
        self.scheduler = scheduler
        self.policy = policy

    def on_delete(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                  network_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "delete_dhcp-network", {})
        agent_id = resource_id
        self.scheduler.remove_network(ctx, agent_id, network_id)
        resp.status = 204


class DhcpAgents:
    """/v2.0/networks/{network_id}/dhcp-agents"""

    def __init__(self, scheduler: DhcpScheduler, agents: AgentService,
                 policy: Policy) -> None:
        self.scheduler = scheduler
        self.agents = agents
        self.policy = policy
        self.view = View(agents.resource, policy)

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "get_dhcp-agents", {})
        network_id = resource_id
        ids = self.scheduler.agents_of_network(network_id)
        items = self.agents.list(ctx, ListQuery(filters={"id": ids})) if ids else []
        send(resp, {"agents": [self.view.render(ctx, i) for i in items]})


def add_routes(app: falcon.App, core: Core) -> None:
    """Register the routes on the app (called by create_app)."""
    scheduler, policy = core.dhcp_scheduler, core.policy
    app.add_route("/v2.0/agents/{resource_id}/dhcp-networks",
                  DhcpNetworks(scheduler, core.networks, policy, core.conf))
    app.add_route("/v2.0/agents/{resource_id}/dhcp-networks/{network_id}",
                  DhcpNetwork(scheduler, policy))
    app.add_route("/v2.0/networks/{resource_id}/dhcp-agents",
                  DhcpAgents(scheduler, core.agents, policy))
