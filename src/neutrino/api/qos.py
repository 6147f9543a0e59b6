"""QoS routes: policies (the generic controller), their rules as sub-resources
(``/v2.0/qos/policies/{policy_id}/<type>_rules[/{rule_id}]``), the ``alias_*`` rule
paths (by rule id alone) and ``/v2.0/qos/rule-types[/{type}]``.

Rules are checked by the policy rules upstream names (``<action>_policy_<type>_rule``,
``<action>_alias_<type>_rule``) against their policy's owner and sharing; a policy
the caller may not see answers 404 as the policy itself.
"""

from __future__ import annotations

import falcon

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import Member, View, send
from neutrino.context import Context
from neutrino.core import Core
from neutrino.policy import Policy
from neutrino.resources.qos import (
    ALIAS_RULES,
    RULE_TYPE,
    RULE_TYPES,
    RULES,
    QosPolicyNotFound,
    QosRuleNotFound,
    QosRuleTypeNotFound,
    RuleType,
)
from neutrino.resources.validators import UUID_RE, to_boolean
from neutrino.services import prepare
from neutrino.services.qos_drivers import QosDrivers
from neutrino.services.qos_policies import QosPolicyService


class _Rules:
    """What the rule endpoints share: the policy's member and policy checks."""

    def __init__(self, policies: Member, service: QosPolicyService, rule_type: RuleType,
                 policy: Policy, alias: bool = False) -> None:
        self.policies = policies
        self.service = service
        self.rule_type = rule_type
        self.policy = policy
        self.resource = ALIAS_RULES[rule_type.type] if alias else RULES[rule_type.type]
        self.prefix = "alias" if alias else "policy"
        self.view = View(self.resource, policy)

    def target(self, policy: dict, rule: dict | None = None) -> dict:
        return dict(rule or {}, project_id=policy["project_id"],
                    tenant_id=policy["project_id"], shared=policy["shared"],
                    qos_policy_id=policy["id"])

    def check(self, ctx: Context, action: str, policy: dict, rule: dict | None = None,
              hide: bool = False) -> None:
        name = f"{action}_{self.prefix}_{self.rule_type.name}"
        target = self.target(policy, rule)
        if hide and not self.policy.check(ctx, name, target):
            raise QosRuleNotFound(rule_id=(rule or {}).get("id"), policy_id=policy["id"])
        self.policy.enforce(ctx, name, target)

    def load_rule(self, ctx: Context, rule_id: str, policy_id: str | None
                  ) -> tuple[dict, dict]:
        if not UUID_RE.match(rule_id):
            raise QosRuleNotFound(rule_id=rule_id, policy_id=policy_id)
        rule = self.service.get_rule(self.rule_type, rule_id, policy_id)
        policy = self.policies.load_visible(ctx, rule["qos_policy_id"])
        if policy_id is None:
            rule["tenant_id"] = rule["project_id"] = policy["project_id"]
        return rule, policy

    def render(self, ctx: Context, rule: dict) -> dict:
        return {self.resource.name: self.view.render(ctx, rule)}


class RuleCollection(_Rules):
    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str
               ) -> None:
        ctx: Context = req.context.ctx
        policy_id = resource_id
        policy = self.policies.load_visible(ctx, policy_id)
        self.check(ctx, "get", policy, hide=True)
        rules = self.service.list_rules(policy_id, self.rule_type)
        fields = [f for f in req.get_param_as_list("fields") or [] if f] or None
        send(resp, {self.resource.collection: [self.view.render(ctx, r, fields)
                                               for r in rules]})

    def on_post(self, req: falcon.Request, resp: falcon.Response, resource_id: str
                ) -> None:
        ctx: Context = req.context.ctx
        policy_id = resource_id
        item = bodies.single_item(self.resource, bodies.decode(req.bounded_stream.read()))
        data = prepare.prepare_create(self.resource, item, ctx)
        try:
            policy = self.policies.load_visible(ctx, policy_id)
        except QosPolicyNotFound:
            # Upstream enforces the create rule before the policy's visibility: a
            # project member gets 403 (not 404) for another project's policy too.
            self.check(ctx, "create", self.service.get(ctx, policy_id), data)
            raise
        self.check(ctx, "create", policy, data)
        rule = self.service.create_rule(ctx, policy_id, self.rule_type, data)
        send(resp, self.render(ctx, rule), 201)


class RuleMember(_Rules):
    def on_get(self, req: falcon.Request, resp: falcon.Response, rule_id: str,
               resource_id: str | None = None) -> None:
        ctx: Context = req.context.ctx
        policy_id = resource_id
        rule, policy = self.load_rule(ctx, rule_id, policy_id)
        self.check(ctx, "get", policy, rule, hide=True)
        send(resp, self.render(ctx, rule))

    def on_put(self, req: falcon.Request, resp: falcon.Response, rule_id: str,
               resource_id: str | None = None) -> None:
        ctx: Context = req.context.ctx
        policy_id = resource_id
        item = bodies.single_item(self.resource, bodies.decode(req.bounded_stream.read()))
        data = prepare.prepare_update(self.resource, item)
        rule, policy = self.load_rule(ctx, rule_id, policy_id)
        self.check(ctx, "update", policy, dict(rule, **data))
        new = self.service.update_rule(ctx, self.rule_type, rule_id, data, policy_id)
        if policy_id is None:
            new.update(tenant_id=policy["project_id"], project_id=policy["project_id"])
        send(resp, self.render(ctx, new))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, rule_id: str,
                  resource_id: str | None = None) -> None:
        ctx: Context = req.context.ctx
        policy_id = resource_id
        rule, policy = self.load_rule(ctx, rule_id, policy_id)
        self.check(ctx, "delete", policy, rule)
        self.service.delete_rule(ctx, self.rule_type, rule_id, policy_id)
        resp.status = 204


class RuleTypes:
    """``GET /v2.0/qos/rule-types``: the types the loaded drivers apply (every
    driver by default; ``all_supported``: any driver; ``all_rules``: all types)."""

    def __init__(self, drivers: QosDrivers, policy: Policy) -> None:
        self.drivers = drivers
        self.policy = policy

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "get_rule_type", {})
        unknown = [k for k in req.params if k not in ("all_rules", "all_supported",
                                                      "fields")]
        if unknown:
            raise exc.HTTPBadRequest(f"[{', '.join(unknown)}] is invalid attribute for "
                                     "filtering")
        flags = {k: to_boolean(req.params[k]) for k in ("all_rules", "all_supported")
                 if k in req.params}
        types = self.drivers.rule_types(**flags)
        send(resp, {"rule_types": [{"type": t} for t in types]})


class RuleTypeShow:
    def __init__(self, drivers: QosDrivers, policy: Policy) -> None:
        self.drivers = drivers
        self.policy = policy

    def on_get(self, req: falcon.Request, resp: falcon.Response, rule_type: str) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "get_rule_type", {})
        # Upstream's plugin refuses the details (the drivers) to non-administrators
        # whatever the policy says: 403 NotAuthorized, while anyone may list.
        if not ctx.is_admin:
            raise exc.NotAuthorized()
        if rule_type not in RULE_TYPES:
            raise QosRuleTypeNotFound(rule_type=rule_type)
        send(resp, {RULE_TYPE.name: {"type": rule_type,
                                     "drivers": self.drivers.details(rule_type)}})


def add_routes(app: falcon.App, core: Core, member: Member) -> None:
    """The rules of the policies (`member`: the policies' member, served with the
    other collections) and the rule types."""
    service = core.qos_policies
    path = f"/v2.0/{service.resource.url_path}"
    for rule_type in RULE_TYPES.values():
        # Falcon wants the member's field name ({resource_id}) for the policy id.
        rules = f"{path}/{{resource_id}}/{rule_type.collection}"
        app.add_route(rules, RuleCollection(member, service, rule_type, core.policy))
        app.add_route(rules + "/{rule_id}",
                      RuleMember(member, service, rule_type, core.policy))
    for type_name in ALIAS_RULES:
        rule_type = RULE_TYPES[type_name]
        app.add_route(f"/v2.0/qos/alias_{rule_type.collection}/{{rule_id}}",
                      RuleMember(member, service, rule_type, core.policy, alias=True))
    app.add_route("/v2.0/qos/rule-types", RuleTypes(core.qos_drivers, core.policy))
    app.add_route("/v2.0/qos/rule-types/{rule_type}",
                  RuleTypeShow(core.qos_drivers, core.policy))
