"""Availability zones of networks: the hints a create gives (each must be a zone
some DHCP agent reports, else 404 AvailabilityZoneNotFound) and the zones of the
DHCP agents that host the network (from the scheduler's bindings)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.contract import topics
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources import network_az as az
from neutrino.services.extensions import FilterBuilder

A, H = models.Agent, models.NetworkAZHints
B = models.NetworkDhcpAgentBinding


def check_zones_exist(session: Session, zones: list[str]) -> None:
    """Every zone must be one a DHCP agent reports (whatever its state, as
    upstream)."""
    if not zones:
        return
    known = set(session.scalars(select(A.availability_zone).where(
        A.agent_type == topics.AGENT_TYPE_DHCP, A.availability_zone.in_(zones))))
    for zone in zones:
        if zone not in known:
            raise az.AvailabilityZoneNotFound(availability_zone=zone)


def network_hints(session: Session, network_ids: list[str]) -> dict[str, list[str]]:
    return {network_id: az.hints_from_string(text) for network_id, text in rows_for_ids(
        session, select(H.network_id, H.hints), H.network_id, network_ids)}


def network_zones(session: Session, network_ids: list[str]) -> dict[str, list[str]]:
    """The zones of the DHCP agents hosting each network, sorted."""
    stmt = (select(B.network_id, A.availability_zone).join(A, A.id == B.dhcp_agent_id)
            .where(A.availability_zone.is_not(None)))
    zones: dict[str, set[str]] = defaultdict(set)
    for network_id, zone in rows_for_ids(session, stmt, B.network_id, network_ids):
        if zone:
            zones[network_id].add(zone)
    return {network_id: sorted(names) for network_id, names in zones.items()}


class NetworkAvailabilityZones:
    """The network extension: availability_zone_hints and availability_zones."""

    attribute = az.AZ_HINTS
    attributes = (az.AZ_HINTS, az.AZS)

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        hints = data.get(az.AZ_HINTS) or []
        check_zones_exist(session, hints)
        if hints:
            session.execute(insert(H).values(network_id=item["id"],
                                             hints=az.hints_to_string(hints)))
        item[az.AZ_HINTS] = list(hints)
        item[az.AZS] = network_zones(session, [item["id"]]).get(item["id"], [])

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        """Hints cannot change (allow_put is false); the zones are read again."""

    def extend(self, session: Session, items: list[dict]) -> None:
        ids = [i["id"] for i in items]
        hints, zones = network_hints(session, ids), network_zones(session, ids)
        for item in items:
            item[az.AZ_HINTS] = hints.get(item["id"], [])
            item[az.AZS] = zones.get(item["id"], [])

    def filters(self) -> dict[str, FilterBuilder]:
        return {}
