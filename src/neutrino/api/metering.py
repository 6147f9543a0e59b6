"""Metering routes (issue 14): ``/v2.0/metering/metering-labels`` and
``/v2.0/metering/metering-label-rules``, list/create on the collection, show/delete
on a member. There is no update (upstream's plugin has none): PUT answers 405."""

from __future__ import annotations

import falcon
from oslo_config import cfg

from neutrino.api.controller import Collection, Member, Service
from neutrino.core import Core


class MemberWithoutUpdate:
    """Show and delete only; other methods answer 405."""

    def __init__(self, member: Member) -> None:
        self.member = member

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        self.member.on_get(req, resp, resource_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  resource_id: str) -> None:
        self.member.on_delete(req, resp, resource_id)


def add_routes(app: falcon.App, core: Core, conf: cfg.ConfigOpts) -> None:
    services: tuple[Service, ...] = (core.metering_labels, core.metering_label_rules)
    for service in services:
        path = f"/v2.0/{service.resource.url_path}"
        app.add_route(path, Collection(service, core.policy, conf))
        app.add_route(path + "/{resource_id}",
                      MemberWithoutUpdate(Member(service, core.policy)))
