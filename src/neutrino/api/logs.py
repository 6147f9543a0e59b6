"""Security group logging routes (issue 14) beside the generic ``/v2.0/log/logs``
collection: ``GET /v2.0/log/loggable-resources``, the types a log may name."""

from __future__ import annotations

import falcon

from neutrino.api.controller import send
from neutrino.context import Context
from neutrino.core import Core
from neutrino.policy import Policy
from neutrino.resources.log import LOGGABLE_TYPES


class LoggableResources:
    """The list only (other methods answer 405); upstream's policy guards it."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        self.policy.enforce(ctx, "get_loggable_resource", {})
        send(resp, {"loggable_resources": [{"type": t} for t in LOGGABLE_TYPES]})


def add_routes(app: falcon.App, core: Core) -> None:
    app.add_route("/v2.0/log/loggable-resources", LoggableResources(core.policy))
