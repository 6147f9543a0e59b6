"""Routes of security-groups-default-rules, security-groups-default-statefulness,
service-type, flavors' associations and binding-extended: what the generic loop of
`create_app` over `core.services` does not serve (see each class). Flavors and
service profiles themselves are ordinary collections there."""

from __future__ import annotations

from urllib.parse import parse_qsl

import falcon
from oslo_config import cfg

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import Collection, Member, View, send
from neutrino.api.query import parse_list_query
from neutrino.context import Context
from neutrino.core import Core
from neutrino.policy import Policy
from neutrino.resources import port_binding as pb
from neutrino.resources import validators as v
from neutrino.services import prepare
from neutrino.services.flavors import FlavorService
from neutrino.services.port_bindings_extended import PortBindingNotFound, PortBindingsExtended
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
            data = prepare.prepare_create(self.resource, item, ctx)
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

    def __init__(self, providers: ServiceProviders, policy: Policy, conf: cfg.ConfigOpts
                 ) -> None:
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


# -- binding-extended -----------------------------------------------------------------

BINDING_FILTERS = ("host", "vif_type", "vnic_type", "status")


def _binding_body(req: falcon.Request, allowed: tuple[str, ...]) -> dict:
    body = bodies.decode(req.bounded_stream.read())
    if not isinstance(body, dict) or not isinstance(body.get("binding"), dict):
        raise exc.HTTPBadRequest("Unable to find 'binding' in request body")
    item = body["binding"]
    unknown = [k for k in item if k not in (*allowed, "project_id", "tenant_id")]
    if unknown:
        raise exc.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    out: dict = {}
    if "host" in item:
        out["host"] = v.string("host", pb.HOST_MAX_LEN)(item["host"])
    if "vnic_type" in item:
        out["vnic_type"] = pb.convert_vnic_type(item["vnic_type"])
    if "profile" in item:
        out["profile"] = pb.convert_profile(item["profile"])
    return out


class _BindingAPI:
    def __init__(self, bindings: PortBindingsExtended, policy: Policy) -> None:
        self.bindings = bindings
        self.policy = policy

    def _authorize(self, ctx: Context, action: str, port_id: str) -> dict:
        target = self.bindings.owner(port_id)
        self.policy.enforce(ctx, action, target)
        return target

    def _may_read(self, ctx: Context, port_id: str) -> bool:
        return self.policy.check(ctx, "get_port_binding", self.bindings.owner(port_id))


def _fields(req: falcon.Request, binding: dict) -> dict:
    fields = [f for f in req.get_param_as_list("fields") or [] if f]
    return {k: binding[k] for k in fields if k in binding} if fields else binding


class PortBindingList(_BindingAPI):
    """GET (list, filters host/vif_type/vnic_type/status) and POST
    /v2.0/ports/{id}/bindings."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        filters: dict[str, list[str]] = {}
        for key, value in parse_qsl(req.query_string, keep_blank_values=True):
            if key == "fields":
                continue
            if key not in BINDING_FILTERS:
                raise exc.HTTPBadRequest(f"['{key}'] is invalid attribute for filtering")
            filters.setdefault(key, []).append(value)
        if not self._may_read(ctx, resource_id):
            send(resp, {"bindings": []})
            return
        send(resp, {"bindings": [_fields(req, b) for b in
                                 self.bindings.list(resource_id, filters)]})

    def on_post(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        item = _binding_body(req, ("host", "vnic_type", "profile"))
        if "host" not in item:
            raise exc.HTTPBadRequest("Failed to parse request. Required attribute 'host' "
                                     "not specified")
        self._authorize(ctx, "create_port_binding", resource_id)
        created = self.bindings.create(resource_id, item["host"],
                                       item.get("vnic_type", pb.VNIC_NORMAL),
                                       item.get("profile", {}))
        send(resp, {"binding": created}, 201)


class PortBindingItem(_BindingAPI):
    """GET, PUT (vnic_type, profile) and DELETE /v2.0/ports/{id}/bindings/{host}."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
               host: str) -> None:
        ctx: Context = req.context.ctx
        if not self._may_read(ctx, resource_id):
            raise PortBindingNotFound(port_id=resource_id, host=host)
        send(resp, {"binding": _fields(req, self.bindings.get(resource_id, host))})

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
               host: str) -> None:
        ctx: Context = req.context.ctx
        changes = _binding_body(req, ("vnic_type", "profile"))
        self._authorize(ctx, "update_port_binding", resource_id)
        send(resp, {"binding": self.bindings.update(ctx, resource_id, host, changes)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                  host: str) -> None:
        ctx: Context = req.context.ctx
        self._authorize(ctx, "delete_port_binding", resource_id)
        self.bindings.delete(ctx, resource_id, host)
        resp.status = 204


class PortBindingActivate(_BindingAPI):
    """PUT /v2.0/ports/{id}/bindings/{host}/activate."""

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
               host: str) -> None:
        ctx: Context = req.context.ctx
        self._authorize(ctx, "activate", resource_id)
        send(resp, {"binding": self.bindings.activate(ctx, resource_id, host)})


def add_routes(app: falcon.App, core: Core) -> None:
    policy, conf = core.policy, core.conf
    rules = core.default_security_group_rules
    path = f"/v2.0/{rules.resource.url_path}"
    app.add_route(path, Collection(rules, policy, conf))
    app.add_route(path + "/{resource_id}", NoUpdateMember(rules, policy))
    settings = core.security_group_default_statefulness
    path = f"/v2.0/{settings.resource.url_path}"
    app.add_route(path, StatefulnessCollection(settings, policy, conf))
    app.add_route(path + "/{resource_id}", Member(settings, policy))
    app.add_route("/v2.0/service-providers",
                  ServiceProviderList(core.service_providers, policy, conf))
    app.add_route("/v2.0/flavors/{resource_id}/service_profiles",
                  FlavorProfiles(core.flavors, policy))
    app.add_route("/v2.0/flavors/{resource_id}/service_profiles/{profile_id}",
                  FlavorProfile(core.flavors, policy))
    bindings = core.port_bindings
    app.add_route("/v2.0/ports/{resource_id}/bindings", PortBindingList(bindings, policy))
    app.add_route("/v2.0/ports/{resource_id}/bindings/{host}",
                  PortBindingItem(bindings, policy))
    app.add_route("/v2.0/ports/{resource_id}/bindings/{host}/activate",
                  PortBindingActivate(bindings, policy))
