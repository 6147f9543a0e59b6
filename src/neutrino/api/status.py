"""``GET /v2.0/neutrino/status``: the server's own health for operators (``neutrino
status``); admin-only by policy ``get_neutrino_status``. Not part of Neutron's API,
hence under the ``neutrino`` prefix.

On RabbitMQ the bus part also lists the server's queues (rpc/queues.py): messages
waiting and consumers, so an operator sees a backlog, or an RPC topic nobody serves,
without the broker's management plugin."""

from __future__ import annotations

import falcon

from neutrino.api.controller import send
from neutrino.context import Context
from neutrino.core import Core
from neutrino.rpc import queues as rpc_queues
from neutrino.services import health

PATH = "/v2.0/neutrino/status"
QUEUES_TTL = 2.0


class Status:
    def __init__(self, core: Core) -> None:
        self.core = core
        # Read at most every few seconds however often operators ask (one short
        # AMQP connection per reading); None: the bus is not RabbitMQ.
        self.queues = rpc_queues.for_server(core.conf, core.notifications.enabled,
                                            ttl=QUEUES_TTL)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        self.core.policy.enforce(ctx, "get_neutrino_status",
                                 {"project_id": ctx.project_id or ""})
        status = health.status(self.core.conf, self.core.db)
        if self.queues is not None and status["bus"].get("reachable"):
            rpc = set(rpc_queues.SERVER_TOPICS)
            status["bus"]["queues"] = [
                {"name": name, "messages": messages, "consumers": consumers,
                 "rpc": name.split(".")[0] in rpc and not name.endswith(".info")}
                for name, (messages, consumers) in sorted(self.queues.read().items())]
        send(resp, {"status": status})


def add_routes(app: falcon.App, core: Core) -> None:
    app.add_route(PATH, Status(core))
