"""Notifications to agents merged before they are sent (pure; the notifier's
sending thread drains what is queued and sends ``coalesce(batch)``).

A storm (a bulk port create, a host's first sync, a rule change on a group of
thousands of ports) queues hundreds of casts saying the same thing: every agent is
level-triggered (it only resyncs), so one message per resource, and one per
security-group method listing every group, say all of it. Each cast in the queue
follows a commit, so sending the merged one at the place of the first costs no
ordering the agents could notice.

* the security-group fanouts (``security_groups_member_updated`` /
  ``..._rule_updated``): one per method, with the union of the groups;
* ``port_update`` cast to one agent's own queue (a status it reported, see
  notifier.py): one per agent, whatever the port (it resyncs the whole host);
* a cast about one resource (``port_update``, ``network_update``, the DHCP agents'
  ``<resource>_<action>_end``): the last one per resource and method;
* anything else: exact duplicates dropped.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

GROUP_METHODS = frozenset({"security_groups_member_updated",
                           "security_groups_rule_updated"})


class CastLike(Protocol):
    topic: str
    method: str
    kwargs: dict
    fanout: bool
    server: str | None


def _resource_id(kwargs: dict) -> str | None:
    """The one resource a cast is about: `port=`/`network=` refs, or the DHCP
    payload's single resource."""
    for key in ("port", "network"):
        if isinstance(kwargs.get(key), dict) and kwargs[key].get("id"):
            return f"{key}:{kwargs[key]['id']}"
    payload = kwargs.get("payload")
    if isinstance(payload, dict) and len(payload) == 1:
        (name, ref), = payload.items()
        if isinstance(ref, dict) and ref.get("id"):
            return f"{name}:{ref['id']}"
    return None


def _key(cast: CastLike) -> tuple[Any, ...]:
    where = (cast.topic, cast.method, cast.fanout, cast.server)
    if cast.method in GROUP_METHODS:
        return (*where, "groups")
    if cast.method == "port_update" and not cast.fanout:
        return (*where, "agent")
    resource = _resource_id(cast.kwargs)
    if resource is not None:
        return (*where, resource)
    return (*where, json.dumps(cast.kwargs, sort_keys=True, default=str))


def coalesce(casts: list[Any]) -> list[Any]:
    """The casts to send for `casts` (in order; see the module's docstring). Each
    item is a Cast (rpc/notifier.py); merged ones are new Casts of the same class."""
    slots: dict[tuple[Any, ...], int] = {}
    out: list[Any] = []
    groups: dict[int, set[str]] = {}
    for cast in casts:
        key = _key(cast)
        slot = slots.get(key)
        if slot is None:
            slots[key] = len(out)
            out.append(cast)
            if cast.method in GROUP_METHODS:
                groups[len(out) - 1] = set(cast.kwargs.get("security_groups") or [])
            continue
        if cast.method in GROUP_METHODS:
            groups[slot].update(cast.kwargs.get("security_groups") or [])
        else:
            out[slot] = cast  # the latest about that resource
    for slot, ids in groups.items():
        first = out[slot]
        if sorted(ids) != list(first.kwargs.get("security_groups") or []):
            out[slot] = type(first)(first.topic, first.method,
                                    {**first.kwargs, "security_groups": sorted(ids)},
                                    first.fanout, first.server)
    return out
