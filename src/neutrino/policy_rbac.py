"""Secure-RBAC defaults derived from the legacy (admin-or-owner) policy rules.

Upstream Neutron's defaults today are the secure-RBAC personas: an administrator
(``role:admin``), a project member who may change the project's resources, a project
reader who may only look at them, and the ``service`` role other services (Nova)
use, with ``[oslo_policy] enforce_new_defaults`` (default true) choosing them over
the legacy admin-or-owner rules.

`policy.RESOURCE_RULES` stays written in the legacy style; each action's secure
default is derived here, token by token, from its legacy check string:

* an ownership check (``rule:owner``, ``rule:admin_or_owner``, ``rule:network_owner``,
  ``project_id:%(...)s``, and any named rule that is just such a match) gains the
  persona's role: ``role:member`` for changes, ``role:reader`` for ``get_*``;
* ``rule:context_is_advsvc`` becomes ``rule:service_api``;
* "anyone" (``""``, ``rule:regular_user``) becomes a member of the target's project
  for creates, an admin or anyone with the member role (reader for reads) otherwise;
* upstream's port rules that Nova relies on also allow ``rule:service_api``.

The legacy string is registered as the rule's deprecated default: oslo.policy
evaluates ``new or legacy`` when ``enforce_new_defaults`` is false, and only the new
one otherwise. Rules an operator sets in the policy file win in both cases.
"""

from __future__ import annotations

import re

ADMIN = "rule:admin_only"
SERVICE = "rule:service_api"
MEMBER = "member"
READER = "reader"

# Base rules named in the sample file, for operators' overrides.
PERSONA_RULES = [
    ("service_api", "role:service",
     "Default rule for the service-to-service APIs (e.g. Nova binding ports)."),
]

# Legacy rules referenced by name, and what each becomes for a persona role.
_OWNER = "project_id:%(project_id)s"
_NETWORK_OWNER = "project_id:%(network:project_id)s"
_MAPPED = {
    "rule:owner": lambda role: f"(role:{role} and {_OWNER})",
    "rule:admin_or_owner": lambda role: f"{ADMIN} or (role:{role} and {_OWNER})",
    "rule:network_owner": lambda role: f"(role:{role} and {_NETWORK_OWNER})",
    "rule:admin_or_network_owner":
        lambda role: f"{ADMIN} or (role:{role} and {_NETWORK_OWNER})",
    "rule:admin_owner_or_network_owner":
        lambda role: (f"{ADMIN} or (role:{role} and {_OWNER}) or "
                      f"(role:{role} and {_NETWORK_OWNER})"),
    "rule:context_is_advsvc": lambda role: SERVICE,
    "rule:regular_user": lambda role: f"{ADMIN} or role:{role}",
}

# Upstream's port rules that also allow the service role (Nova creates, binds,
# updates and deletes instances' ports; agents' own work goes over RPC).
SERVICE_ACTIONS = frozenset({
    "create_port", "get_port", "update_port", "delete_port",
    *(f"{action}_port:{attr}"
      for action in ("create", "update")
      for attr in ("device_owner", "mac_address", "fixed_ips", "port_security_enabled",
                   "binding:host_id", "binding:profile", "binding:vnic_type")),
    *(f"get_port:{attr}" for attr in ("binding:vif_type", "binding:vif_details",
                                      "binding:host_id", "binding:profile")),
})

_OWNER_MATCH = re.compile(r"^(?:project_id|tenant_id):%\([^)]*\)s$")
_TOKEN = re.compile(r"rule:[^\s()]+|(?:project_id|tenant_id):%\([^)]*\)s")


def persona_role(action: str) -> str:
    return READER if action.startswith("get_") else MEMBER


def referenced_rules(rules: list[tuple[str, str]]) -> set[str]:
    """Names that some rule refers to (``rule:<name>``): helper rules, not actions."""
    return {token[len("rule:"):] for _, check in rules
            for token in re.findall(r"rule:[^\s()]+", check)}


def secure_check(action: str, legacy: str, owner_rules: set[str]) -> str:
    """The secure-RBAC check string for an action rule given in the legacy style.
    `owner_rules`: names of rules that are a bare ownership match."""
    role = persona_role(action)
    stripped = legacy.strip()
    if stripped in ("", "rule:regular_user"):
        if action.startswith("create_") and ":" not in action:
            new = f"{ADMIN} or (role:{role} and {_OWNER})"
        else:
            new = f"{ADMIN} or role:{role}"
    else:
        def replace(match: re.Match) -> str:
            token = match.group(0)
            if token in _MAPPED:
                mapped = _MAPPED[token](role)
                return f"({mapped})" if " or " in mapped else mapped
            if token.startswith("rule:"):
                if token[len("rule:"):] in owner_rules:
                    return f"(role:{role} and {token})"
                return token
            return f"(role:{role} and {token})"
        new = _TOKEN.sub(replace, stripped)
    if action in SERVICE_ACTIONS and SERVICE not in new:
        new = f"{new} or {SERVICE}"
    return _unwrap(new)


def _unwrap(check: str) -> str:
    """Drop one pair of parentheses around the whole string, if they enclose it."""
    if check.startswith("(") and check.endswith(")"):
        depth = 0
        for i, char in enumerate(check):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and i < len(check) - 1:
                return check
        return check[1:-1]
    return check


def owner_rule_names(rules: list[tuple[str, str]]) -> set[str]:
    """Named rules whose check is a bare ownership match (e.g. ``sg_owner``)."""
    return {name for name, check in rules if _OWNER_MATCH.match(check.strip())}
