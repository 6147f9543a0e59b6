"""auth_strategy = keystone: tokens validated by keystonemiddleware's auth_token.

The middleware strips any identity headers the client sent, validates X-Auth-Token and
sets X-Project-Id / X-User-Id / X-Roles for the context. Version discovery (``GET /``)
stays reachable without a token, as upstream.

What the caller sees when it is refused, as upstream Neutron (keystone/001, 002):

* no token, or a token Keystone rejects: 401 with auth_token's own body
  ``{"error": {"code": 401, "title": "Unauthorized", "message": ...}}`` and
  ``WWW-Authenticate: Keystone uri="<www_authenticate_uri>"``;
* Keystone unreachable (the token cannot be validated): 503, in Neutron's error shape.

Every response carries X-Openstack-Request-Id, including those auth_token answers
itself before the application is reached.
"""

from __future__ import annotations

import json
from typing import Any

from keystonemiddleware import auth_token
from oslo_config import cfg

from neutrino.api.middleware import PUBLIC_PATHS, REQUEST_ID_ENV
from neutrino.context import new_request_id

_REACHED_ENV = "neutrino.reached_app"
REQUEST_ID_HEADER = "X-Openstack-Request-Id"

# Byte for byte what auth_token (and so upstream Neutron) sends.
UNAUTHORIZED = json.dumps({"error": {
    "code": 401, "title": "Unauthorized",
    "message": "The request you have made requires authentication."}}).encode()
KEYSTONE_UNAVAILABLE = json.dumps({"NeutronError": {
    "type": "ServiceUnavailable",
    "message": "The Keystone service is temporarily unavailable.",
    "detail": ""}}).encode()


def wrap_keystone(app: Any, conf: cfg.ConfigOpts) -> Any:
    protected = auth_token.AuthProtocol(_RequireIdentity(app),
                                        {"oslo_config_config": conf})

    def dispatch(environ: dict, start_response: Any) -> Any:
        request_id = new_request_id()
        environ[REQUEST_ID_ENV] = request_id
        if environ.get("PATH_INFO", "/") in PUBLIC_PATHS:
            return app(environ, start_response)
        captured: list = []

        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            captured[:] = [status, list(headers)]
            return lambda data: None  # write() is not used by these apps

        result = protected(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = captured
        if not environ.get(_REACHED_ENV):
            status, headers, body = _refusal(status, headers, body)
        if not any(name.lower() == REQUEST_ID_HEADER.lower() for name, _ in headers):
            headers.append((REQUEST_ID_HEADER, request_id))
        start_response(status, headers)
        return [body]
    return dispatch


def _refusal(status: str, headers: list, body: bytes) -> tuple[str, list, bytes]:
    """A response auth_token produced itself, in upstream's shape."""
    code = status.split(" ", 1)[0]
    if code == "401":
        body = UNAUTHORIZED
    elif code == "503":
        body = KEYSTONE_UNAVAILABLE
    else:
        return status, headers, body
    kept = [(k, v) for k, v in headers
            if k.lower() not in ("content-type", "content-length")]
    return status, kept + [("Content-Type", "application/json"),
                           ("Content-Length", str(len(body)))], body


class _RequireIdentity:
    """Refuses what auth_token let through unconfirmed (should an operator set
    delay_auth_decision); auth_token adds WWW-Authenticate to the 401."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
            start_response("401 Unauthorized", [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(UNAUTHORIZED)))])
            return [UNAUTHORIZED]
        environ[_REACHED_ENV] = True
        return self.app(environ, start_response)
