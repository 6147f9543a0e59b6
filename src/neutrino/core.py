"""The composition root: everything a server process holds, built once, in order.

`build_core(conf)` makes the database, the event registry, policy, quotas, the ML2
type and mechanism managers, the schedulers, the agent notifier and every service,
each from what was built before it; the `Core` it returns is frozen (nothing is
filled in later). Subscriptions to the event registry are made here, visibly, in the
order they run.

What only exists once a process runs (the RPC servers, the notifier's thread, the
periodic agent check) is `ServerRuntime(core)`; the HTTP app is
`neutrino.api.app.create_app(core)`; the process entry points are in `neutrino.cmd`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import oslo_messaging
from oslo_config import cfg

from neutrino import conf as conf_mod
from neutrino.contract import bus as rpc_transport
from neutrino.contract import topics
from neutrino.contract.lbaas import LBAAS_AGENT
from neutrino.contract.metering import METERING_AGENT
from neutrino.db import bounds, models
from neutrino.db.engine import Database
from neutrino.events import Registry
from neutrino.ml2.manager import ProviderNetworks, TypeManager
from neutrino.ml2.mechanism import MechanismManager
from neutrino.policy import Policy
from neutrino.rpc import server as rpc_server
from neutrino.rpc.notifier import Cast, Notifier
from neutrino.services import l3_agent_sync, l3_port_checks, qos_l3, rbac_policies
from neutrino.services.address_groups import AddressGroupService
from neutrino.services.address_scopes import AddressScopeService, NetworkAddressScopes
from neutrino.services.agents import AgentService
from neutrino.services.allowed_address_pairs import AllowedAddressPairs
from neutrino.services.auto_allocated_topology import AutoAllocatedTopologyService
from neutrino.services.default_security_group_rules import (
    DefaultSecurityGroupRuleService,
    SecurityGroupDefaultStatefulnessService,
)
from neutrino.services.deps import Deps
from neutrino.services.dhcp_scheduler import AgentMonitor, DhcpScheduler
from neutrino.services.dns import NetworkDNS, PortDNS
from neutrino.services.extensions import ResourceExtension
from neutrino.services.external_networks import ExternalNetworks
from neutrino.services.extra_dhcp_opts import ExtraDhcpOpts
from neutrino.services.flavors import FlavorService, ServiceProfileService
from neutrino.services.floatingip_pools import FloatingIPPoolService
from neutrino.services.floatingips import FloatingIPService
from neutrino.services.fwaas import FirewallPolicyService, FirewallRuleService
from neutrino.services.fwaas import enabled as fwaas_enabled
from neutrino.services.fwaas_groups import FirewallGroupService, Fwaas
from neutrino.services.fwaas_groups import build as build_fwaas
from neutrino.services.ip_availability import IpAvailabilityService
from neutrino.services.l3_ha import RouterHa
from neutrino.services.l3_notifier import L3AgentNotifier
from neutrino.services.l3_scheduler import L3Scheduler, subscribe_agents
from neutrino.services.log_notifier import LogAgentNotifier
from neutrino.services.logs import LogService
from neutrino.services.metering import (
    MeteringAgentNotifier,
    MeteringLabelRuleService,
    MeteringLabelService,
)
from neutrino.services.network_az import NetworkAvailabilityZones
from neutrino.services.network_ha import NetworkHA
from neutrino.services.network_segment_ranges import (
    NetworkSegmentRangeService,
    ranges_of,
    sync_default_ranges,
)
from neutrino.services.networks import NetworkService
from neutrino.services.notifications import NotificationSender
from neutrino.services.nova_notifier import NovaNotifier
from neutrino.services.octavia import LoadBalancingService
from neutrino.services.port_attributes import (
    PortDeviceProfile,
    PortNumaAffinityPolicy,
    PortTrustedVif,
    UplinkStatusPropagation,
)
from neutrino.services.port_binding import PortBindings
from neutrino.services.port_bindings_extended import PortBindingsExtended
from neutrino.services.port_forwardings import PortForwardingService
from neutrino.services.port_security import NetworkPortSecurity, PortPortSecurity
from neutrino.services.port_security_groups import PortSecurityGroups
from neutrino.services.ports import PortService
from neutrino.services.qos_bindings import NetworkQos, PortQos, validate_use
from neutrino.services.qos_drivers import QosDrivers
from neutrino.services.qos_notifier import NetworkIds, QosAgentNotifier
from neutrino.services.qos_policies import QosPolicyService
from neutrino.services.quotas import QuotaService
from neutrino.services.rbac_policies import RbacPolicyService
from neutrino.services.router_interfaces import RouterInterfaces
from neutrino.services.router_scheduling import RouterScheduling
from neutrino.services.routers import RouterService
from neutrino.services.security_groups import SecurityGroupRuleService, SecurityGroupService
from neutrino.services.segments import SegmentService
from neutrino.services.service_providers import ServiceProviders
from neutrino.services.subnetpools import SubnetPoolService
from neutrino.services.subnets import SubnetService
from neutrino.services.tags import ResourceTags
from neutrino.services.trunks import TrunkDetails, TrunkService
from neutrino.services.vpnaas import enabled as vpnaas_enabled
from neutrino.services.vpnaas_connections import Vpnaas
from neutrino.services.vpnaas_connections import build as build_vpnaas

LOG = logging.getLogger(__name__)

# The CRUD services, in the order their routes are added (a collection's service).
CrudService = (NetworkService | SubnetService | PortService | SecurityGroupService
               | SecurityGroupRuleService | AddressGroupService | AgentService
               | RouterService | FloatingIPService | RbacPolicyService | SubnetPoolService
               | AddressScopeService | SegmentService | NetworkSegmentRangeService
               | QosPolicyService | FlavorService | ServiceProfileService
               | TrunkService | LogService
               | FirewallRuleService | FirewallPolicyService | FirewallGroupService)


@dataclass(frozen=True)
class Core:
    """Everything a process serving the API or the bus holds; built by `build_core`."""

    conf: cfg.ConfigOpts
    db: Database
    events: Registry
    policy: Policy
    quotas: QuotaService
    types: TypeManager
    mechanisms: MechanismManager
    # Casts to the agents; its thread runs once a ServerRuntime starts it.
    notifier: Notifier
    networks: NetworkService
    subnets: SubnetService
    ports: PortService
    security_groups: SecurityGroupService
    security_group_rules: SecurityGroupRuleService
    address_groups: AddressGroupService
    agents: AgentService
    ip_availability: IpAvailabilityService
    floatingip_pools: FloatingIPPoolService
    routers: RouterService
    router_interfaces: RouterInterfaces
    router_scheduling: RouterScheduling
    floatingips: FloatingIPService
    rbac_policies: RbacPolicyService
    subnetpools: SubnetPoolService
    address_scopes: AddressScopeService
    segments: SegmentService
    network_segment_ranges: NetworkSegmentRangeService
    dhcp_scheduler: DhcpScheduler
    auto_allocated_topology: AutoAllocatedTopologyService
    # QoS (issue 14): what the loaded mechanism drivers apply, and the policies
    # (their rules are sub-resources: api/qos.py).
    qos_drivers: QosDrivers
    qos_policies: QosPolicyService
    # The templates of new groups' rules (security-groups-default-rules) and the
    # default statefulness of new groups (security-groups-default-statefulness).
    default_security_group_rules: DefaultSecurityGroupRuleService
    security_group_default_statefulness: SecurityGroupDefaultStatefulnessService
    # service-type: GET /v2.0/service-providers; flavors + l3-flavors.
    service_providers: ServiceProviders
    flavors: FlavorService
    service_profiles: ServiceProfileService
    # binding-extended: /v2.0/ports/{id}/bindings.
    port_bindings: PortBindingsExtended
    # Trunks (issue 14): /v2.0/trunks, its sub-port actions, trunk_details on ports.
    trunks: TrunkService
    # Metering (issue 14): labels and rules (no update: api/metering.py routes them).
    metering_labels: MeteringLabelService
    metering_label_rules: MeteringLabelRuleService
    # Floating IP port forwardings (issue 14): /v2.0/floatingips/{id}/port_forwardings.
    port_forwardings: PortForwardingService
    # Security group logging (issue 14): /v2.0/log/logs.
    logs: LogService
    # The collections' services (routes, tags and `/v2.0` links follow them).
    services: tuple[CrudService, ...]
    # The tags of every collection with tag support, by collection name.
    tags: dict[str, ResourceTags]
    # Resource notifications on the notification bus (issue 15); its thread runs
    # once a ServerRuntime starts it.
    notifications: NotificationSender
    # Port events to Nova (issue 15), subscribed here; its thread runs with the
    # ServerRuntime.
    nova_notifier: NovaNotifier
    # Load balancing (issue 16): the Octavia v2 API, when service_plugins has it.
    lbaas: LoadBalancingService | None = None
    # FWaaS v2 (issue 16): None unless firewall_v2 is in service_plugins.
    fwaas: Fwaas | None = None
    # VPNaaS (issue 16): None unless vpnaas is in service_plugins.
    vpnaas: Vpnaas | None = None


def database(conf: cfg.ConfigOpts) -> Database:
    """The configured database (engine and pool options of [database])."""
    return Database(conf_mod.database_url(conf), conf.database.max_pool_size,
                    conf.database.max_overflow, conf.database.pool_timeout,
                    conf.database.max_retries, conf.database.connect_timeout,
                    conf.database.transaction_timeout)


def _quotas(conf: cfg.ConfigOpts, db: Database) -> QuotaService:
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
    if fwaas_enabled(conf):  # FWaaS v2 (issue 16): upstream lists them when loaded
        quotas.register("firewall_group", models.FirewallGroup, "quota_firewall_group")
        quotas.register("firewall_policy", models.FirewallPolicy,
                        "quota_firewall_policy")
        quotas.register("firewall_rule", models.FirewallRule, "quota_firewall_rule")
    if vpnaas_enabled(conf):  # VPNaaS (issue 16): with its service plugin
        for name, model in (("vpnservice", models.VPNService),
                            ("ipsec_site_connection", models.IPsecSiteConnection),
                            ("ikepolicy", models.IKEPolicy),
                            ("ipsecpolicy", models.IPsecPolicy),
                            ("endpoint_group", models.VPNEndpointGroup)):
            quotas.register(name, model, f"quota_{name}")
    return quotas


def _routers_updated(notifier: Notifier) -> L3AgentNotifier:
    """The L3 agents' notifications go out through the process's notifier."""
    def cast(router_ids: list[str]) -> None:
        notifier.enqueue(Cast(topics.L3_AGENT, "routers_updated", {"routers": router_ids}))
    return L3AgentNotifier(cast)


def _qos_networks_updated(notifier: Notifier, db: Database) -> QosAgentNotifier:
    """QoS policy changes go out as network_update casts through the notifier; the
    affected networks are listed on its thread."""
    def cast(network_ids: NetworkIds) -> None:
        notifier.enqueue(lambda: [
            Cast(topics.NETWORK_UPDATE, "network_update",
                 {"network": {"id": i, "revision_number": None}})
            for i in network_ids()])
    return QosAgentNotifier(db, cast)


def _logs_networks_updated(notifier: Notifier, db: Database) -> LogAgentNotifier:
    """Security-group log changes go out as network_update casts for the networks
    of the ports they cover, listed on the notifier's thread (as for QoS)."""
    def cast(network_ids: NetworkIds) -> None:
        notifier.enqueue(lambda: [
            Cast(topics.NETWORK_UPDATE, "network_update",
                 {"network": {"id": i, "revision_number": None}})
            for i in network_ids()])
    return LogAgentNotifier(db, cast)


def _metering_agents_notified(notifier: Notifier) -> MeteringAgentNotifier:
    """Label and rule changes go to the metering agents' fanout (upstream's topic)."""
    def cast(method: str) -> None:
        notifier.enqueue(Cast(METERING_AGENT, method, {}))
    return MeteringAgentNotifier(cast)


def _lbaas(conf: cfg.ConfigOpts, deps: Deps, ports: PortService, notifier: Notifier
           ) -> LoadBalancingService | None:
    """Load balancing when enabled; its changes go to the agents' fanout."""
    if not conf_mod.lbaas_enabled(conf):
        return None
    opts = conf.lbaas
    defaults = {name: getattr(opts, f"default_{name}_quota") for name in (
        "load_balancer", "listener", "pool", "member", "health_monitor", "l7policy",
        "l7rule")}
    return LoadBalancingService(
        deps, ports, lambda: notifier.enqueue(Cast(LBAAS_AGENT, "loadbalancers_updated", {})),
        opts.default_provider_driver, defaults)


def build_core(conf: cfg.ConfigOpts, db: Database | None = None) -> Core:
    db = db or database(conf)
    # Values a column cannot hold are a 400, never a database error (issue 18).
    bounds.guard_statements()
    registry = Registry()
    quotas = _quotas(conf, db)
    deps = Deps(conf=conf, db=db, events=registry, quotas=quotas)
    policy = Policy(conf)
    types = TypeManager(conf)
    # Segmentation ids come from network_segment_ranges; the configured ranges are
    # the default ones.
    types.use_ranges(ranges_of)
    sync_default_ranges(db, types)
    types.sync_allocations(db)
    types.subscribe(registry)
    # QoS (issue 14): qos_policy_id on networks and ports, checked against what the
    # loaded drivers apply.
    qos_drivers = QosDrivers(conf.ml2.mechanism_drivers)
    # Features that add attributes to networks and ports, in the order they run
    # (port security before what depends on it).
    network_extensions: list[ResourceExtension] = [
        ProviderNetworks(types), NetworkPortSecurity(), NetworkAvailabilityZones(), NetworkHA(),
        NetworkDNS(), ExternalNetworks(), NetworkAddressScopes(), NetworkQos(qos_drivers)]
    agents = AgentService(deps)
    # Port binding asks the agents' reports (alive, configurations) where it binds.
    mechanisms = MechanismManager(conf, agents.to_dicts)
    port_extensions: list[ResourceExtension] = [
        PortPortSecurity(), AllowedAddressPairs(conf.max_allowed_address_pair),
        PortSecurityGroups(), ExtraDhcpOpts(), PortBindings(mechanisms), PortDNS(conf),
        # after the binding: trusted shows in binding:profile
        UplinkStatusPropagation(), PortDeviceProfile(), PortTrustedVif(),
        PortNumaAffinityPolicy(),
        # after the binding: the policy's rules are checked against the vnic type
        PortQos(qos_drivers),
        TrunkDetails()]
    networks = NetworkService(deps, network_extensions, types.max_mtu)
    subnets = SubnetService(deps)
    ports = PortService(deps, port_extensions)
    notifier = Notifier(conf, db)

    # L3: routers, their interfaces, floating IPs, scheduling, the agents' casts.
    l3_scheduler = L3Scheduler(conf.agent_down_time, conf.max_l3_agents_per_router)
    router_ha = RouterHa(db, conf, networks, subnets, ports)
    routers = RouterService(deps, ports, l3_scheduler, policy, router_ha)
    router_interfaces = RouterInterfaces(routers)
    floatingips = FloatingIPService(deps, ports)
    # Port deletes: router-owned ports are refused, floating IPs disassociated.
    floatingips.subscribe(registry)
    l3_port_checks.subscribe(registry)
    l3_notifier = _routers_updated(notifier)
    l3_notifier.subscribe(registry)
    subscribe_agents(registry, db, l3_scheduler, l3_notifier.routers_updated)
    # Floating IPs left without a router go DOWN (no agent reports them any more).
    l3_agent_sync.subscribe(registry, db)
    # Port forwardings: a deleted port takes its own, a port losing an address too.
    port_forwardings = PortForwardingService(deps, floatingips)
    port_forwardings.subscribe(registry)

    segments = SegmentService(deps, types)
    segments.subscribe(registry)
    rbac_policies.subscribe(registry)
    dhcp_scheduler = DhcpScheduler(deps, agents, ports)
    dhcp_scheduler.subscribe(registry)
    qos_policies = QosPolicyService(deps, validate_use(qos_drivers))
    _qos_networks_updated(notifier, db).subscribe(registry)
    # ... and the routers whose floating IPs or gateway use a policy that changed.
    qos_l3.subscribe(registry, db, l3_notifier.routers_updated)

    # Flavors: a router created with a flavor_id is checked against them.
    service_providers = ServiceProviders(conf.service_providers.service_provider)
    flavors = FlavorService(deps, service_providers)
    flavors.subscribe(registry)
    service_profiles = ServiceProfileService(deps, service_providers)
    _metering_agents_notified(notifier).subscribe(registry)

    security_groups = SecurityGroupService(deps)
    security_group_rules = SecurityGroupRuleService(deps)
    address_groups = AddressGroupService(deps)
    rbac = RbacPolicyService(deps)
    subnetpools = SubnetPoolService(deps)
    address_scopes = AddressScopeService(deps)
    segment_ranges = NetworkSegmentRangeService(deps, types)
    # Trunks: ports in a trunk are not deleted; sub-ports follow their parent.
    trunks = TrunkService(deps, ports)
    trunks.subscribe(registry)
    logs = LogService(deps)
    logs.subscribe(registry)
    _logs_networks_updated(notifier, db).subscribe(registry)
    nova_notifier = NovaNotifier(conf, db).subscribe(registry)
    services: tuple[CrudService, ...] = (
        networks, subnets, ports, security_groups, security_group_rules, address_groups,
        agents, routers, floatingips, rbac, subnetpools, address_scopes, segments,
        segment_ranges, qos_policies, flavors, service_profiles, trunks, logs)
    # FWaaS v2 (issue 16): a deleted port leaves its group; changes tell the L3 agents.
    fwaas = build_fwaas(deps, l3_notifier.routers_updated,
                        conf_mod.default_fwg_rules(conf)) if fwaas_enabled(conf) \
        else None
    if fwaas is not None:
        fwaas.groups.subscribe(registry)
        services += fwaas.services
    # VPNaaS (issue 16): routers and subnets in use stay; changes tell the L3 agents.
    vpnaas = build_vpnaas(deps, l3_notifier.routers_updated) if vpnaas_enabled(conf) \
        else None
    if vpnaas is not None:
        vpnaas.vpnservices.subscribe(registry)
        services += vpnaas.services
    tags = {s.resource.collection: ResourceTags(db, s.model, s.resource.collection)
            for s in services if s.resource.tag_support}
    return Core(
        conf=conf, db=db, events=registry, policy=policy, quotas=quotas, types=types,
        mechanisms=mechanisms, notifier=notifier, networks=networks, subnets=subnets,
        ports=ports, security_groups=security_groups,
        security_group_rules=security_group_rules, address_groups=address_groups,
        agents=agents, ip_availability=IpAvailabilityService(deps),
        floatingip_pools=FloatingIPPoolService(deps), routers=routers,
        router_interfaces=router_interfaces,
        router_scheduling=RouterScheduling(deps, routers, agents),
        floatingips=floatingips, rbac_policies=rbac, subnetpools=subnetpools,
        address_scopes=address_scopes, segments=segments,
        network_segment_ranges=segment_ranges, dhcp_scheduler=dhcp_scheduler,
        auto_allocated_topology=AutoAllocatedTopologyService(
            db, networks, subnets, routers, router_interfaces),
        qos_drivers=qos_drivers, qos_policies=qos_policies,
        default_security_group_rules=DefaultSecurityGroupRuleService(deps),
        security_group_default_statefulness=SecurityGroupDefaultStatefulnessService(deps),
        service_providers=service_providers, flavors=flavors,
        service_profiles=service_profiles,
        port_bindings=PortBindingsExtended(deps, mechanisms, ports),
        trunks=trunks,
        metering_labels=MeteringLabelService(deps),
        metering_label_rules=MeteringLabelRuleService(deps),
        port_forwardings=port_forwardings,
        logs=logs,
        services=services, tags=tags, notifications=NotificationSender(conf),
        nova_notifier=nova_notifier, lbaas=_lbaas(conf, deps, ports, notifier),
        fwaas=fwaas, vpnaas=vpnaas)


class ServerRuntime:
    """What a started server process runs beside the API: the notifier's thread and,
    when this process serves the bus (``rpc_workers = 0``, or an RPC worker), the RPC
    servers and the periodic agent check. Starting blocks on nothing: a broker that
    is down delays no request."""

    def __init__(self, core: Core, serve_rpc: bool) -> None:
        self.core = core
        self.rpc: rpc_server.RpcService | None = None
        self.agent_monitor: AgentMonitor | None = None
        if serve_rpc:
            self.rpc = rpc_server.RpcService(
                core.conf, rpc_server.endpoints_for(core.conf, core.db, core))
            self.agent_monitor = AgentMonitor(core.dhcp_scheduler)

    @property
    def transport(self) -> oslo_messaging.Transport | None:
        """The RPC servers' transport: the in-process bus (fake://) reaches only that
        object, so the notifier and agents run in this process must use it."""
        return self.rpc.transport if self.rpc is not None else None

    def start(self) -> ServerRuntime:
        if self.rpc is not None:
            self.rpc.start()
        shared = self.transport if rpc_transport.is_in_process(self.core.conf) else None
        self.core.notifier.subscribe(self.core.events).start(rpc_transport=shared)
        if self.agent_monitor is not None:
            self.agent_monitor.start()
        self.core.notifications.start(transport=shared)
        self.core.nova_notifier.start()
        return self

    def stop(self) -> None:
        if self.agent_monitor is not None:
            self.agent_monitor.stop()
        if self.rpc is not None:
            self.rpc.stop()
        self.core.notifier.stop()
        self.core.notifications.stop()
        self.core.nova_notifier.stop()
