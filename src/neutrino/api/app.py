"""The WSGI application: middleware, routes and the composition of services."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import falcon
from oslo_config import cfg

from neutrino import conf as conf_mod
from neutrino import exceptions as exc
from neutrino.api import (
    agent_scheduler,
    auto_allocated_topology,
    errors,
    middleware,
    router_actions,
)
from neutrino.api import extensions_a as extensions_a_api  # ext1
from neutrino.api.availability_zones import AvailabilityZones
from neutrino.api.controller import Collection, Member, send
from neutrino.api.extensions import BY_ALIAS, EXTENSIONS
from neutrino.api.quotas import QuotaDefault, QuotaDetails, QuotaList, QuotaProject
from neutrino.api.tags import Tag, Tags, TagStore
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.events import Registry
from neutrino.ml2.manager import ProviderNetworks, TypeManager
from neutrino.ml2.mechanism import MechanismManager
from neutrino.policy import Policy
from neutrino.services import (
    extensions_a,  # ext1
    floatingip_pools,
    l3_wiring,
    rbac_policies,
)
from neutrino.services.address_groups import AddressesAction, AddressGroupService
from neutrino.services.address_scopes import AddressScopeService, NetworkAddressScopes
from neutrino.services.agents import AgentService
from neutrino.services.allowed_address_pairs import AllowedAddressPairs
from neutrino.services.deps import Deps
from neutrino.services.dhcp_scheduler import DhcpScheduler
from neutrino.services.dns import NetworkDNS, PortDNS
from neutrino.services.external_networks import ExternalNetworks
from neutrino.services.extra_dhcp_opts import ExtraDhcpOpts
from neutrino.services.floatingips import FloatingIPService
from neutrino.services.ip_availability import (
    IpAvailabilityService,
    ReadOnlyCollection,
    ReadOnlyMember,
)
from neutrino.services.network_az import NetworkAvailabilityZones
from neutrino.services.network_segment_ranges import (
    NetworkSegmentRangeService,
    ranges_of,
    sync_default_ranges,
)
from neutrino.services.networks import NetworkService
from neutrino.services.port_attributes import (
    PortDeviceProfile,
    PortTrustedVif,
    UplinkStatusPropagation,
)
from neutrino.services.port_binding import PortBindings
from neutrino.services.port_security import NetworkPortSecurity, PortPortSecurity
from neutrino.services.port_security_groups import PortSecurityGroups
from neutrino.services.ports import PortService
from neutrino.services.quotas import QuotaService
from neutrino.services.rbac_policies import RbacPolicyService
from neutrino.services.routers import RouterService
from neutrino.services.security_groups import SecurityGroupRuleService, SecurityGroupService
from neutrino.services.segments import SegmentService
from neutrino.services.subnetpools import PrefixesAction, SubnetPoolService
from neutrino.services.subnets import SubnetService

LOG = logging.getLogger(__name__)


@dataclass
class Core:
    """Everything a process serving the API holds."""

    conf: cfg.ConfigOpts
    db: Database
    events: Registry
    policy: Policy
    quotas: QuotaService
    networks: NetworkService
    subnets: SubnetService
    ports: PortService
    security_groups: SecurityGroupService
    security_group_rules: SecurityGroupRuleService
    address_groups: AddressGroupService
    agents: AgentService
    ip_availability: IpAvailabilityService
    # The RPC servers (neutrino.rpc.server.RpcService), once the process starts them.
    rpc: Any = None
    # DHCP scheduling (services/dhcp_scheduler.py) and, once the process starts it,
    # the notifier to agents (rpc/notifier.py) and the periodic agent check.
    dhcp_scheduler: Any = None
    notifier: Any = None
    agent_monitor: Any = None
    # L3 (routers, floating IPs): built by neutrino.services.l3_wiring.attach.
    routers: RouterService | None = None
    floatingips: FloatingIPService | None = None
    router_interfaces: Any = None
    rbac_policies: RbacPolicyService | None = None
    subnetpools: SubnetPoolService | None = None
    address_scopes: AddressScopeService | None = None
    segments: SegmentService | None = None
    network_segment_ranges: NetworkSegmentRangeService | None = None
    # ext1: default SG rules/statefulness, service providers, flavors, port bindings.
    ext_a: extensions_a.ExtensionsA | None = None

    @property
    def services(self) -> list[Any]:
        return [self.networks, self.subnets, self.ports, self.security_groups,
                self.security_group_rules, self.address_groups, self.agents,
                *[s for s in (self.routers, self.floatingips, self.rbac_policies,
                              self.subnetpools, self.address_scopes, self.segments,
                              self.network_segment_ranges)
                  if s is not None]]


def build_core(conf: cfg.ConfigOpts, db: Database | None = None) -> Core:
    db = db or Database(conf_mod.database_url(conf), conf.database.max_pool_size,
                        conf.database.max_overflow, conf.database.pool_timeout,
                        conf.database.max_retries)
    registry = Registry()
    quotas = QuotaService(conf, db)
    quotas.register("network", models.Network, "quota_network")
    quotas.register("subnet", models.Subnet, "quota_subnet")
    # Upstream has no option of its own for subnet pools: default_quota (-1).
    quotas.register("subnetpool", models.SubnetPool, "default_quota")
    quotas.register("port", models.Port, "quota_port")
    quotas.register("security_group", models.SecurityGroup, "quota_security_group")
    quotas.register("security_group_rule", models.SecurityGroupRule,
                    "quota_security_group_rule")
    quotas.register("router", models.Router, "quota_router")
    quotas.register("floatingip", models.FloatingIP, "quota_floatingip")
    quotas.register("rbac_policy", models.RbacPolicy, "quota_rbac_policy")
    deps = Deps(conf=conf, db=db, events=registry, quotas=quotas)
    types = TypeManager(conf)
    # Segmentation ids come from network_segment_ranges; the configured ranges are
    # the default ones.
    types.use_ranges(ranges_of)
    sync_default_ranges(db, types)
    types.sync_allocations(db)
    types.subscribe(registry)
    # Features that add attributes to networks and ports, in the order they run
    # (port security before what depends on it).
    network_extensions: list = [ProviderNetworks(types), NetworkPortSecurity(),
                                NetworkAvailabilityZones(), NetworkDNS(), ExternalNetworks(),
                                NetworkAddressScopes()]
    agents = AgentService(deps)
    # Port binding asks the agents' reports (alive, configurations) where it binds.
    mechanisms = MechanismManager(conf, agents.to_dicts)
    port_extensions: list = [PortPortSecurity(),
                             AllowedAddressPairs(conf.max_allowed_address_pair),
                             PortSecurityGroups(), ExtraDhcpOpts(),
                             PortBindings(mechanisms), PortDNS(conf),
                             # after the binding: trusted shows in binding:profile
                             UplinkStatusPropagation(), PortDeviceProfile(),
                             PortTrustedVif()]
    core = Core(conf=conf, db=db, events=registry, policy=Policy(conf), quotas=quotas,
                networks=NetworkService(deps, network_extensions, types.max_mtu),
                subnets=SubnetService(deps), ports=PortService(deps, port_extensions),
                security_groups=SecurityGroupService(deps),
                security_group_rules=SecurityGroupRuleService(deps),
                address_groups=AddressGroupService(deps), agents=agents,
                ip_availability=IpAvailabilityService(deps))
    l3_wiring.attach(core, deps)
    core.rbac_policies = RbacPolicyService(deps)
    core.subnetpools = SubnetPoolService(deps)
    core.address_scopes = AddressScopeService(deps)
    core.segments = SegmentService(deps, types)
    core.segments.subscribe(registry)
    core.network_segment_ranges = NetworkSegmentRangeService(deps, types)
    rbac_policies.subscribe(registry)
    core.dhcp_scheduler = DhcpScheduler(deps, agents, core.ports)
    core.dhcp_scheduler.subscribe(registry)
    core.ext_a = extensions_a.build(core, deps)  # ext1
    return core


class Versions:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
            {"rel": "self", "href": f"{req.prefix}/v2.0/"}]}]})


class V2Root:
    def __init__(self, services: list[Any]) -> None:
        self.resources = [s.resource for s in services]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"resources": [
            {"name": r.name, "collection": r.collection,
             "links": [{"rel": "self", "href": f"{req.prefix}/v2.0/{r.url_path}"}]}
            for r in self.resources]})


class ExtensionList:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"extensions": [e.to_dict() for e in EXTENSIONS]})


class ExtensionShow:
    def on_get(self, req: falcon.Request, resp: falcon.Response, alias: str) -> None:
        ext = BY_ALIAS.get(alias)
        if ext is None:
            raise exc.NotFound(f"Extension with alias {alias} does not exist")
        send(resp, {"extension": ext.to_dict()})


def create_app(core: Core) -> falcon.App:
    conf = core.conf
    app = falcon.App(middleware=[middleware.RequestId(),
                                 middleware.ContextFromHeaders(core.policy,
                                                               conf.auth_strategy)])
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
    app.add_route("/v2.0/extensions", ExtensionList())
    app.add_route("/v2.0/extensions/{alias}", ExtensionShow())
    for service in core.services:
        path = f"/v2.0/{service.resource.url_path}"
        member = Member(service, core.policy)
        app.add_route(path, Collection(service, core.policy, conf))
        app.add_route(path + "/{resource_id}", member)
        if service.resource.tag_support:
            store = TagStore(core.db, service.model, service.resource.collection)
            tags = Tags(member, store)
            app.add_route(path + "/{resource_id}/tags", tags)
            app.add_route(path + "/{resource_id}/tags/{tag}", Tag(tags))
        if service is core.address_groups:
            for action, add in (("add_addresses", True), ("remove_addresses", False)):
                app.add_route(f"{path}/{{resource_id}}/{action}",
                              AddressesAction(member, service, add))
    if core.subnetpools is not None:
        pool_member = Member(core.subnetpools, core.policy)
        for action, add in (("add_prefixes", True), ("remove_prefixes", False)):
            app.add_route(f"/v2.0/subnetpools/{{resource_id}}/{action}",
                          PrefixesAction(pool_member, core.subnetpools, add))
    router_actions.add_routes(app, core)
    agent_scheduler.add_routes(app, core)
    floatingip_pools.add_routes(app, core)
    auto_allocated_topology.add_routes(app, core)
    extensions_a_api.add_routes(app, core)  # ext1
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
    return app


def wsgi_app(core: Core) -> Any:
    """The app wrapped for the configured auth strategy."""
    app = create_app(core)
    if core.conf.auth_strategy != "keystone":
        return app
    from neutrino.api.keystone import wrap_keystone
    return wrap_keystone(app, core.conf)
