"""A trunk deleted: its parent's agent hears of it on the host's own queue (the
OVS agent unwires the trunk bridge then, not at its periodic resync)."""

from __future__ import annotations

from neutrino import events
from neutrino.context import Context
from neutrino.contract import topics
from neutrino.rpc.notifier import Cast, Notifier


class Recorder:
    """Stands in for the notifier's queue (what it sends is the question here)."""

    def __init__(self) -> None:
        self.casts: list[Cast] = []

    def enqueue(self, item: Cast) -> None:
        self.casts.append(item)


def test_trunk_delete_notifies_the_parents_host_only() -> None:
    parent = {"id": "p", "network_id": "n", "revision_number": None,
              "binding:host_id": "h1"}
    recorder = Recorder()
    payload = events.Payload(Context.admin(), "t", metadata={"parent": parent})
    Notifier._on_trunk_delete(recorder, "trunk", events.AFTER_DELETE,  # type: ignore[arg-type]
                              payload)
    assert recorder.casts == [Cast(topics.PORT_UPDATE, "port_update", {"port": parent},
                                   fanout=False, server="h1")]
    unbound = events.Payload(Context.admin(), "t",
                             metadata={"parent": {**parent, "binding:host_id": ""}})
    Notifier._on_trunk_delete(recorder, "trunk", events.AFTER_DELETE,  # type: ignore[arg-type]
                              unbound)
    assert len(recorder.casts) == 1
