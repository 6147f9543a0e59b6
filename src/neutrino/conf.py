"""Configuration options, neutron.conf-style, registered with oslo.config.

`list_opts()` feeds `oslo-config-generator` (namespace ``neutrino``) so the sample
`etc/neutrino.conf` is generated from, and checked against, these definitions.
"""

from __future__ import annotations

import os

from oslo_config import cfg

from neutrino.contract import bus, options
from neutrino.contract import lbaas as lbaas_contract
from neutrino.ml2 import config as ml2_config

DEFAULT_STATE_PATH = options.DEFAULT_STATE_PATH

core_opts = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="The host IP address the API server binds to."),
    cfg.PortOpt("bind_port", default=9696, help="The port the API server binds to."),
    cfg.IntOpt("api_workers", default=1, min=1,
               help="Number of API worker processes. More than one needs a database "
                    "that several processes can share well (PostgreSQL, MariaDB) and, "
                    "once agents run, a RabbitMQ transport_url."),
    cfg.IntOpt("api_threads", default=8, min=1,
               help="Threads per API worker process."),
    cfg.IntOpt("rpc_workers", default=0, min=0,
               help="Processes serving only the message bus (agents' calls and "
                    "reports). 0: each API worker serves it too."),
    cfg.BoolOpt("embedded_agents", default=None,
                help="Run this host's agents (Linux bridge, DHCP, metadata) inside the "
                     "API worker process, registered under 'host': the all-in-one. "
                     "Default (unset): on when running as root with the in-process "
                     "transport_url fake:// and one API worker, off otherwise. They "
                     "read their own sections ([vxlan], [linux_bridge], "
                     "[securitygroup], [AGENT], DHCP options) from the same "
                     "configuration files; without [vxlan] local_ip the host's "
                     "primary IPv4 address is used."),
    cfg.StrOpt("embedded_l2_agent", default="linuxbridge",
               choices=[("linuxbridge", "the Linux bridge agent"),
                        ("openvswitch", "the Open vSwitch agent ([ovs], [AGENT], "
                                        "[securitygroup] of openvswitch_agent.ini; "
                                        "needs [ml2] mechanism_drivers with openvswitch; "
                                        "ovsdb-server/ovs-vswitchd started by ovs-ctl "
                                        "if not running)")],
               help="The L2 agent the all-in-one (embedded_agents) runs."),
    cfg.IntOpt("dhcp_agents_per_network", default=1, min=1,
               help="Number of DHCP agents scheduled to host a network."),
    cfg.BoolOpt("allow_automatic_dhcp_failover", default=True,
                help="Move networks from DHCP agents that stopped reporting (down "
                     "for more than agent_down_time) to alive ones."),
    cfg.StrOpt("auth_strategy", default="noauth", choices=["noauth", "keystone"],
               help="noauth: no identity check; the X-Project-Id / X-Roles / X-User-Id "
                    "headers name the caller (none: admin in 'fake_project_id'). "
                    "keystone: tokens validated by keystonemiddleware "
                    "([keystone_authtoken])."),
    cfg.StrOpt("base_mac", default="fa:16:3e:00:00:00",
               help="Base MAC address; the first three octets are kept, the others "
                    "(those given as 00) are random."),
    cfg.IntOpt("mac_generation_retries", default=16, min=1,
               help="How many random MACs to try before giving up."),
    cfg.BoolOpt("allow_overlapping_ips", default=True,
                help="Allow the same CIDR on subnets of different networks."),
    options.STATE_PATH,  # shared with the agents (contract/options.py), as below
    cfg.IntOpt("max_dns_nameservers", default=5, help="Maximum DNS nameservers per subnet."),
    cfg.IntOpt("max_subnet_host_routes", default=20, help="Maximum host routes per subnet."),
    cfg.IntOpt("max_fixed_ips_per_port", default=5, deprecated_for_removal=False,
               help="Maximum fixed IPs per port."),
    cfg.IntOpt("max_allowed_address_pair", default=10,
               help="Maximum number of allowed address pairs per port."),
    options.DNS_DOMAIN,
    cfg.IntOpt("global_physnet_mtu", default=1500,
               help="MTU of the underlying physical network; networks get this MTU "
                    "minus any encapsulation overhead."),
    cfg.IntOpt("pagination_max_limit", default=-1,
               help="Largest page a list returns; -1 means no limit."),
    cfg.BoolOpt("allow_pagination", default=True, help="Allow pagination on lists."),
    cfg.BoolOpt("allow_sorting", default=True, help="Allow sorting on lists."),
    cfg.StrOpt("api_extensions_path", default="", help="Unused; kept for neutron.conf "
               "compatibility."),
    options.LOG_FILE,
    options.DEBUG,
    cfg.BoolOpt("enable_snat_by_default", default=True,
                help="Default of enable_snat in a router's external_gateway_info."),
    cfg.IntOpt("max_routes", default=30, help="Maximum extra routes per router."),
    cfg.BoolOpt("router_distributed", default=False,
                help="Default of `distributed` for new routers (an administrator may "
                     "choose per router). Distributed routers are hosted only by L3 "
                     "agents in dvr_snat mode."),
    # Router HA (l3-ha; services/l3_ha.py).
    cfg.BoolOpt("l3_ha", default=False,
                help="Default of `ha` for new routers (an administrator may choose per "
                     "router): HA routers run keepalived (VRRP) on several L3 agents."),
    cfg.IntOpt("max_l3_agents_per_router", default=3, min=0,
               help="How many L3 agents a HA router is scheduled to at most; 0: all."),
    cfg.StrOpt("l3_ha_net_cidr", default="169.254.192.0/18",
               help="Subnet of the projects' HA networks (the VRRP traffic)."),
    cfg.StrOpt("l3_ha_network_type", default="",
               help="Network type of the HA networks; empty: the first of the "
                    "tenant_network_types."),
    cfg.StrOpt("l3_ha_network_physical_name", default="",
               help="Physical network of the HA networks (flat or VLAN types)."),
    # Issue 16: the advanced services that can be left out (their API, extension
    # aliases, quotas and the agents' part); the core, L3, QoS, metering, ... always run.
    cfg.ListOpt("service_plugins", default=["firewall_v2"],
                help="Service plugins to load: 'firewall_v2' (FWaaS v2, enforced by the "
                     "L3 agents with nftables); 'lbaas' (load balancing, the Octavia v2 "
                     "API under /v2/lbaas, HAProxy run by neutrino-lbaas-agent; "
                     "'lbaasv2' and 'octavia' are the same); 'vpnaas' (VPNaaS: IPsec "
                     "site connections, run by the L3 agents with strongSwan)."),
    cfg.StrOpt("policy_file", default="policy.yaml",
               help="Policy overrides (YAML or JSON), looked up next to the config "
                    "files when relative. Changes take effect without a restart."),
]

database_opts = [
    cfg.StrOpt("connection", secret=True,
               help="SQLAlchemy URL of the database. Default: SQLite at "
                    "$state_path/neutrino.sqlite. Examples: "
                    "postgresql+psycopg://user@host/neutron, "
                    "mysql+pymysql://root@host/neutron."),
    cfg.IntOpt("max_pool_size", default=10, help="Connections kept per worker."),
    cfg.IntOpt("max_overflow", default=20, help="Extra connections per worker."),
    cfg.IntOpt("pool_timeout", default=10, min=1,
               help="Seconds to wait for a pooled connection (then 503)."),
    cfg.IntOpt("connect_timeout", default=5, min=1,
               help="Seconds to wait for a new connection to the database (then 503)."),
    cfg.FloatOpt("transaction_timeout", default=30, min=0,
                 help="Longest a transaction may take, in seconds; past it its "
                      "connection is cut and the request answered 503 (a black-holed "
                      "database hangs no request longer). 0: no bound. Not SQLite."),
    cfg.IntOpt("max_retries", default=20,
               help="Retries of a request's transaction on deadlock, serialization "
                    "failure or lock wait timeout. A unique or foreign-key violation "
                    "is retried only while it changes (a race), else answered 409/404."),
    cfg.BoolOpt("auto_upgrade", default=None,
                help="Upgrade the schema at start. Default: on for SQLite, off "
                     "otherwise (run neutrino-db-manage upgrade head)."),
]

quota_opts = [
    cfg.IntOpt("default_quota", default=-1,
               help="Default quota for a resource without its own default; -1: unlimited."),
    cfg.IntOpt("quota_network", default=100, help="Networks per project; -1: unlimited."),
    cfg.IntOpt("quota_subnet", default=100, help="Subnets per project; -1: unlimited."),
    cfg.IntOpt("quota_port", default=500, help="Ports per project; -1: unlimited."),
    cfg.IntOpt("quota_security_group", default=10,
               help="Security groups per project; -1: unlimited."),
    cfg.IntOpt("quota_security_group_rule", default=100,
               help="Security group rules per project; -1: unlimited."),
    cfg.IntOpt("quota_router", default=10, help="Routers per project; -1: unlimited."),
    cfg.IntOpt("quota_floatingip", default=50,
               help="Floating IPs per project; -1: unlimited."),
    cfg.IntOpt("quota_rbac_policy", default=10, deprecated_name="quota_rbac_entry",
               help="RBAC policies per project; -1: unlimited."),
    # FWaaS v2 (issue 16), upstream's defaults.
    cfg.IntOpt("quota_firewall_group", default=10,
               help="Firewall groups per project; -1: unlimited."),
    cfg.IntOpt("quota_firewall_policy", default=10,
               help="Firewall policies per project; -1: unlimited."),
    cfg.IntOpt("quota_firewall_rule", default=100,
               help="Firewall rules per project; -1: unlimited."),
    # VPNaaS (issue 16), with its service plugin.
    cfg.IntOpt("quota_vpnservice", default=10,
               help="VPN services per project; -1: unlimited."),
    cfg.IntOpt("quota_ipsec_site_connection", default=10,
               help="IPsec site connections per project; -1: unlimited."),
    cfg.IntOpt("quota_ikepolicy", default=10, help="IKE policies per project; -1: unlimited."),
    cfg.IntOpt("quota_ipsecpolicy", default=10,
               help="IPsec policies per project; -1: unlimited."),
    cfg.IntOpt("quota_endpoint_group", default=10,
               help="VPN endpoint groups per project; -1: unlimited."),
]

# service-type (GET /v2.0/service-providers), flavors' drivers.
service_provider_opts = [
    cfg.MultiStrOpt("service_provider", default=[],
                    help="A service provider: <service_type>:<name>:<driver>[:default]. "
                         "Repeat for several. The L3_ROUTER_NAT providers upstream's "
                         "router plugin adds (single_node, ha, dvr, dvrha) are listed "
                         "unless one of the same name is given here."),
]

# The request limits of oslo.middleware's sizelimit filter, under its group and
# default (issue 18): a larger body is refused (413) before it is read.
request_limit_opts = [
    cfg.IntOpt("max_request_body_size", default=114688, min=0,
               deprecated_opts=[cfg.DeprecatedOpt("max_request_body_size",
                                                  group="DEFAULT")],
               help="The maximum body size for each request, in bytes; 0: no limit."),
]

# Port events to Nova (issue 15; services/nova_notifier.py), upstream's names.
nova_notifier_opts = [
    cfg.BoolOpt("notify_nova_on_port_status_changes", default=True,
                help="Send Nova network-vif-plugged / network-vif-unplugged events "
                     "when a compute:* port's status changes (needs [nova] "
                     "credentials)."),
    cfg.BoolOpt("notify_nova_on_port_data_changes", default=True,
                help="Send Nova network-changed / network-vif-deleted events when a "
                     "compute:* port's addresses or floating IPs change or it is "
                     "deleted (needs [nova] credentials)."),
    cfg.FloatOpt("send_events_interval", default=2, min=0,
                 help="Seconds events to Nova are gathered before they are sent in "
                      "one batch."),
]

nova_opts = [
    cfg.StrOpt("region_name", help="Region of the Nova endpoint to use."),
    cfg.StrOpt("endpoint_type", default="public",
               choices=["public", "admin", "internal"],
               help="Which of Nova's endpoints in the catalog to use."),
    cfg.StrOpt("endpoint_override",
               help="Nova's URL (ending in its API version, e.g. /v2.1) instead of "
                    "the catalog's; with auth_type = none, the only way to find it."),
]

# The server's Prometheus metrics (issue 15; api/metrics.py).
metrics_opts = [
    cfg.HostAddressOpt("listen_host", default="127.0.0.1",
                       help="Address the metrics listener binds to."),
    cfg.PortOpt("listen_port", default=0,
                help="Port of the Prometheus metrics listener (/metrics), apart from "
                     "the API; 0: off. With api_workers > 1 each worker takes the "
                     "first free port of listen_port .. listen_port + api_workers - 1; "
                     "RPC worker i (rpc_workers) listen_port + api_workers + i."),
    cfg.BoolOpt("broker_queues", default=False,
                help="Also report how many messages wait in the server's queues on "
                     "RabbitMQ (its RPC topics, the notification topics): AMQP passive "
                     "declares, at most every 10 s."),
]


def _register_nova_opts(conf: cfg.ConfigOpts) -> None:
    from keystoneauth1 import loading as ks_loading
    conf.register_opts(nova_notifier_opts)
    conf.register_opts(nova_opts, group="nova")
    ks_loading.register_session_conf_options(conf, "nova")
    ks_loading.register_auth_conf_options(conf, "nova")


def _nova_group_opts() -> list[cfg.Opt]:
    """[nova] for the sample: ours, keystoneauth's session options, and its auth
    options shown for the password plugin (the usual one)."""
    from keystoneauth1 import loading as ks_loading
    return (nova_opts + ks_loading.get_session_conf_options()
            + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options("password"))


LBAAS_PLUGIN_NAMES = lbaas_contract.PLUGIN_NAMES

# Load balancing (issue 16): Octavia's own option names where it has them.
lbaas_opts = [
    cfg.StrOpt("default_provider_driver", default="haproxy",
               choices=["haproxy", "noop"],
               help="The provider of load balancers created without one: 'haproxy' "
                    "(a load balancer agent runs HAProxy in a namespace) or 'noop' "
                    "(nothing runs; for testing)."),
    *[cfg.IntOpt(f"default_{name}_quota", default=-1, min=-1,
                 help=f"Default {name.replace('_', ' ')} quota per project (-1: "
                      "unlimited).")
      for name in ("load_balancer", "listener", "pool", "member", "health_monitor",
                   "l7policy", "l7rule")],
]


# FWaaS v2 (issue 16): the rules of each project's default firewall group, with
# neutron-fwaas's [default_fwg_rules] names and defaults (ingress denied, egress
# allowed; one rule per IP version and direction).
def _fwg_direction_opts(direction: str, action: str) -> list[cfg.Opt]:
    out: list[cfg.Opt] = [cfg.StrOpt(f"{direction}_action", default=action,
                                     choices=["allow", "deny", "reject"],
                                     help=f"Action of the default {direction} rules.")]
    for end in ("source", "destination"):
        out += [cfg.StrOpt(f"{direction}_{end}_ipv{version}_address",
                           help=f"IPv{version} {end} address or CIDR of the default "
                                f"{direction} rule for IPv{version}; unset: any.")
                for version in (4, 6)]
        out.append(cfg.StrOpt(f"{direction}_{end}_port",
                              help=f"{end.capitalize()} port or range (min:max) of the "
                                   f"default {direction} rules (needs protocol); unset: "
                                   "any."))
    return out


default_fwg_rules_opts = [
    *_fwg_direction_opts("ingress", "deny"),
    *_fwg_direction_opts("egress", "allow"),
    cfg.BoolOpt("shared", default=False, help="Whether the default rules are shared."),
    cfg.StrOpt("protocol", help="Protocol of the default rules (tcp, udp, icmp, "
                                "ipv6-icmp); unset: any."),
    cfg.BoolOpt("enabled", default=True, help="Whether the default rules are enabled."),
]


def default_fwg_rules(conf: cfg.ConfigOpts) -> dict[str, object]:
    """The [default_fwg_rules] options as a plain dict (services get values)."""
    return {opt.dest: conf.default_fwg_rules[opt.dest] for opt in default_fwg_rules_opts}


def lbaas_enabled(conf: cfg.ConfigOpts) -> bool:
    return any(name in LBAAS_PLUGIN_NAMES for name in conf.service_plugins)


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(core_opts)
    conf.register_opts(database_opts, group="database")
    conf.register_opts(quota_opts, group="quotas")
    conf.register_opts(service_provider_opts, group="service_providers")
    conf.register_opts(request_limit_opts, group="oslo_middleware")
    bus.register_opts(conf)
    for group, opts in ml2_config.GROUPS:
        conf.register_opts(opts, group=group)
    _register_nova_opts(conf)
    conf.register_opts(metrics_opts, group="metrics")
    conf.register_opts(lbaas_opts, group="lbaas")
    conf.register_opts(default_fwg_rules_opts, group="default_fwg_rules")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, core_opts + bus.list_opts() + nova_notifier_opts),
            ("database", database_opts),
            ("quotas", quota_opts), ("service_providers", service_provider_opts),
            ("oslo_middleware", request_limit_opts),
            *ml2_config.GROUPS, ("nova", _nova_group_opts()),
            ("metrics", metrics_opts),
            ("lbaas", lbaas_opts),
            ("default_fwg_rules", default_fwg_rules_opts)]


def new_conf(argv: list[str] | None = None, default_config_files: list[str] | None = None
             ) -> cfg.ConfigOpts:
    """A fresh ConfigOpts (never the global one, so tests can hold several)."""
    conf = cfg.ConfigOpts()
    register_opts(conf)
    conf(args=argv or [], project="neutrino",
         default_config_files=default_config_files or [])
    return conf


def database_url(conf: cfg.ConfigOpts) -> str:
    if conf.database.connection:
        return conf.database.connection
    return "sqlite:///" + os.path.join(conf.state_path, "neutrino.sqlite")
