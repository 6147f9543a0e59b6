"""Routes of the services in services/extensions_a.py: the generic controller for
their collections, and what is not CRUD (see each class)."""

from __future__ import annotations

from typing import Any

import falcon

from neutrino.api import body as bodies
from neutrino.api.controller import Collection, Member, send
from neutrino.context import Context


class NoUpdateMember(Member):
    """A member without PUT (falcon answers 405): default security group rules."""

    on_put = None  # type: ignore[assignment]


class StatefulnessCollection(Collection):
    """POST without a project_id makes the system-wide setting (not the caller's
    project's, which the generic controller would fill in). The item's key is also
    the collection's: {key: {...}} is one setting, {key: [...]} several."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        body = bodies.decode(req.bounded_stream.read())
        # One key for the item and the list (upstream's names): a dict is one item.
        if isinstance(body, dict) and isinstance(body.get(self.resource.name), dict):
            items, bulk = [bodies.single_item(self.resource, body)], False
        else:
            items, bulk = bodies.items_for_create(self.resource, body)
        prepared = []
        for item in items:
            data = bodies.prepare_create(self.resource, item, ctx)
            if item.get("project_id") in (None, "") and item.get("tenant_id") in (None, ""):
                data["project_id"] = None
            prepared.append(data)
        created = self.service.create_bulk(ctx, prepared, self._authorizer(ctx))
        if bulk:
            send(resp, {self.resource.collection: [self.view.render(ctx, c)
                                                   for c in created]}, 201)
        else:
            send(resp, {self.resource.name: self.view.render(ctx, created[0])}, 201)


def add_routes(app: falcon.App, core: Any) -> None:
    ext = core.ext_a
    policy, conf = core.policy, core.conf
    rules = ext.default_sg_rules
    path = f"/v2.0/{rules.resource.url_path}"
    app.add_route(path, Collection(rules, policy, conf))
    app.add_route(path + "/{resource_id}", NoUpdateMember(rules, policy))
    settings = ext.sg_default_statefulness
    path = f"/v2.0/{settings.resource.url_path}"
    app.add_route(path, StatefulnessCollection(settings, policy, conf))
    app.add_route(path + "/{resource_id}", Member(settings, policy))
