"""Policy: oslo.policy with Neutron's rule names and (legacy admin-or-owner) defaults.

Operators override rules in a policy file (YAML/JSON); oslo.policy re-reads it when
it changes, so overrides apply without a restart.

Decisions are memoised per request: a rule's outcome depends only on the credentials
and the target keys the rule mentions (found by walking the parsed rule), so listing
5,000 ports evaluates each distinct (rule, relevant values) once.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Any

from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import opts as policy_opts
from oslo_policy import policy as oslo_policy

from neutrino import exceptions as exc
from neutrino import policy_rbac
from neutrino.context import Context
from neutrino.policy_eval import evaluate

LOG = logging.getLogger(__name__)

ADMIN_ONLY = "rule:admin_only"
ADMIN_OR_OWNER = "rule:admin_or_owner"
ADMIN_OR_PROJECT_MANAGER = "rule:admin_only or (role:manager and project_id:%(project_id)s)"

BASE_RULES = [
    ("context_is_admin", "role:admin", "Decides who is an administrator."),
    ("owner", "project_id:%(project_id)s", "The caller owns the resource."),
    ("admin_or_owner", "rule:context_is_admin or rule:owner",
     "Administrator or owner of the resource."),
    ("context_is_advsvc", "role:advsvc", "Advanced service (e.g. a service user)."),
    ("admin_or_network_owner",
     "rule:context_is_admin or project_id:%(network:project_id)s",
     "Administrator or owner of the resource's network."),
    ("admin_owner_or_network_owner", "rule:owner or rule:admin_or_network_owner",
     "Administrator, owner of the resource or of its network."),
    ("network_owner", "project_id:%(network:project_id)s",
     "Owner of the resource's network."),
    ("admin_only", "rule:context_is_admin", "Administrators only."),
    ("regular_user", "", "Any authenticated user."),
    ("shared", "True:%(shared)s", "The network (or the resource's network) is shared."),
    ("default", "rule:admin_or_owner", "Rule for actions without their own."),
]

RESOURCE_RULES = [
    # networks
    ("create_network", ""),
    ("create_network:shared", ADMIN_ONLY),
    ("get_network", "rule:admin_or_owner or rule:shared or rule:external or "
                    "rule:context_is_advsvc"),
    ("external", "field:networks:router:external=True"),
    ("update_network", ADMIN_OR_OWNER),
    ("update_network:shared", ADMIN_ONLY),
    ("create_network:port_security_enabled", ADMIN_OR_OWNER),
    ("update_network:port_security_enabled", ADMIN_OR_OWNER),
    ("delete_network", ADMIN_OR_OWNER),
    *[(f"{action}_network:{attr}", ADMIN_ONLY)
      for action in ("create", "update", "get")
      for attr in ("provider:network_type", "provider:physical_network",
                   "provider:segmentation_id", "segments")],
    # subnets
    ("create_subnet", "rule:admin_or_network_owner"),
    # subnet-external-network: an external network's subnets are seen by everyone
    # who sees the network (tempest's test_external_network_visibility).
    ("get_subnet", "rule:admin_or_owner or rule:shared or rule:external_subnet"),
    ("external_subnet", "field:subnets:router:external=True"),
    ("update_subnet", "rule:admin_or_network_owner"),
    ("delete_subnet", "rule:admin_or_network_owner"),
    ("create_subnet:service_types", ADMIN_ONLY),
    ("update_subnet:service_types", ADMIN_ONLY),
    # ports
    ("create_port", ""),
    ("create_port:device_owner",
     "not rule:network_device or rule:context_is_advsvc or rule:admin_or_network_owner"),
    ("create_port:mac_address", "rule:context_is_advsvc or rule:admin_or_network_owner"),
    ("create_port:fixed_ips",
     "rule:context_is_advsvc or rule:admin_or_network_owner or rule:shared"),
    ("create_port:port_security_enabled",
     "rule:context_is_advsvc or rule:admin_or_network_owner"),
    ("create_port:allowed_address_pairs", "rule:admin_or_network_owner"),
    ("get_port", "rule:context_is_advsvc or rule:admin_owner_or_network_owner"),
    ("update_port", "rule:admin_or_owner or rule:context_is_advsvc"),
    ("update_port:device_owner",
     "not rule:network_device or rule:context_is_advsvc or rule:admin_or_network_owner"),
    ("update_port:mac_address", "rule:admin_only or rule:context_is_advsvc"),
    ("update_port:fixed_ips",
     "rule:context_is_advsvc or rule:admin_or_network_owner or rule:shared"),
    ("update_port:port_security_enabled",
     "rule:context_is_advsvc or rule:admin_or_network_owner"),
    ("update_port:allowed_address_pairs", "rule:admin_or_network_owner"),
    # port binding: where a port is plugged is the cloud's business, not the owner's
    *[(f"{action}_port:{attr}", ADMIN_ONLY)
      for action, attrs in (("create", ("binding:host_id", "binding:profile")),
                            ("update", ("binding:host_id", "binding:profile")),
                            ("get", ("binding:vif_type", "binding:vif_details",
                                     "binding:host_id", "binding:profile")))
      for attr in attrs],
    ("create_port:binding:vnic_type", ADMIN_OR_OWNER),
    ("update_port:binding:vnic_type", "rule:admin_or_owner or rule:context_is_advsvc"),
    ("delete_port", "rule:context_is_advsvc or rule:admin_owner_or_network_owner"),
    # port-trusted-vif: what a VIF may do on the host is the cloud's decision
    ("create_port:trusted", ADMIN_ONLY),
    ("update_port:trusted", ADMIN_ONLY),
    ("network_device", "field:port:device_owner=~^network:",
     ),
    # security groups, rules and address groups
    ("sg_owner", "project_id:%(security_group:project_id)s"),
    ("create_security_group", ADMIN_OR_OWNER),
    ("shared_security_group", "field:security_groups:shared=True"),
    ("get_security_group", "rule:admin_or_owner or rule:shared_security_group"),
    ("update_security_group", ADMIN_OR_OWNER),
    ("delete_security_group", ADMIN_OR_OWNER),
    ("create_security_group_rule", ADMIN_OR_OWNER),
    ("get_security_group_rule", "rule:admin_or_owner or rule:sg_owner"),
    ("update_security_group_rule", ADMIN_OR_OWNER),
    ("delete_security_group_rule", "rule:admin_or_owner or rule:sg_owner"),
    ("create_address_group", ADMIN_OR_OWNER),
    ("shared_address_groups", "field:address_groups:shared=True"),
    ("get_address_group", "rule:admin_or_owner or rule:shared_address_groups"),
    ("update_address_group", ADMIN_OR_OWNER),
    ("delete_address_group", ADMIN_OR_OWNER),
    ("add_addresses", ADMIN_OR_OWNER),
    ("remove_addresses", ADMIN_OR_OWNER),
    # subnet pools and address scopes
    ("shared_subnetpools", "field:subnetpools:shared=True"),
    ("create_subnetpool", "rule:regular_user"),
    ("create_subnetpool:shared", ADMIN_ONLY),
    ("create_subnetpool:is_default", ADMIN_ONLY),
    ("get_subnetpool", "rule:admin_or_owner or rule:shared_subnetpools"),
    ("update_subnetpool", ADMIN_OR_OWNER),
    ("update_subnetpool:is_default", ADMIN_ONLY),
    ("delete_subnetpool", ADMIN_OR_OWNER),
    ("add_prefixes", ADMIN_OR_OWNER),
    ("remove_prefixes", ADMIN_OR_OWNER),
    ("onboard_network_subnets", ADMIN_OR_OWNER),
    ("shared_address_scopes", "field:address_scopes:shared=True"),
    ("create_address_scope", "rule:regular_user"),
    ("create_address_scope:shared", ADMIN_ONLY),
    ("get_address_scope", "rule:admin_or_owner or rule:shared_address_scopes"),
    ("update_address_scope", ADMIN_OR_OWNER),
    ("update_address_scope:shared", ADMIN_ONLY),
    ("delete_address_scope", ADMIN_OR_OWNER),
    # agents and availability zones
    ("get_agent", ADMIN_ONLY),
    ("update_agent", ADMIN_ONLY),
    ("delete_agent", ADMIN_ONLY),
    ("get_dhcp-networks", ADMIN_ONLY),
    ("create_dhcp-network", ADMIN_ONLY),
    ("delete_dhcp-network", ADMIN_ONLY),
    ("get_dhcp-agents", ADMIN_ONLY),
    ("get_availability_zone", "rule:regular_user"),
    # network IP availability (admin only: it shows every network's usage)
    ("get_network_ip_availability", ADMIN_ONLY),
    # segments (routed networks): administrators only
    *[(f"{action}_segment", ADMIN_ONLY)
      for action in ("create", "get", "update", "delete")],
    # network segment ranges: administrators only
    *[(f"{action}_network_segment_range", ADMIN_ONLY)
      for action in ("create", "get", "update", "delete")],
    # external networks, routers, floating IPs, L3 agent scheduling
    *[(f"{action}_network:{attr}", ADMIN_ONLY)
      for action in ("create", "update") for attr in ("router:external", "is_default")],
    ("create_router", "rule:regular_user"),
    ("create_router:external_gateway_info", ADMIN_OR_OWNER),
    ("create_router:external_gateway_info:network_id", ADMIN_OR_OWNER),
    ("create_router:external_gateway_info:enable_snat", ADMIN_ONLY),
    ("create_router:external_gateway_info:external_fixed_ips", ADMIN_ONLY),
    ("create_router:distributed", ADMIN_ONLY),
    ("create_router:ha", ADMIN_ONLY),
    ("get_router", ADMIN_OR_OWNER),
    ("get_router:distributed", ADMIN_ONLY),
    ("get_router:ha", ADMIN_ONLY),
    ("update_router", ADMIN_OR_OWNER),
    ("update_router:external_gateway_info", ADMIN_OR_OWNER),
    ("update_router:external_gateway_info:network_id", ADMIN_OR_OWNER),
    ("update_router:external_gateway_info:enable_snat", ADMIN_ONLY),
    ("update_router:external_gateway_info:external_fixed_ips", ADMIN_ONLY),
    ("update_router:distributed", ADMIN_ONLY),
    ("update_router:ha", ADMIN_ONLY),
    ("delete_router", ADMIN_OR_OWNER),
    ("add_router_interface", ADMIN_OR_OWNER),
    ("remove_router_interface", ADMIN_OR_OWNER),
    ("add_extraroutes", ADMIN_OR_OWNER),
    ("remove_extraroutes", ADMIN_OR_OWNER),
    ("create_floatingip", "rule:regular_user"),
    ("create_floatingip:floating_ip_address", ADMIN_ONLY),
    # floating-ip-router-writable: a router the caller can see (checked by the service)
    ("create_floatingip:router_id", ADMIN_OR_OWNER),
    ("update_floatingip:router_id", ADMIN_OR_OWNER),
    ("get_floatingip", ADMIN_OR_OWNER),
    ("update_floatingip", ADMIN_OR_OWNER),
    ("delete_floatingip", ADMIN_OR_OWNER),
    ("get_floatingip_pool", "rule:regular_user"),
    # Port forwardings: the floating IP's owner (upstream's parent owner)
    *[(f"{action}_floatingip_port_forwarding",
       "rule:admin_only or project_id:%(ext_parent_owner_id)s")
      for action in ("create", "get", "update", "delete")],
    ("get_auto_allocated_topology", ADMIN_OR_OWNER),
    ("delete_auto_allocated_topology", ADMIN_OR_OWNER),
    ("create_l3-router", ADMIN_ONLY),
    ("get_l3-routers", ADMIN_ONLY),
    ("delete_l3-router", ADMIN_ONLY),
    ("get_l3-agents", ADMIN_ONLY),
    # QoS (issue 14): policies and rules are managed by administrators; projects
    # read their own and shared policies. Anyone lists the rule types (upstream:
    # `role:reader`); showing one's drivers is for administrators (api/qos.py).
    ("shared_qos_policy", "field:policies:shared=True"),
    ("get_policy", "rule:admin_or_owner or rule:shared_qos_policy"),
    *[(f"{action}_policy", ADMIN_ONLY) for action in ("create", "update", "delete")],
    ("get_rule_type", "rule:regular_user"),
    *[(f"get_{prefix}_{rule}_rule", "rule:admin_or_owner or rule:shared_qos_policy")
      for prefix in ("policy", "alias")
      for rule in ("bandwidth_limit", "dscp_marking", "minimum_bandwidth",
                   "minimum_packet_rate", "packet_rate_limit")],
    *[(f"{action}_{prefix}_{rule}_rule", ADMIN_ONLY)
      for action in ("create", "update", "delete") for prefix in ("policy", "alias")
      for rule in ("bandwidth_limit", "dscp_marking", "minimum_bandwidth",
                   "minimum_packet_rate", "packet_rate_limit")
      if not (prefix == "alias" and action == "create")],
    # qos_policy_id on networks and ports has no rule of its own upstream: any
    # project sets a policy it may use (its own or shared: services/qos_bindings.py).
    # Trunks (issue 14): a project's own, as upstream (get_subports is a read).
    ("create_trunk", "rule:regular_user"),
    ("get_trunk", ADMIN_OR_OWNER),
    ("update_trunk", ADMIN_OR_OWNER),
    ("delete_trunk", ADMIN_OR_OWNER),
    ("get_subports", ADMIN_OR_OWNER),
    ("add_subports", ADMIN_OR_OWNER),
    ("remove_subports", ADMIN_OR_OWNER),
    # RBAC policies: only an administrator shares with every project ("*")
    ("restrict_wildcard", "(not field:rbac_policy:target_tenant=* and "
                          "not field:rbac_policy:target_project=*) or rule:admin_only"),
    ("create_rbac_policy", ""),
    ("create_rbac_policy:target_tenant", "rule:restrict_wildcard"),
    ("update_rbac_policy", ADMIN_OR_OWNER),
    ("update_rbac_policy:target_tenant", "rule:restrict_wildcard and rule:admin_or_owner"),
    ("get_rbac_policy", ADMIN_OR_OWNER),
    ("delete_rbac_policy", ADMIN_OR_OWNER),
    # -- default security group rules and statefulness, service providers,
    # flavors and service profiles, a port's bindings (binding-extended)
    ("create_default_security_group_rule", ADMIN_ONLY),
    ("get_default_security_group_rule", "rule:regular_user"),
    ("delete_default_security_group_rule", ADMIN_ONLY),
    # A project's manager may set the project's default; the system-wide one
    # (project_id null) is for administrators.
    ("create_security_groups_default_statefulness", ADMIN_OR_PROJECT_MANAGER),
    ("get_security_groups_default_statefulness", ADMIN_OR_OWNER),
    ("update_security_groups_default_statefulness", ADMIN_OR_PROJECT_MANAGER),
    ("delete_security_groups_default_statefulness", ADMIN_OR_PROJECT_MANAGER),
    ("get_service_provider", "rule:regular_user"),
    ("create_flavor", ADMIN_ONLY),
    ("get_flavor", "rule:regular_user"),
    ("update_flavor", ADMIN_ONLY),
    ("delete_flavor", ADMIN_ONLY),
    *[(f"{action}_service_profile", ADMIN_ONLY)
      for action in ("create", "get", "update", "delete")],
    ("create_flavor_service_profile", ADMIN_ONLY),
    ("get_flavor_service_profile", "rule:regular_user"),
    ("delete_flavor_service_profile", ADMIN_ONLY),
    *[(f"{action}_port_binding", "rule:admin_only or rule:context_is_advsvc")
      for action in ("create", "get", "update", "delete")],
    ("activate", "rule:admin_only or rule:context_is_advsvc"),
    # Metering (issue 14): labels and their rules are an administrator's (upstream's
    # defaults, reads included).
    *[(f"{action}_{resource}", ADMIN_ONLY) for action in ("create", "get", "delete")
      for resource in ("metering_label", "metering_label_rule")],
    # Security group logging (issue 14): an administrator's, as upstream's defaults.
    *[(f"{action}_log", ADMIN_ONLY) for action in ("create", "get", "update", "delete")],
    ("get_loggable_resource", ADMIN_ONLY),
    # Load balancing (issue 16): a project's objects are its own (secure RBAC:
    # members change them, readers see them); quotas and failover are an
    # administrator's, as Octavia's defaults.
    *[(f"{action}_{kind}", ADMIN_OR_OWNER) for action in ("create", "get", "update", "delete")
      for kind in ("loadbalancer", "listener", "pool", "member", "healthmonitor",
                   "l7policy", "l7rule")],
    ("failover_loadbalancer", ADMIN_ONLY),
    ("get_lbaas_quota", ADMIN_OR_OWNER),
    ("update_lbaas_quota", ADMIN_ONLY),
    ("delete_lbaas_quota", ADMIN_ONLY),
    # FWaaS v2 (issue 16), neutron-fwaas's rules: a project's own and the shared ones
    # (seen by all); sharing is an administrator's.
    *[rule for resource, collection in (("firewall_group", "firewall_groups"),
                                        ("firewall_policy", "firewall_policies"),
                                        ("firewall_rule", "firewall_rules"))
      for rule in ((f"shared_{collection}", f"field:{collection}:shared=True"),
                   (f"create_{resource}", ""),
                   (f"create_{resource}:shared", ADMIN_ONLY),
                   (f"get_{resource}", f"rule:admin_or_owner or rule:shared_{collection}"),
                   (f"update_{resource}", ADMIN_OR_OWNER),
                   (f"update_{resource}:shared", ADMIN_ONLY),
                   (f"delete_{resource}", ADMIN_OR_OWNER))],
    ("insert_rule", ADMIN_OR_OWNER),
    ("remove_rule", ADMIN_OR_OWNER),
    # VPNaaS (issue 16), neutron-vpnaas's rules: a project's own (secure RBAC:
    # members create and change them, readers see them).
    *[rule for resource in ("vpnservice", "ipsec_site_connection", "ikepolicy",
                            "ipsecpolicy", "endpoint_group")
      for rule in ((f"create_{resource}", ""),
                   (f"get_{resource}", ADMIN_OR_OWNER),
                   (f"update_{resource}", ADMIN_OR_OWNER),
                   (f"delete_{resource}", ADMIN_OR_OWNER))],
    # quotas
    ("get_quota", ADMIN_OR_OWNER),
    ("update_quota", ADMIN_ONLY),
    ("delete_quota", ADMIN_ONLY),
    # GET /v2.0/neutrino/status: the server's health (neutrino status)
    ("get_neutrino_status", ADMIN_ONLY),
    # GET /v2.0/neutrino/topology: the topology page's data (an admin any project's, a
    # project its own; each item then as the collections show it)
    ("get_neutrino_topology", ADMIN_OR_OWNER),
]


# Upstream moved to the secure-RBAC defaults in 2023.2 (Bobcat), neutron 23.0.0.
_LEGACY_REASON = ("The legacy admin-or-owner rules do not tell a project's readers from "
                  "its members; secure RBAC (admin, project member, project reader, "
                  "service) replaces them.")
_LEGACY_SINCE = "2023.2"


def list_rules() -> list[oslo_policy.RuleDefault]:
    """Every rule's default: secure-RBAC check strings for actions, with the legacy
    string as deprecated default (see policy_rbac); helper rules as written."""
    base = [(name, check) for name, check, _ in BASE_RULES]
    rules = [oslo_policy.RuleDefault(name, check, description=desc)
             for name, check, desc in [*BASE_RULES, *policy_rbac.PERSONA_RULES]]
    helpers = policy_rbac.referenced_rules(RESOURCE_RULES) | {n for n, _ in base}
    owners = policy_rbac.owner_rule_names(base + RESOURCE_RULES)
    for name, legacy in RESOURCE_RULES:
        if name in helpers:
            rules.append(oslo_policy.RuleDefault(name, legacy))
            continue
        new = policy_rbac.secure_check(name, legacy, owners)
        deprecated = None if new == legacy else oslo_policy.DeprecatedRule(
            name, legacy, deprecated_reason=_LEGACY_REASON,
            deprecated_since=_LEGACY_SINCE)
        rules.append(oslo_policy.RuleDefault(name, new, scope_types=["project"],
                                             deprecated_rule=deprecated))
    return rules


@_checks.register("field")
class FieldCheck(_checks.Check):
    """``field:<resource>:<attr>=<value>``; a value starting with ``~`` is a regex."""

    def __init__(self, kind: str, match: str) -> None:
        resource, field_value = match.split(":", 1)
        field, value = field_value.split("=", 1)
        self.field = field
        self.value = value
        self.regex = re.compile(value[1:]) if value.startswith("~") else None
        super().__init__(kind, f"{resource}:{field_value}")

    def __call__(self, target: dict, cred: dict, enforcer: Any,
                 current_rule: str | None = None) -> bool:
        if self.field not in target:
            return False
        actual = target[self.field]
        if self.regex is not None:
            return bool(self.regex.match(str(actual)))
        return str(actual) == self.value


# How often (seconds) a request may make oslo.policy look at the policy file again.
# Looking costs ~0.2 ms (stat of the file and policy.d, re-applying defaults).
RELOAD_INTERVAL = 0.5
_MISSING = object()  # a target key that is absent (not the same as None)
_RULES = "__rules__"  # the rule set a request's cached decisions were made with


class Policy:
    def __init__(self, conf: cfg.ConfigOpts, policy_file: str | None = None) -> None:
        path = policy_file or _find_policy_file(conf)
        # Upstream's defaults since 2023.2, whatever the installed oslo.policy's are
        # (older releases defaulted to the legacy rules); the config file still rules.
        policy_opts.set_defaults(conf, enforce_new_defaults=True, enforce_scope=True)
        self.enforcer = oslo_policy.Enforcer(conf, policy_file=path, use_conf=True)
        # With enforce_new_defaults = false oslo.policy would warn once per rule
        # (every action has a legacy default); one log line says it instead.
        self.enforcer.suppress_default_change_warnings = True
        self.enforcer.register_defaults(list_rules())
        self.enforcer.load_rules()
        if not conf.oslo_policy.enforce_new_defaults:
            LOG.warning("[oslo_policy] enforce_new_defaults = false: every rule not set "
                        "in the policy file also allows its deprecated legacy "
                        "(admin-or-owner) default")
        self._loaded_at = time.monotonic()
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        """Let oslo.policy re-read the policy file if it changed (at most every
        RELOAD_INTERVAL seconds; an edited file applies without a restart)."""
        now = time.monotonic()
        if now - self._loaded_at < RELOAD_INTERVAL:
            return
        with self._lock:
            if now - self._loaded_at >= RELOAD_INTERVAL:
                self.enforcer.load_rules()
                self._loaded_at = time.monotonic()

    def is_admin(self, ctx: Context) -> bool:
        return self.check(ctx, "context_is_admin", {})

    def check(self, ctx: Context, action: str, target: dict) -> bool:
        cache = ctx.policy_cache
        rules = cache.get(_RULES)
        if rules is None:  # the request's first decision
            self._refresh()
        rules = self.enforcer.rules
        if cache.get(_RULES) is not rules:  # first decision, or the rules were reloaded
            cache.clear()
            cache[_RULES] = rules
        key = self._cache_key(action, target)
        if key is not None and key in cache:
            return cache[key]
        try:
            rule = rules[action]  # an unknown action falls back to "default", as oslo
        except KeyError:
            allowed = False
        else:
            allowed = evaluate(rule, target, ctx.to_policy_credentials(),
                               self.enforcer, action)
        if key is not None:
            cache[key] = allowed
        return allowed

    def passes_for_any_target(self, ctx: Context, action: str) -> bool:
        """True when `action` holds for this caller whatever the target, so lists can
        skip per-item checks (e.g. an admin reading anything).

        Sound for rules without ``not`` built from known checks: every check that
        reads the target is false on an empty one, so a rule that holds there holds
        for every target (a monotone formula).
        """
        key = ("__any_target__", action)
        cache = ctx.policy_cache
        if key not in cache:
            rule = self.enforcer.rules.get(action)
            cache[key] = (rule is not None
                          and _monotone(self.enforcer.rules, rule, set())
                          and self.check(ctx, action, {}))
        return cache[key]

    def enforce(self, ctx: Context, action: str, target: dict,
                attrs: list[str] | None = None) -> None:
        """Raise PolicyNotAuthorized unless the action (and each attr rule) passes."""
        failed = not self.check(ctx, action, target)
        checked = [action]
        for attr in attrs or ():
            rule = f"{action}:{attr}"
            if rule in self.enforcer.rules:
                checked.append(rule)
                failed = failed or not self.check(ctx, rule, target)
        if failed:
            if len(checked) == 1:
                raise exc.PolicyNotAuthorized(action=f"rule:{action}")
            names = " and ".join(f"rule:{r}" for r in checked)
            raise exc.PolicyNotAuthorized(action=f"({names})")

    def _cache_key(self, action: str, target: dict) -> tuple | None:
        keys = _referenced_keys(self.enforcer, action)
        if keys is None:
            return None
        try:
            values = tuple(_hashable(target.get(k, _MISSING)) for k in keys)
            hash(values)
        except TypeError:
            return None
        return (action, values)


def _hashable(value: Any) -> Any:
    """A hashable stand-in that compares equal exactly when the values do (as far as
    a rule can tell: rules see values through ``str()`` and ``in``)."""
    if isinstance(value, list):
        return (list, tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return (dict, tuple(sorted((k, _hashable(v)) for k, v in value.items())))
    if isinstance(value, bool | int | float):
        return (type(value), value)  # True == 1 == 1.0, but str() differs
    return value


# %(key)s and the other conversions; '%%' is a literal percent sign.
_TARGET_KEY = re.compile(r"%\(([^)]*)\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _match_keys(match: str) -> set[str] | None:
    """Target keys a check's ``match`` interpolates; None if it uses the target in a
    way that cannot be told (a bare ``%s`` formats the whole target)."""
    keys = set(_TARGET_KEY.findall(match))
    if "%" in _TARGET_KEY.sub("", match).replace("%%", ""):
        return None
    return keys


def _lookup(rules: Any, name: str) -> Any:
    """rules[name] as oslo evaluates it (a missing rule falls back to the default
    rule); None when even that is missing (the check fails closed)."""
    try:
        return rules[name]
    except KeyError:
        return None


def _referenced_keys(enforcer: oslo_policy.Enforcer, action: str) -> tuple[str, ...] | None:
    """Target keys (sorted) a rule depends on, or None when that cannot be told."""
    cache = enforcer.__dict__.setdefault("_neutrino_keys", {})
    rules = enforcer.rules
    # Keep the rule set itself (not its id(), which a new one may reuse).
    if cache.get(_RULES) is not rules:
        cache.clear()
        cache[_RULES] = rules
    if action not in cache:
        keys = _walk(rules, _lookup(rules, action), set())
        cache[action] = None if keys is None else tuple(sorted(keys))
    return cache[action]


def _walk(rules: Any, check: Any, seen: set[str]) -> set[str] | None:
    if check is None:
        return set()
    if isinstance(check, _checks.RuleCheck):
        if check.match in seen:
            return set()
        seen.add(check.match)
        return _walk(rules, _lookup(rules, check.match), seen)
    if isinstance(check, _checks.AndCheck | _checks.OrCheck):
        keys: set[str] = set()
        for sub in check.rules:
            found = _walk(rules, sub, seen)
            if found is None:
                return None
            keys |= found
        return keys
    if isinstance(check, _checks.NotCheck):
        return _walk(rules, check.rule, seen)
    if isinstance(check, _checks.TrueCheck | _checks.FalseCheck):
        return set()
    if isinstance(check, FieldCheck):
        return {check.field}
    # Exact types: a subclass (a custom check) may look at anything.
    if type(check) in (_checks.RoleCheck, _checks.GenericCheck):
        return _match_keys(check.match)
    return None


def _monotone(rules: Any, check: Any, seen: set[str]) -> bool:
    """No ``not`` anywhere and only checks whose behaviour on a missing key we know."""
    if isinstance(check, _checks.RuleCheck):
        if check.match in seen:
            return True
        seen.add(check.match)
        sub = _lookup(rules, check.match)
        return sub is None or _monotone(rules, sub, seen)
    if isinstance(check, _checks.AndCheck | _checks.OrCheck):
        return all(_monotone(rules, sub, seen) for sub in check.rules)
    if isinstance(check, _checks.TrueCheck | _checks.FalseCheck | FieldCheck):
        return True
    return type(check) in (_checks.RoleCheck, _checks.GenericCheck)


def _find_policy_file(conf: cfg.ConfigOpts) -> str | None:
    name = conf.policy_file
    if os.path.isabs(name):
        return name
    for config_file in reversed(conf.config_file or []):
        candidate = os.path.join(os.path.dirname(os.path.abspath(config_file)), name)
        if os.path.exists(candidate):
            return candidate
    return name
