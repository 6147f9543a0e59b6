"""Rendering every failure as a Neutron error body with upstream's status."""

from __future__ import annotations

import logging

import falcon
import orjson

from neutrino import exceptions as exc

LOG = logging.getLogger(__name__)

_FALCON_TYPES = {
    404: ("HTTPNotFound", "The resource could not be found."),
    405: ("HTTPMethodNotAllowed", "The server could not comply with the request since it "
          "is either malformed or otherwise incorrect."),
    400: ("HTTPBadRequest", "The server could not comply with the request since it is "
          "either malformed or otherwise incorrect."),
    413: ("HTTPRequestEntityTooLarge", "Request is too large."),
    415: ("HTTPUnsupportedMediaType", "The request media type is not supported."),
}


def body(type_: str, message: str) -> bytes:
    return orjson.dumps({"NeutronError": {"type": type_, "message": message,
                                          "detail": ""}})


# Error bodies never grow with the input (issue 18): a longer message keeps its start
# and its end (what failed and why), the echoed value between them is cut.
MESSAGE_MAX = 1024


def bounded(message: str) -> str:
    if len(message) <= MESSAGE_MAX:
        return message
    keep = (MESSAGE_MAX - 40) // 2
    return (f"{message[:keep]}...({len(message) - 2 * keep} characters omitted)..."
            f"{message[-keep:]}")


def _write(resp: falcon.Response, status: int, type_: str, message: str) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = body(type_, bounded(message))


def handle_neutron_error(req: falcon.Request, resp: falcon.Response,
                         error: exc.NeutronError, params: dict) -> None:
    headers = getattr(error, "headers", None)  # Retry-After of a 503
    if headers:
        resp.set_headers(headers)
    _write(resp, error.status, error.type, error.msg)


def handle_falcon_error(req: falcon.Request, resp: falcon.Response,
                        error: falcon.HTTPError, params: dict) -> None:
    status = error.status_code
    type_, message = _FALCON_TYPES.get(status, (f"HTTP{status}", error.title or ""))
    if status == 405 and error.headers:
        resp.set_headers(error.headers)
    _write(resp, status, type_, message)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, error: Exception,
                      params: dict) -> None:
    if isinstance(error, falcon.HTTPError):
        handle_falcon_error(req, resp, error, params)
        return
    request_id = req.context.get("request_id", "-")
    LOG.exception("request %s %s failed (request id %s)", req.method, req.path, request_id)
    _write(resp, 500, "HTTPInternalServerError",
           "Request Failed: internal server error while processing your request.")
