"""``GET /v2.0/availability_zones``: the zones agents report (list only, as upstream)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import falcon

from neutrino import exceptions as exc
from neutrino.api.controller import send
from neutrino.context import Context
from neutrino.policy import Policy
from neutrino.services.agents import AgentService

FIELDS = ("name", "resource", "state")


class AvailabilityZones:
    def __init__(self, agents: AgentService, policy: Policy) -> None:
        self.agents = agents
        self.policy = policy

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.ctx
        filters: dict[str, set[str]] = {}
        fields: list[str] = []
        unknown = []
        for key, value in parse_qsl(req.query_string, keep_blank_values=True):
            if key == "fields":
                if value:
                    fields.append(value)
            elif key in FIELDS:
                filters.setdefault(key, set()).add(value)
            elif key not in ("sort_key", "sort_dir", "limit", "marker", "page_reverse"):
                unknown.append(key)
        if unknown:
            raise exc.HTTPBadRequest(f"{unknown} is invalid attribute for filtering")
        zones = [z for z in self.agents.availability_zones()
                 if all(z[k] in values for k, values in filters.items())
                 and self.policy.check(ctx, "get_availability_zone", z)]
        shown = [f for f in fields if f in FIELDS] or list(FIELDS)
        send(resp, {"availability_zones": [{k: z[k] for k in shown} for z in zones]})
