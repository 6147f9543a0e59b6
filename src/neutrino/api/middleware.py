"""Per-request middleware: request id and access log, and the caller's context."""

from __future__ import annotations

import logging
import time

import falcon

from neutrino import log
from neutrino.context import Context, new_request_id
from neutrino.policy import Policy

ACCESS_LOG = logging.getLogger("neutrino.api.access")
NOAUTH_PROJECT = "fake_project_id"
# WSGI environ key under which an outer layer may have set the request id already.
REQUEST_ID_ENV = "neutrino.request_id"
# Paths anyone may read, token or not (version discovery; the topology page, which
# holds no data: its requests for data carry the credentials).
PUBLIC_PATHS = ("/", "", "/topology")


class RequestId:
    """Gives every request an id (``X-Openstack-Request-Id``) and logs it on the way out."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        # In keystone mode the id is made before auth_token runs (neutrino.api.keystone).
        req.context.request_id = req.env.get(REQUEST_ID_ENV) or new_request_id()
        req.context.started = time.monotonic()
        log.current_request_id.set(req.context.request_id)

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: object, req_succeeded: bool) -> None:
        request_id = req.context.get("request_id")
        if request_id:
            resp.set_header("X-Openstack-Request-Id", request_id)
        elapsed = time.monotonic() - req.context.get("started", time.monotonic())
        ctx = req.context.get("ctx")
        ACCESS_LOG.info(
            '%s "%s %s" status=%s len=%s time=%.4f project=%s',
            req.remote_addr, req.method, req.relative_uri, resp.status[:3]
            if isinstance(resp.status, str) else resp.status,
            len(resp.data) if resp.data else 0, elapsed,
            ctx.project_id if ctx else "-")
        log.current_request_id.set("-")


class ContextFromHeaders:
    """Builds the request Context.

    noauth: no X-Project-Id -> admin in 'fake_project_id' (as upstream); with it, that
    project with the roles in X-Roles. keystone: keystonemiddleware has validated the
    token and set the same headers.
    """

    def __init__(self, policy: Policy, auth_strategy: str) -> None:
        self.policy = policy
        self.auth_strategy = auth_strategy

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        project = req.get_header("X-Project-Id") or req.get_header("X-Tenant-Id")
        roles = [r.strip() for r in (req.get_header("X-Roles") or "").split(",") if r.strip()]
        user = req.get_header("X-User-Id")
        if self.auth_strategy == "noauth":
            # Keystone puts implied roles in the token; without Keystone we imply them
            # the same way, so "X-Roles: member" can also read (secure-RBAC defaults).
            roles = implied_roles(roles)
        if self.auth_strategy == "noauth" and not project:
            ctx = Context(user_id=user, project_id=NOAUTH_PROJECT, roles=implied_roles(["admin"]),
                          is_admin=True, request_id=req.context.request_id)
        else:
            ctx = Context(user_id=user, project_id=project, roles=roles,
                          request_id=req.context.request_id)
            ctx.is_admin = self.policy.is_admin(ctx)
        req.context.ctx = ctx


# Keystone's default role inference: admin implies member, member implies reader.
IMPLIED_ROLES = {"admin": ("member",), "manager": ("member",), "member": ("reader",)}


def implied_roles(roles: list[str]) -> list[str]:
    """`roles` followed by every role they imply (transitively), without duplicates."""
    result = list(dict.fromkeys(roles))
    for role in result:  # grows while iterating: the closure
        for implied in IMPLIED_ROLES.get(role.lower(), ()):
            if implied not in result:
                result.append(implied)
    return result
