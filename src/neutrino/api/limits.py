"""What a request may carry, checked before anything reads or parses it (issue 18).

* Body size: ``[oslo_middleware] max_request_body_size`` (upstream's default, 114688
  bytes); a larger Content-Length is answered 413 without reading the body.
* Body type: a body whose Content-Type is not JSON is answered 415, as upstream's
  WSGI layer did ("Unsupported Content-Type"); a body without a Content-Type is read
  as JSON (clients such as curl's ``--data-binary`` omit it).
* The path: a NUL cannot be part of any id, name or tag; such a path names nothing
  (404, as upstream answers for a malformed id in a URL).
* Identity headers (noauth): X-Project-Id, X-Tenant-Id and X-User-Id longer than the
  project_id column (255) or with control characters are a 400, instead of a database
  error the first time the id is written.
"""

from __future__ import annotations

import falcon

from neutrino import exceptions as exc
from neutrino.db import bounds
from neutrino.resources.validators import PROJECT_ID_MAX_LEN

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON_TYPES = frozenset({"application/json"})
IDENTITY_HEADERS = ("X-Project-Id", "X-Tenant-Id", "X-User-Id")


def media_type(content_type: str) -> str:
    """``application/json`` of ``Application/JSON; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def is_json(content_type: str) -> bool:
    kind = media_type(content_type)
    return kind in JSON_TYPES or kind.endswith("+json")


def identity_problem(value: str) -> str | None:
    if len(value) > PROJECT_ID_MAX_LEN:
        return (f"'{bounds.echo(value)}' exceeds maximum length of "
                f"{PROJECT_ID_MAX_LEN}")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return f"'{bounds.echo(value)}' contains a control character"
    return None


class RequestLimits:
    """Falcon middleware; first in the chain after the request id."""

    def __init__(self, max_body_size: int) -> None:
        self.max_body_size = max_body_size

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if "\x00" in req.path:
            raise falcon.HTTPNotFound()
        for header in IDENTITY_HEADERS:
            value = req.get_header(header)
            if value:
                problem = identity_problem(value)
                if problem:
                    raise exc.HTTPBadRequest(f"Invalid input for {header}. "
                                             f"Reason: {problem}.")
        if req.method in BODY_METHODS:
            self._check_body(req)

    def _check_body(self, req: falcon.Request) -> None:
        length = req.content_length
        if not length:
            return
        if self.max_body_size and length > self.max_body_size:
            raise falcon.HTTPContentTooLarge()
        content_type = req.content_type
        if content_type and not is_json(content_type):
            raise falcon.HTTPUnsupportedMediaType()
