"""FWaaS v2 routes (issue 16) beyond the generic collections: the policies' member
actions ``PUT /v2.0/fwaas/firewall_policies/{id}/insert_rule`` and ``remove_rule``.

Upstream answers them with the policy itself, not wrapped under its name. The body
is the service's to check (after the policy's visibility and the action's rule, as
upstream: FirewallRuleInfoMissing, FirewallRuleNotFound, ...).
"""

from __future__ import annotations

import falcon

from neutrino.api.controller import Member
from neutrino.api.member_actions import MemberAction, MemberActionHandler
from neutrino.context import Context
from neutrino.core import Core


def add_routes(app: falcon.App, core: Core) -> None:
    if core.fwaas is None:
        return
    policies = core.fwaas.policies
    member = Member(policies, core.policy)
    path = f"/v2.0/{policies.resource.url_path}/{{resource_id}}"

    def rendered(ctx: Context, policy: dict) -> dict:
        return member.view.render(ctx, policy)

    for action, call in (("insert_rule", policies.insert_rule),
                         ("remove_rule", policies.remove_rule)):
        def run(ctx: Context, policy_id: str, body: object, call=call) -> dict:
            return rendered(ctx, call(ctx, policy_id, body))
        app.add_route(f"{path}/{action}", MemberActionHandler(MemberAction(
            member, action, lambda body: body, run, False)))
