"""auth_strategy = keystone: tokens validated by keystonemiddleware's auth_token.

The middleware sets X-Project-Id / X-User-Id / X-Roles for the context; version
discovery (``GET /``) stays reachable without a token, as upstream.
"""

from __future__ import annotations

from typing import Any

import orjson
from keystonemiddleware import auth_token
from oslo_config import cfg

UNAUTHORIZED = orjson.dumps({"error": {
    "code": 401, "title": "Unauthorized",
    "message": "The request you have made requires authentication."}})


def wrap_keystone(app: Any, conf: cfg.ConfigOpts) -> Any:
    # delay_auth_decision lets us answer 401 in upstream's shape ourselves.
    protected = auth_token.AuthProtocol(
        _RequireIdentity(app), {"oslo_config_config": conf, "delay_auth_decision": "true"})

    def dispatch(environ: dict, start_response: Any) -> Any:
        if environ.get("PATH_INFO", "/") in ("", "/"):
            return app(environ, start_response)
        return protected(environ, start_response)
    return dispatch


class _RequireIdentity:
    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
            start_response("401 Unauthorized", [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(UNAUTHORIZED))),
                ("WWW-Authenticate", "Keystone uri=''")])
            return [UNAUTHORIZED]
        return self.app(environ, start_response)
