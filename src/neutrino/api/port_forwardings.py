"""Port forwardings, a sub-resource of floating IPs:
``/v2.0/floatingips/{floatingip_id}/port_forwardings[/{id}]``.

The floating IP is loaded first (404 as the floating IP itself when the caller may
not see it), then the rules upstream names (``<action>_floatingip_port_forwarding``)
are checked against its owner (``ext_parent_owner_id``).
"""

from __future__ import annotations

import falcon

from neutrino.api import body as bodies
from neutrino.api.controller import Member, View, _query_params, pagination_links, send
from neutrino.api.query import parse_list_query
from neutrino.context import Context
from neutrino.core import Core
from neutrino.policy import Policy
from neutrino.resources.port_forwarding import PORT_FORWARDING, PortForwardingNotFound
from neutrino.resources.validators import UUID_RE
from neutrino.services import prepare
from neutrino.services.port_forwardings import NOT_FILTERS, PortForwardingService

ACTION = "{}_floatingip_port_forwarding"


class _Forwardings:
    def __init__(self, fips: Member, service: PortForwardingService, policy: Policy,
                 max_limit: int = -1) -> None:
        self.fips = fips
        self.service = service
        self.policy = policy
        self.view = View(PORT_FORWARDING, policy)
        self.max_limit = max_limit

    def check(self, ctx: Context, action: str, fip: dict, item: dict | None = None,
              hide: bool = False) -> None:
        target = dict(item or {}, project_id=fip["project_id"],
                      tenant_id=fip["project_id"], ext_parent_owner_id=fip["project_id"],
                      floatingip_id=fip["id"])
        name = ACTION.format(action)
        if hide and not self.policy.check(ctx, name, target):
            raise PortForwardingNotFound(id=(item or {}).get("id"))
        self.policy.enforce(ctx, name, target)

    def render(self, ctx: Context, item: dict) -> dict:
        return {PORT_FORWARDING.name: self.view.render(ctx, item)}


class ForwardingCollection(_Forwardings):
    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str
               ) -> None:
        ctx: Context = req.context.ctx
        fip = self.fips.load_visible(ctx, resource_id)
        self.check(ctx, "get", fip)
        params = _query_params(req)
        # Upstream's own error for these, before the generic "invalid attribute".
        allowed = [(k, v) for k, v in params if k not in NOT_FILTERS]
        not_filters = [(k, v) for k, v in params if k in NOT_FILTERS]
        query = parse_list_query(PORT_FORWARDING, allowed, self.max_limit)
        for key, value in not_filters:
            query.filters.setdefault(key, []).append(value)
        items = self.service.list(ctx, fip["id"], query)
        fields = [f for f in query.fields if f] or None
        result: dict = {PORT_FORWARDING.collection: [self.view.render(ctx, i, fields)
                                                     for i in items]}
        if query.limit:
            links = pagination_links(req, params, items, query)
            if links:
                result[f"{PORT_FORWARDING.collection}_links"] = links
        send(resp, result)

    def on_post(self, req: falcon.Request, resp: falcon.Response, resource_id: str
                ) -> None:
        ctx: Context = req.context.ctx
        item = bodies.single_item(PORT_FORWARDING, bodies.decode(req.bounded_stream.read()))
        data = prepare.prepare_create(PORT_FORWARDING, item, ctx)
        fip = self.fips.load_visible(ctx, resource_id)
        self.check(ctx, "create", fip, data)
        created = self.service.create(ctx, fip["id"], data)
        send(resp, self.render(ctx, created), 201)


class ForwardingMember(_Forwardings):
    def load(self, ctx: Context, fip_id: str, pf_id: str, action: str,
             hide: bool = True) -> tuple[dict, dict]:
        fip = self.fips.load_visible(ctx, fip_id)
        if not UUID_RE.match(pf_id):
            raise PortForwardingNotFound(id=pf_id)
        item = self.service.get(ctx, fip["id"], pf_id)
        # Not allowed to see it: 404 as when missing; allowed to see, not to change:
        # 403.
        self.check(ctx, "get", fip, item, hide=True)
        if action != "get":
            self.check(ctx, action, fip, item)
        return fip, item

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
               pf_id: str) -> None:
        ctx: Context = req.context.ctx
        _, item = self.load(ctx, resource_id, pf_id, "get")
        fields = [f for f in req.get_param_as_list("fields") or [] if f] or None
        send(resp, {PORT_FORWARDING.name: self.view.render(ctx, item, fields)})

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
               pf_id: str) -> None:
        ctx: Context = req.context.ctx
        item = bodies.single_item(PORT_FORWARDING, bodies.decode(req.bounded_stream.read()))
        data = prepare.prepare_update(PORT_FORWARDING, item)
        fip, _ = self.load(ctx, resource_id, pf_id, "update")
        updated = self.service.update(ctx, fip["id"], pf_id, data)
        send(resp, self.render(ctx, updated))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                  pf_id: str) -> None:
        ctx: Context = req.context.ctx
        fip, _ = self.load(ctx, resource_id, pf_id, "delete")
        self.service.delete(ctx, fip["id"], pf_id)
        resp.status = 204


def add_routes(app: falcon.App, core: Core, fips: Member) -> None:
    """`fips`: the floating IPs' member (served with the other collections)."""
    service = core.port_forwardings
    path = f"/v2.0/{core.floatingips.resource.url_path}/{{resource_id}}/port_forwardings"
    limit = core.conf.pagination_max_limit
    app.add_route(path, ForwardingCollection(fips, service, core.policy, limit))
    app.add_route(path + "/{pf_id}", ForwardingMember(fips, service, core.policy, limit))
