"""Falcon middleware: upstream's ``<resource>.create/update/delete.start/.end``
notifications for the generic controller's collections (services/notifications.py
sends them; see there for the payloads).

They are made here, at the API, because that is what upstream's notifications
describe: the request's body (``.start``) and the API's answer (``.end``), as the
caller saw them; the service layer's events carry neither. A request that fails
sends its ``.start`` only, as upstream.

Two member actions notify too, once each, after they succeed, as upstream's L3
service does: ``add_router_interface`` → ``router.interface.create`` and
``remove_router_interface`` → ``router.interface.delete``, the payload
``{"router_interface": <the action's answer>}`` (router id, port, subnet(s),
project).
"""

from __future__ import annotations

import io
import json
from typing import Any

import falcon

from neutrino.api.controller import Collection, Member
from neutrino.api.member_actions import MemberActionHandler
from neutrino.services.notifications import NotificationSender, request_context

_STARTED = "notification_started"

# Member actions that notify: the action -> its event type.
ACTION_EVENTS = {"add_router_interface": "router.interface.create",
                 "remove_router_interface": "router.interface.delete"}


class ResourceNotifications:
    def __init__(self, sender: NotificationSender) -> None:
        self.sender = sender

    def process_resource(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, params: dict) -> None:
        if not self.sender.enabled or req.method not in ("POST", "PUT", "DELETE"):
            return
        if not isinstance(resource, (Collection, Member)):
            return
        if (req.method == "POST") != isinstance(resource, Collection):
            return
        ctx = req.context.get("ctx")
        if ctx is None:
            return
        name = resource.resource.name
        resource_id = params.get("resource_id")
        if req.method == "DELETE":
            before = self._item(resource, ctx, resource_id)
            req.context[_STARTED] = (name, "delete", resource_id, before)
            self.sender.info(request_context(ctx), f"{name}.delete.start",
                             {f"{name}_id": resource_id})
            return
        body = self._body(req)
        if body is None:  # not JSON: the controller answers 400, nothing happens
            return
        action = "create" if req.method == "POST" else "update"
        if action == "update" and isinstance(body, dict):
            body = dict(body, id=resource_id)
        req.context[_STARTED] = (name, action, resource_id, None)
        self.sender.info(request_context(ctx), f"{name}.{action}.start", body)

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, req_succeeded: bool) -> None:
        if not self.sender.enabled or not req_succeeded or _status(resp) >= 300:
            return
        if isinstance(resource, MemberActionHandler):
            self._action_done(req, resp, resource)
            return
        started = req.context.get(_STARTED)
        if started is None:
            return
        name, action, resource_id, before = started
        ctx = request_context(req.context.ctx)
        if action == "delete":
            payload = {f"{name}_id": resource_id}
            if before is not None:
                payload[name] = before
            self.sender.info(ctx, f"{name}.delete.end", payload)
            return
        try:
            answer = json.loads(resp.data or b"null")
        except ValueError:
            return
        self.sender.info(ctx, f"{name}.{action}.end", answer)

    def _action_done(self, req: falcon.Request, resp: falcon.Response,
                     handler: MemberActionHandler) -> None:
        event_type = ACTION_EVENTS.get(handler.spec.action)
        ctx = req.context.get("ctx")
        if event_type is None or ctx is None or req.method != handler.spec.method:
            return
        try:
            answer = json.loads(resp.data or b"null")
        except ValueError:
            return
        self.sender.info(request_context(ctx), event_type, {"router_interface": answer})

    @staticmethod
    def _body(req: falcon.Request) -> Any:
        """The request's JSON body, read here and put back for the controller (whose
        `bounded_stream` is made later)."""
        length = req.content_length
        if not length:  # no body, or chunked: left alone (no .start payload)
            return None
        raw = req.stream.read(length)
        # falcon makes `bounded_stream` from the environ's input when first asked.
        req.env["wsgi.input"] = req.stream = io.BytesIO(raw)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    @staticmethod
    def _item(member: Member, ctx: Any, resource_id: str | None) -> dict | None:
        """The item as the caller sees it, for ``.delete.end`` (upstream's payload
        carries it); None when it is not there (the delete then answers 404)."""
        if resource_id is None:
            return None
        try:
            return member.view.render(ctx, member.load_visible(ctx, resource_id))
        except Exception:  # noqa: BLE001 - the controller answers the same error
            return None


def _status(resp: falcon.Response) -> int:
    return resp.status if isinstance(resp.status, int) else int(
        str(resp.status).split()[0])
