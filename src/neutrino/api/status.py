"""``GET /v2.0/neutrino/status``: the server's own health for operators (``neutrino
status``); admin-only by policy ``get_neutrino_status``. Not part of Neutron's API,
hence under the ``neutrino`` prefix."""

from __future__ import annotations

import falcon

from neutrino.api.controller import send
from neutrino.context import Context
from neutrino.core import Core
from neutrino.services import health

PATH = "/v2.0/neutrino/status"


class Status:
    def __init__(self, core: Core) -> None:
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        self.core.policy.enforce(ctx, "get_neutrino_status",
                                 {"project_id": ctx.project_id or ""})
        send(resp, {"status": health.status(self.core.conf, self.core.db)})


def add_routes(app: falcon.App, core: Core) -> None:
    app.add_route(PATH, Status(core))
