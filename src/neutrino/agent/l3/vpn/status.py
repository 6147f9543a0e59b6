"""VPNaaS (issue 16): what charon says about a router's connections, and the
status reports (``update_status``) the server must get. Pure.

``swanctl --list-sas --raw`` prints one vici message per IKE SA::

  list-sa event {<conn> {uniqueid=1 version=2 state=ESTABLISHED ... child-sas
    {<conn>-2 {name=<conn> state=INSTALLED ... local-ts=[10.1.0.0/24]}}}}

`parse_sas` reads them into connection name -> (IKE state, child states). A site
connection is ACTIVE when its IKE SA is ESTABLISHED and its child INSTALLED (or
being rekeyed), as upstream's strongSwan driver; DOWN otherwise, also when charon
does not run or the connection is admin down; ERROR when it could not be rendered
(`render.Rendered.errors`). A service is ACTIVE when charon runs with its
configuration, DOWN when admin down or charon does not run, ERROR when charon
failed to start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neutrino.contract.l3 import ConnectionStatus, VpnServiceStatus

ACTIVE, DOWN, ERROR = "ACTIVE", "DOWN", "ERROR"
CHILD_UP = frozenset({"INSTALLED", "REKEYING", "REKEYED"})
_TOKEN = re.compile(r"\{|\}|[^\s{}=]+=\[[^\]]*\]|[^\s{}=]+=[^\s{}]*|[^\s{}]+")


@dataclass
class Sa:
    """One connection's SAs as charon lists them."""

    ike_states: list[str] = field(default_factory=list)
    child_states: list[str] = field(default_factory=list)

    @property
    def up(self) -> bool:
        return "ESTABLISHED" in self.ike_states and bool(CHILD_UP & set(self.child_states))


def _tree(tokens: Sequence[str], at: int) -> tuple[dict[str, Any], int]:
    """A ``{ ... }`` section from tokens[at] (after its "{"); (section, next)."""
    out: dict[str, Any] = {}
    pending: str | None = None
    while at < len(tokens):
        token = tokens[at]
        at += 1
        if token == "}":
            return out, at
        if token == "{":
            child, at = _tree(tokens, at)
            out[pending if pending is not None else f"_{len(out)}"] = child
            pending = None
        elif "=" in token:
            key, _, value = token.partition("=")
            out[key] = value
        else:
            pending = token
    return out, at


def parse_sas(raw: str) -> dict[str, Sa]:
    """connection name -> its SAs, from ``swanctl --list-sas --raw``."""
    out: dict[str, Sa] = {}
    for line in raw.splitlines():
        if not line.startswith("list-sa event"):
            continue
        tokens = _TOKEN.findall(line[len("list-sa event"):])
        if not tokens or tokens[0] != "{":
            continue
        message, _ = _tree(tokens, 1)
        for name, ike in message.items():
            if not isinstance(ike, dict):
                continue
            sa = out.setdefault(name, Sa())
            sa.ike_states.append(str(ike.get("state")))
            for child in (ike.get("child-sas") or {}).values():
                if isinstance(child, dict):
                    # A child of another connection under this IKE SA counts there.
                    out.setdefault(str(child.get("name") or name), Sa()).child_states \
                        .append(str(child.get("state")))
    return out


@dataclass(frozen=True)
class Charon:
    """What the agent knows of a router's charon: whether it runs with the current
    configuration, whether starting it failed, the SAs it lists, the connections in
    its configuration and those that could not be rendered (id -> why)."""

    running: bool
    failed: bool = False
    sas: Mapping[str, Sa] = field(default_factory=dict)
    loaded: frozenset[str] = frozenset()
    errors: Mapping[str, str] = field(default_factory=dict)


def connection_status(connection: Mapping[str, Any], service_up: bool,
                      charon: Charon) -> str:
    cid = str(connection["id"])
    if not service_up or not connection.get("admin_state_up", True):
        return DOWN
    if cid in charon.errors:
        return ERROR
    if not charon.running or cid not in charon.loaded:
        return DOWN
    sa = charon.sas.get(cid)
    return ACTIVE if sa is not None and sa.up else DOWN


def service_statuses(services: Iterable[Mapping[str, Any]], charon: Charon
                     ) -> list[VpnServiceStatus]:
    """Every service's status and its connections', as the agent sees them now."""
    out: list[VpnServiceStatus] = []
    for service in sorted(services, key=lambda s: str(s["id"])):
        admin_up = bool(service.get("admin_state_up", True))
        if not admin_up:
            status = DOWN
        elif charon.failed:
            status = ERROR
        else:
            status = ACTIVE if charon.running else DOWN
        up = status == ACTIVE
        connections: dict[str, ConnectionStatus] = {
            str(c["id"]): {"status": connection_status(c, up, charon),
                           "updated_pending_status": _pending(c)}
            for c in service.get("connections") or []}
        out.append({"id": str(service["id"]), "status": status,
                    "updated_pending_status": _pending(service),
                    "ipsec_site_connections": connections})
    return out


def _pending(resource: Mapping[str, Any]) -> bool:
    return str(resource.get("status") or "").startswith("PENDING_")


def differs(report: VpnServiceStatus, service: Mapping[str, Any]) -> bool:
    """Whether the server's statuses of `service` differ from `report`."""
    if report["status"] != service.get("status"):
        return True
    have = {str(c["id"]): c.get("status") for c in service.get("connections") or []}
    return any(have.get(cid) != c["status"]
               for cid, c in report["ipsec_site_connections"].items())


def changed(services: Iterable[Mapping[str, Any]], charon: Charon
            ) -> list[VpnServiceStatus]:
    """The reports of the services whose statuses on the server are not those seen
    here (a PENDING_* one always differs)."""
    by_id = {str(s["id"]): s for s in services}
    return [report for report in service_statuses(by_id.values(), charon)
            if differs(report, by_id[report["id"]])]
