"""security-group (port side) and port-security-groups-filtering: a port's
`security_groups`, a list of group ids (default: the project's `default` group).
The security-group feature (resources.security_group) adds it to ports."""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources.attributes import Attr
from neutrino.resources.port import UNSET
from neutrino.resources.validators import UUID_RE, bad

SECURITY_GROUPS = "security_groups"


def uuid_list_or_none(value: Any) -> list[str] | None:
    """A list of group ids, each once (order kept); null stays null."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise exc.InvalidInput(f"'{value}' is not a list")
    seen: list[Any] = []
    duplicates: list[str] = []
    for item in value:
        key = item.lower() if isinstance(item, str) else item
        if key in seen and str(item) not in duplicates:
            duplicates.append(str(item))
        seen.append(key)
    if duplicates:  # upstream's uuid_list check: the same group twice is refused
        raise bad(SECURITY_GROUPS, f"Duplicate items in the list: '{', '.join(duplicates)}'")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not UUID_RE.match(item):
            raise exc.InvalidInput(f"'{item}' is not an integer or uuid")
        item = item.lower()
        if item not in out:
            out.append(item)
    return out


PORT_ATTRS = (Attr(SECURITY_GROUPS, convert=uuid_list_or_none, default=UNSET, allow_put=True,
                   sortable=False),)
