"""The WSGI application: middleware, routes and HTTP concerns. What it serves is
built by the composition root (neutrino/core.py): `create_app(core)`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import falcon

from neutrino import exceptions as exc
from neutrino.api import (
    agent_scheduler,
    auto_allocated_topology,
    errors,
    extensions_a,
    fwaas,
    l3_agent_scheduler,
    limits,
    logs,
    member_actions,
    metering,
    metrics,
    middleware,
    notifications,
    octavia,
    openapi,
    port_forwardings,
    qos,
    status,
    topology,
    warmup,
)
from neutrino.api.availability_zones import AvailabilityZones
from neutrino.api.controller import (
    Collection,
    Member,
    ReadOnlyCollection,
    ReadOnlyMember,
    Service,
    send,
)
from neutrino.api.extensions import BY_ALIAS, EXTENSIONS
from neutrino.api.quotas import QuotaDefault, QuotaDetails, QuotaList, QuotaProject
from neutrino.api.tags import Tag, Tags
from neutrino.core import Core

LOG = logging.getLogger(__name__)


class Versions:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
            {"rel": "self", "href": f"{req.prefix}/v2.0/"}]}]})


class V2Root:
    def __init__(self, services: list[Service]) -> None:
        self.resources = [s.resource for s in services]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"resources": [
            {"name": r.name, "collection": r.collection,
             "links": [{"rel": "self", "href": f"{req.prefix}/v2.0/{r.url_path}"}]}
            for r in self.resources]})


class ExtensionList:
    def __init__(self, left_out: frozenset[str] = frozenset()) -> None:
        # The aliases of service plugins not loaded (service_plugins).
        self.left_out = left_out

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"extensions": [e.to_dict() for e in EXTENSIONS
                                   if e.alias not in self.left_out]})


class ExtensionShow:
    def __init__(self, left_out: frozenset[str] = frozenset()) -> None:
        self.left_out = left_out

    def on_get(self, req: falcon.Request, resp: falcon.Response, alias: str) -> None:
        ext = BY_ALIAS.get(alias) if alias not in self.left_out else None
        if ext is None:
            raise exc.NotFound(f"Extension with alias {alias} does not exist")
        send(resp, {"extension": ext.to_dict()})


def create_app(core: Core) -> falcon.App:
    conf = core.conf
    chain = [middleware.RequestId(),
             limits.RequestLimits(conf.oslo_middleware.max_request_body_size),
             middleware.ContextFromHeaders(core.policy, conf.auth_strategy),
             notifications.ResourceNotifications(core.notifications)]
    if conf.metrics.listen_port:
        # Prometheus (issue 15): a listener of this worker's own (api/metrics.py).
        server_metrics = metrics.ServerMetrics(core)
        server_metrics.serve(conf.metrics.listen_host, conf.metrics.listen_port,
                             tries=conf.api_workers)
        chain.append(server_metrics)
    app = falcon.App(middleware=chain)
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    app.resp_options.secure_cookies_by_default = False
    app.add_error_handler(Exception, errors.handle_unexpected)
    app.add_error_handler(falcon.HTTPError, errors.handle_falcon_error)
    app.add_error_handler(exc.NeutronError, errors.handle_neutron_error)

    app.add_route("/", Versions())
    # Upstream lists only the core collections here, not extensions' ones.
    app.add_route("/v2.0", V2Root([core.networks, core.subnets, core.subnetpools,
                                   core.ports]))
    # FWaaS v2 (issue 16): its alias only with its service plugin.
    left_out = frozenset() if core.fwaas is not None else frozenset({"fwaas_v2"})
    if core.vpnaas is None:  # VPNaaS (issue 16): likewise
        left_out |= {"vpnaas", "vpn-endpoint-groups"}
    app.add_route("/v2.0/extensions", ExtensionList(left_out))
    app.add_route("/v2.0/extensions/{alias}", ExtensionShow(left_out))
    members: dict[str, Member] = {}
    # Upstream serves network-segment-ranges (tempest's and openstack-cli's path); the
    # API reference's and openstacksdk's network_segment_ranges stays too.
    also = {"network_segment_ranges": ["network-segment-ranges"]}
    # Upstream's tags of QoS policies are at /v2.0/policies/{id}/tags (its tagging
    # extension names the collection without the qos/ prefix; tempest's path).
    tags_also = {"policies": ["policies"]}
    for service in core.services:
        member = members[service.resource.url_path] = Member(service, core.policy)
        collection = Collection(service, core.policy, conf)
        store = core.tags.get(service.resource.collection)
        tags = Tags(member, store) if store is not None else None
        for url_path in [service.resource.url_path, *also.get(service.resource.collection, [])]:
            path = f"/v2.0/{url_path}"
            app.add_route(path, collection)
            app.add_route(path + "/{resource_id}", member)
            if tags is not None:
                app.add_route(path + "/{resource_id}/tags", tags)
                app.add_route(path + "/{resource_id}/tags/{tag}", Tag(tags))
        for url_path in tags_also.get(service.resource.collection, []) \
                if tags is not None else []:
            app.add_route(f"/v2.0/{url_path}/{{resource_id}}/tags", tags)
            app.add_route(f"/v2.0/{url_path}/{{resource_id}}/tags/{{tag}}", Tag(tags))
    member_actions.add_routes(app, core, members)
    l3_agent_scheduler.add_routes(app, core)
    agent_scheduler.add_routes(app, core)
    # GET only: other methods answer 405, as upstream (no member resource either).
    # Upstream's path is floatingip-pools (tempest's); floatingip_pools stays for the
    # clients that already use it.
    pools = ReadOnlyCollection(Collection(core.floatingip_pools, core.policy, conf))
    for pools_path in ("/v2.0/floatingip-pools", "/v2.0/floatingip_pools"):
        app.add_route(pools_path, pools)
    auto_allocated_topology.add_routes(app, core)
    # QoS (issue 14): the policies are a collection above; their rules and the rule types.
    qos.add_routes(app, core, members[core.qos_policies.resource.url_path])
    # Port forwardings (issue 14): a sub-resource of the floating IPs.
    port_forwardings.add_routes(app, core, members[core.floatingips.resource.url_path])
    extensions_a.add_routes(app, core)
    metering.add_routes(app, core, conf)  # Metering (issue 14)
    logs.add_routes(app, core)  # Security group logging (issue 14)
    fwaas.add_routes(app, core)  # FWaaS v2 (issue 16): insert_rule, remove_rule
    app.add_route("/v2.0/availability_zones", AvailabilityZones(core.agents, core.policy))
    ip_path = f"/v2.0/{core.ip_availability.resource.url_path}"
    app.add_route(ip_path, ReadOnlyCollection(Collection(core.ip_availability, core.policy,
                                                         conf)))
    app.add_route(ip_path + "/{resource_id}",
                  ReadOnlyMember(Member(core.ip_availability, core.policy)))
    app.add_route("/v2.0/quotas", QuotaList(core.quotas, core.policy))
    app.add_route("/v2.0/quotas/{project_id}", QuotaProject(core.quotas, core.policy))
    app.add_route("/v2.0/quotas/{project_id}/default", QuotaDefault(core.quotas, core.policy))
    app.add_route("/v2.0/quotas/{project_id}/details", QuotaDetails(core.quotas, core.policy))
    # The generic controller's collections as an OpenAPI document (issue 18).
    app.add_route("/v2.0/openapi.json", openapi.OpenAPIDocument([
        *(openapi.Served(s.resource, tags=s.resource.collection in core.tags)
          for s in core.services),
        openapi.Served(core.ip_availability.resource, openapi.READ_ONLY),
        openapi.Served(core.floatingip_pools.resource, ("list",),
                       path="floatingip-pools")]))
    status.add_routes(app, core)  # GET /v2.0/neutrino/status (neutrino status)
    topology.add_routes(app, core)  # /topology and its data (issue 15)
    if core.lbaas is not None:  # Load balancing (issue 16): /v2/lbaas (Octavia v2)
        octavia.add_routes(app, core.lbaas, core.policy)
    return app


def wsgi_app(core: Core, warm: bool = False) -> Callable[..., Iterable[bytes]]:
    """The app wrapped for the configured auth strategy; `warm`: first asked what
    clients ask most (api/warmup.py), as a worker does before it serves."""
    app = create_app(core)
    if warm:
        warmup.warm(app)
    if core.conf.auth_strategy != "keystone":
        return app
    from neutrino.api.keystone import wrap_keystone
    return wrap_keystone(app, core.conf)
