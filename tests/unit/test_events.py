"""The event registry: precommit callbacks veto, after-callbacks never undo."""

from __future__ import annotations

import pytest

from neutrino import events


def test_subscribers_get_resource_event_and_payload() -> None:
    registry = events.Registry()
    seen = []
    registry.subscribe(lambda r, e, p: seen.append((r, e, p.resource_id)), "port",
                       events.AFTER_CREATE)
    registry.publish("port", events.AFTER_CREATE, events.Payload(None, "p1"))
    registry.publish("network", events.AFTER_CREATE, events.Payload(None, "n1"))
    assert seen == [("port", events.AFTER_CREATE, "p1")]


def test_precommit_errors_propagate() -> None:
    registry = events.Registry()

    def veto(*_args) -> None:
        raise ValueError("no")

    registry.subscribe(veto, "network", events.PRECOMMIT_DELETE)
    with pytest.raises(ValueError):
        registry.publish("network", events.PRECOMMIT_DELETE, events.Payload(None, "n"))


def test_after_errors_are_contained_and_later_callbacks_still_run() -> None:
    registry = events.Registry()
    seen = []

    def broken(*_args) -> None:
        raise RuntimeError("boom")

    registry.subscribe(broken, "subnet", events.AFTER_UPDATE)
    registry.subscribe(lambda *a: seen.append("ran"), "subnet", events.AFTER_UPDATE)
    registry.publish("subnet", events.AFTER_UPDATE, events.Payload(None, "s"))
    assert seen == ["ran"]
