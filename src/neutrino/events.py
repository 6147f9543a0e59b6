"""An explicit (resource, event) callback registry.

Services publish; features subscribe at start-up, visibly. ``PRECOMMIT_*`` callbacks
run inside the request's transaction (they get the session and must do no other I/O);
``AFTER_*`` callbacks run after commit.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger(__name__)

BEFORE_CREATE = "before_create"
PRECOMMIT_CREATE = "precommit_create"
AFTER_CREATE = "after_create"
BEFORE_UPDATE = "before_update"
PRECOMMIT_UPDATE = "precommit_update"
AFTER_UPDATE = "after_update"
BEFORE_DELETE = "before_delete"
PRECOMMIT_DELETE = "precommit_delete"
AFTER_DELETE = "after_delete"


@dataclass
class Payload:
    context: Any
    resource_id: str | None = None
    states: tuple = ()            # (old, new) dicts where they make sense
    session: Any = None           # set for PRECOMMIT_* only
    metadata: dict = field(default_factory=dict)


Callback = Callable[[str, str, Payload], None]


class Registry:
    def __init__(self) -> None:
        self._subscribers: dict[tuple[str, str], list[Callback]] = defaultdict(list)

    def subscribe(self, callback: Callback, resource: str, event: str) -> None:
        self._subscribers[(resource, event)].append(callback)

    def publish(self, resource: str, event: str, payload: Payload) -> None:
        """BEFORE/PRECOMMIT errors propagate (they veto); AFTER errors are logged."""
        for callback in self._subscribers.get((resource, event), ()):
            if event.startswith("after_"):
                try:
                    callback(resource, event, payload)
                except Exception:  # an after-callback must not undo a committed change
                    LOG.exception("callback %s failed for %s %s", callback, resource, event)
            else:
                callback(resource, event, payload)
