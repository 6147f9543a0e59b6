"""``PUT /v2.0/subnetpools/{id}/onboard_network_subnets`` (subnet_onboard) with
``{"network_id": ...}``: the network's subnets join the pool; answers
``[{"id": ..., "cidr": ...}]`` of the onboarded subnets, as upstream."""

from __future__ import annotations

from typing import Any

import falcon

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import Member, send
from neutrino.context import Context
from neutrino.resources.validators import UUID_RE

ACTION = "onboard_network_subnets"


class OnboardNetworkSubnets:
    def __init__(self, member: Member, service: Any) -> None:
        self.member = member
        self.service = service

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.ctx
        body = bodies.decode(req.bounded_stream.read())
        pool = self.member.load_visible(ctx, resource_id)
        self.member.policy.enforce(ctx, ACTION, pool)
        network_id = body.get("network_id") if isinstance(body, dict) else None
        if network_id is None:
            raise exc.InvalidInput("network_id must be specified.")
        if not isinstance(network_id, str) or not UUID_RE.match(network_id):
            raise exc.NetworkNotFound(net_id=network_id)
        send(resp, self.service.onboard_network_subnets(ctx, resource_id, network_id))


def add_routes(app: falcon.App, core: Any) -> None:
    if core.subnetpools is None:
        return
    app.add_route(f"/v2.0/subnetpools/{{resource_id}}/{ACTION}",
                  OnboardNetworkSubnets(Member(core.subnetpools, core.policy),
                                        core.subnetpools))
