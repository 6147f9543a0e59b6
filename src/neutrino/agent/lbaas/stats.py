"""Members' health from HAProxy's ``show stat`` (CSV), as Octavia's operating
statuses: UP → ONLINE, DOWN → ERROR, "no check" → NO_MONITOR, MAINT → OFFLINE,
DRAIN → DRAINING. A server line's ``svname`` is the member's id (render.py)."""

from __future__ import annotations

import csv
import io

FRONT_AND_BACK = ("FRONTEND", "BACKEND")


def member_statuses(show_stat: str) -> dict[str, str]:
    text = show_stat.lstrip("# ")
    out: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        name = row.get("svname") or ""
        if not name or name in FRONT_AND_BACK:
            continue
        out[name] = operating_status(row.get("status") or "")
    return out


def operating_status(status: str) -> str:
    word = status.split(" ")[0].upper() if status else ""
    if status.lower() == "no check":
        return "NO_MONITOR"
    return {"UP": "ONLINE", "DOWN": "ERROR", "MAINT": "OFFLINE", "DRAIN": "DRAINING",
            "NOLB": "DRAINING"}.get(word, "OFFLINE")
