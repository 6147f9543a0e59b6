"""Routes of the services in services/extensions_a.py: the generic controller for
their collections, and what is not CRUD (see each class)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import falcon

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import Collection, Member, View, send
from neutrino.api.query import parse_list_query
from neutrino.context import Context
from neutrino.policy import Policy
from neutrino.resources import validators as v
from neutrino.services.flavors import FlavorService
from neutrino.services.service_providers import ServiceProviders


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


class ServiceProviderList:
    """GET /v2.0/service-providers: filters, fields and sorting; no ids, so no
    pagination links (other methods answer 405)."""

    def __init__(self, providers: ServiceProviders, policy: Policy, conf: Any) -> None:
        self.providers = providers
        self.view = View(providers.resource, policy)
        self.max_limit = conf.pagination_max_limit

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        params = parse_qsl(req.query_string, keep_blank_values=True)
        query = parse_list_query(self.providers.resource, params, self.max_limit)
        fields = [f for f in query.fields if f] or None
        items = [i for i in self.providers.list(ctx, query) if self.view.can_see(ctx, i)]
        send(resp, {"service_providers": [self.view.render(ctx, i, fields)
                                          for i in items]})


class FlavorProfiles:
    """POST /v2.0/flavors/{id}/service_profiles {"service_profile": {"id": ...}}:
    associate a service profile with the flavor."""

    def __init__(self, flavors: FlavorService, policy: Policy) -> None:
        self.flavors = flavors
        self.policy = policy

    def on_post(self, req: falcon.Request, resp: falcon.Response, resource_id: str
                ) -> None:
        flavor_id = resource_id
        ctx: Context = req.context.ctx
        body = bodies.decode(req.bounded_stream.read())
        if not isinstance(body, dict) or not isinstance(body.get("service_profile"), dict):
            raise exc.HTTPBadRequest("Unable to find 'service_profile' in request body")
        item = body["service_profile"]
        unknown = [k for k in item if k != "id"]
        if unknown:
            raise exc.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
        if "id" not in item:
            raise exc.HTTPBadRequest("Failed to parse request. Required attribute 'id' "
                                     "not specified")
        sp_id = v.uuid_value("id")(item["id"])
        self.policy.enforce(ctx, "create_flavor_service_profile",
                            {"flavor_id": flavor_id, "id": sp_id})
        send(resp, {"service_profile": self.flavors.associate(ctx, flavor_id, sp_id)}, 201)


class FlavorProfile:
    """DELETE /v2.0/flavors/{id}/service_profiles/{profile_id}: disassociate."""

    def __init__(self, flavors: FlavorService, policy: Policy) -> None:
        self.flavors = flavors
        self.policy = policy

    def on_delete(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                  profile_id: str) -> None:
        ctx: Context = req.context.ctx
        flavor_id = resource_id
        self.policy.enforce(ctx, "delete_flavor_service_profile",
                            {"flavor_id": flavor_id, "id": profile_id})
        self.flavors.disassociate(ctx, flavor_id, profile_id)
        resp.status = 204


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
    app.add_route("/v2.0/service-providers",
                  ServiceProviderList(ext.service_providers, policy, conf))
    for service in (ext.flavors, ext.service_profiles):
        path = f"/v2.0/{service.resource.url_path}"
        app.add_route(path, Collection(service, policy, conf))
        app.add_route(path + "/{resource_id}", Member(service, policy))
    app.add_route("/v2.0/flavors/{resource_id}/service_profiles",
                  FlavorProfiles(ext.flavors, policy))
    app.add_route("/v2.0/flavors/{resource_id}/service_profiles/{profile_id}",
                  FlavorProfile(ext.flavors, policy))
