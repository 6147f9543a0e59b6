"""Allowed address pairs of ports (allowedaddresspairs)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources.allowed_address_pairs import (
    ADDRESS_PAIRS,
    AddressPairAndPortSecurityRequired,
    AllowedAddressPairExhausted,
    DuplicateAddressPairInRequest,
)
from neutrino.resources.port import UNSET
from neutrino.resources.port_security import PORT_SECURITY
from neutrino.services.extensions import FilterBuilder

AAP = models.AllowedAddressPair


def _sorted(pairs: list[dict]) -> list[dict]:
    return sorted(pairs, key=lambda p: (p["ip_address"], p["mac_address"]))


class AllowedAddressPairs:

    attribute = "allowed_address_pairs"
    def __init__(self, max_pairs: int) -> None:
        self.max_pairs = max_pairs

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        requested = data.get(ADDRESS_PAIRS, UNSET)
        if requested is UNSET or requested is None:
            requested = []
        if requested and not item[PORT_SECURITY]:
            raise AddressPairAndPortSecurityRequired()
        item[ADDRESS_PAIRS] = self._store(session, item, requested)

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        enabled = item[PORT_SECURITY]
        if ADDRESS_PAIRS not in data:
            if not enabled and item[ADDRESS_PAIRS]:
                raise AddressPairAndPortSecurityRequired()
            return
        requested = data[ADDRESS_PAIRS]
        if requested and not enabled:
            raise AddressPairAndPortSecurityRequired()
        session.connection().execute(delete(AAP).where(AAP.port_id == item["id"]))
        item[ADDRESS_PAIRS] = self._store(session, item, requested)

    def _store(self, session: Session, item: dict, requested: list[dict]) -> list[dict]:
        if len(requested) > self.max_pairs:
            raise AllowedAddressPairExhausted(quota=self.max_pairs)
        pairs: list[dict] = []
        seen: set[tuple[str, str]] = set()
        for pair in requested:
            mac = pair.get("mac_address") or item["mac_address"]
            key = (mac, pair["ip_address"])
            if key in seen:  # e.g. one pair with the port's MAC, one without
                raise DuplicateAddressPairInRequest(mac_address=mac,
                                                    ip_address=pair["ip_address"])
            seen.add(key)
            pairs.append({"ip_address": pair["ip_address"], "mac_address": mac})
        if pairs:
            session.connection().execute(insert(AAP), [
                dict(p, port_id=item["id"]) for p in pairs])
        return _sorted(pairs)

    def extend(self, session: Session, items: list[dict]) -> None:
        stmt = select(AAP.port_id, AAP.ip_address, AAP.mac_address)
        by_port: dict[str, list[dict]] = defaultdict(list)
        for port_id, ip, mac in rows_for_ids(session, stmt, AAP.port_id,
                                             [i["id"] for i in items]):
            by_port[port_id].append({"ip_address": ip, "mac_address": mac})
        for item in items:
            item[ADDRESS_PAIRS] = _sorted(by_port.get(item["id"], []))

    def filters(self) -> dict[str, FilterBuilder]:
        return {}
