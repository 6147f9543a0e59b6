"""Logging set-up: every line a request causes carries its request id."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

# The request being served by this thread (set by the API's RequestId middleware).
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default="-")

FORMAT = ("%(asctime)s %(process)d %(levelname)s %(name)s "
          "[%(request_id)s] %(message)s")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


def setup(conf: Any) -> None:
    handler: logging.Handler
    handler = logging.FileHandler(conf.log_file) if conf.log_file else logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if conf.debug else logging.INFO)
    for noisy in ("sqlalchemy", "alembic", "stevedore", "oslo_policy", "keystonemiddleware"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
