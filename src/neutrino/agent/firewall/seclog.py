"""Security group logging on the agent, pure: which of a port's packets are logged,
the iptables rule that logs them, and the lines a logged packet becomes.

A port of the "l2" desired state carries the enabled logs covering it
(``logs``: id, project, event). render.py puts, in a logged port's ingress and
egress chains, a rate-limited ``-j NFLOG`` rule before the RETURN of each security
group rule (event ACCEPT or ALL: a new connection a rule allows) and before the
final DROP (event DROP or ALL). The rule's prefix names the action and the port
(`prefix`); the reader (log_reader.py) receives the packets on the NFLOG group's
netlink socket and turns each into upstream's line for every project of the logs
that asked for it (`lines`), with the logs' ids taken from the latest desired
state (`targets`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from neutrino.agent.firewall import nflog
from neutrino.contract.l2 import L2Port, L2State

ACCEPT, DROP, ALL = "ACCEPT", "DROP", "ALL"
ACTIONS = (ACCEPT, DROP)
# The NFLOG group of the firewall's log rules (groups are per network namespace;
# one Linux bridge agent per namespace binds it).
NFLOG_GROUP = 7281
# xt_limit keeps a rate as 10000 / (packets per second), in whole numbers, and
# iptables-save prints it back from that (libxt_limit).
LIMIT_SCALE = 10000
DEFAULT_BURST = 5  # xt_limit's; iptables-save leaves it out
# iptables-save writes a prefix of only these characters without quotes.
PREFIX_CHARS = frozenset(string.ascii_letters + string.digits + "_-")
PREFIX_MAX = 63  # XT_NFLOG's 64 bytes with the NUL


@dataclass(frozen=True)
class LogSettings:
    """``[network_log]`` as the renderer needs it."""

    rate_limit: int = 100   # packets per second, per log rule
    burst_limit: int = 25
    group: int = NFLOG_GROUP


@dataclass(frozen=True)
class Target:
    """What one logged packet of a port and an action is written as: one line per
    project of the logs asking for it."""

    action: str
    project_id: str
    log_ids: tuple[str, ...]
    port_id: str


def log_ids(port: L2Port, action: str) -> list[str]:
    """Ids of the port's logs that ask for `action` (ACCEPT or DROP)."""
    return [log["id"] for log in port.get("logs", []) if log["event"] in (action, ALL)]


def prefix(action: str, port_id: str) -> str:
    """The NFLOG prefix naming an action and a port: ``DROP-<port id>``."""
    text = f"{action}-" + "".join(c for c in port_id if c in PREFIX_CHARS)
    return text[:PREFIX_MAX]


def limit_text(rate: int) -> str:
    """``--limit`` as iptables-save prints it back (so the driver, comparing rules
    with what the kernel holds, does not rewrite them every time)."""
    period = LIMIT_SCALE // max(1, min(rate, LIMIT_SCALE))
    return f"{LIMIT_SCALE // period}/sec"


def log_rule(settings: LogSettings, action: str, port_id: str, matches: str = ""
             ) -> str:
    """A rule (without ``-A chain``) logging the packets `matches` selects, at most
    `rate_limit` a second after a burst of `burst_limit`."""
    burst = (f" --limit-burst {settings.burst_limit}"
             if settings.burst_limit != DEFAULT_BURST else "")
    return (f"{matches + ' ' if matches else ''}-m limit --limit "
            f"{limit_text(settings.rate_limit)}{burst} -j NFLOG --nflog-prefix "
            f"{prefix(action, port_id)} --nflog-group {settings.group}")


def targets(desired: L2State) -> dict[str, list[Target]]:
    """NFLOG prefix -> what its packets are written as, for every logged port."""
    out: dict[str, list[Target]] = {}
    for port in desired["ports"]:
        for action in ACTIONS:
            by_project: dict[str, list[str]] = {}
            for log in port.get("logs", []):
                if log["event"] in (action, ALL):
                    by_project.setdefault(log["project_id"], []).append(log["id"])
            if by_project:
                out[prefix(action, port["id"])] = [
                    Target(action, project, tuple(sorted(ids)), port["id"])
                    for project, ids in sorted(by_project.items())]
    return out


def lines(packet: nflog.Packet, table: Mapping[str, list[Target]]) -> list[str]:
    """The log lines of one packet; none when its prefix is not one of the table
    (another group user's, or a port no log covers any more)."""
    return [nflog.log_line(t.action, t.project_id, list(t.log_ids), t.port_id,
                           packet.payload)
            for t in table.get(packet.prefix, [])]
