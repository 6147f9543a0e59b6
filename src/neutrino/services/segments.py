"""Segments (`/v2.0/segments`): add, rename and remove segments of a network, and the
subnets' association with them.

A segment is claimed exactly as a provider network's: the type driver validates it
and reserves its segmentation id (or allocates one). Deleting a segment releases the
id; a segment subnets are on cannot be deleted (409). A subnet's `segment_id` must
be a segment of its network, and either every subnet of a network has one or none
has (checked when the subnet is created, with the network locked).

Segments created with networks have an empty name and description, which upstream
(where those columns are nullable) shows as null: so do we.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.ml2 import types as t
from neutrino.ml2.manager import TypeManager
from neutrino.resources import segment as sr
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

NS, S = models.NetworkSegment, models.Subnet
COLUMNS = {
    "id": NS.id, "network_id": NS.network_id, "network_type": NS.network_type,
    "physical_network": NS.physical_network, "segmentation_id": NS.segmentation_id,
    "name": NS.name, "description": NS.description, "created_at": NS.created_at,
    "updated_at": NS.updated_at, "revision_number": NS.revision_number,
}


def segment_dict(row: NS) -> dict:
    return {"id": row.id, "network_id": row.network_id,
            "network_type": row.network_type, "physical_network": row.physical_network,
            "segmentation_id": row.segmentation_id,
            "name": row.name or None, "description": row.description or None,
            "created_at": common.fmt_time(row.created_at),
            "updated_at": common.fmt_time(row.updated_at),
            "revision_number": row.revision_number}


class SegmentService:
    resource = sr.SEGMENT
    model = NS

    def __init__(self, deps: Deps, types: TypeManager) -> None:
        self.deps = deps
        self.types = types

    # -- reads ---------------------------------------------------------------

    def get(self, ctx: Context, segment_id: str) -> dict:
        def run(session: Session) -> dict:
            row = session.get(NS, segment_id)
            if row is None:
                raise sr.SegmentNotFound(segment_id=segment_id)
            return segment_dict(row)
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(NS).where(*filter_clauses(NS, query, COLUMNS))
            rows = fetch_page(session, stmt, query, COLUMNS, NS,
                              lambda i: sr.SegmentNotFound(segment_id=i))
            return [segment_dict(row) for row in rows]
        return self.deps.db.run(run, write=False)

    # -- writes --------------------------------------------------------------

    def _validate(self, data: dict) -> dict:
        """The segment as a type driver sees it, checked (pure)."""
        seg = t.segment(data["network_type"], data.get("physical_network"),
                        data.get("segmentation_id"))
        self.types.driver(seg[t.NETWORK_TYPE]).validate_provider_segment(seg)
        return seg

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        def run(session: Session) -> list[dict]:
            return [self._create(session, ctx, data, authorize) for data in items]
        created = self.deps.db.run(run)
        for item in created:
            self.deps.events.publish("segment", events.AFTER_CREATE,
                                     events.Payload(ctx, item["id"], states=(item,)))
        return created

    def _create(self, session: Session, ctx: Context, data: dict,
                authorize: Authorize) -> dict:
        # Policy first (as upstream, where the plugin validates after the policy):
        # whoever may not create segments learns nothing of networks.
        authorize(data, dict(data))
        seg = self._validate(data)
        # Locked: a network being deleted (or given another segment) waits for us.
        network = session.get(models.Network, data["network_id"], with_for_update=True)
        if network is None:
            raise exc.NetworkNotFound(net_id=data["network_id"])
        driver = self.types.drivers[seg[t.NETWORK_TYPE]]
        reserved = driver.reserve_provider_segment(session, seg)
        last = session.scalar(select(func.max(NS.segment_index))
                              .where(NS.network_id == network.id))
        row = NS(id=common.new_id(), project_id=None, network_id=network.id,
                 network_type=reserved[t.NETWORK_TYPE],
                 physical_network=reserved[t.PHYSICAL_NETWORK],
                 segmentation_id=reserved[t.SEGMENTATION_ID], is_dynamic=False,
                 segment_index=0 if last is None else last + 1,
                 name=data.get("name") or "", description=data.get("description") or "",
                 revision_number=0)
        session.add(row)
        common.bump_revision(network)
        session.flush()
        self.deps.events.publish("segment", events.PRECOMMIT_CREATE,
                                 events.Payload(ctx, row.id, states=(data,), session=session))
        return segment_dict(row)

    def update(self, ctx: Context, segment_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = session.get(NS, segment_id, with_for_update=True)
            if row is None:
                raise sr.SegmentNotFound(segment_id=segment_id)
            common.check_revision(row, revision)
            old = segment_dict(row)
            for key in ("name", "description"):
                if key in data:
                    setattr(row, key, data[key] or "")
            common.bump_revision(row)
            session.flush()
            new = segment_dict(row)
            self.deps.events.publish("segment", events.PRECOMMIT_UPDATE,
                                     events.Payload(ctx, segment_id, (old, new), session))
            return new
        new = self.deps.db.run(run)
        self.deps.events.publish("segment", events.AFTER_UPDATE,
                                 events.Payload(ctx, segment_id, states=(None, new)))
        return new

    def delete(self, ctx: Context, segment_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = session.get(NS, segment_id, with_for_update=True)
            if row is None:
                raise sr.SegmentNotFound(segment_id=segment_id)
            common.check_revision(row, revision)
            subnets = list(session.scalars(select(S.id).where(S.segment_id == segment_id)
                                           .order_by(S.created_at, S.id)))
            if subnets:
                raise sr.SegmentInUse(
                    segment_id=segment_id,
                    reason="The segment is still associated with subnet(s) "
                           + ", ".join(subnets))
            self.deps.events.publish("segment", events.PRECOMMIT_DELETE,
                                     events.Payload(ctx, segment_id, session=session))
            driver = self.types.drivers.get(row.network_type)
            if driver is not None:
                driver.release_segment(session, t.segment(
                    row.network_type, row.physical_network, row.segmentation_id))
            network = session.get(models.Network, row.network_id)
            if network is not None:
                common.bump_revision(network)
            session.delete(row)
        self.deps.db.run(run)
        self.deps.events.publish("segment", events.AFTER_DELETE,
                                 events.Payload(ctx, segment_id))

    # -- subnets ---------------------------------------------------------------

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._check_new_subnet, "subnet", events.PRECOMMIT_CREATE)

    @staticmethod
    def _check_new_subnet(resource: str, event: str, payload: events.Payload) -> None:
        """Upstream's rules for a subnet's segment_id (the subnet row is written; the
        network row is locked by the subnet create)."""
        session: Session = payload.session
        subnet = session.get(S, payload.resource_id)
        if subnet is None:
            return
        check_subnet_segment(session, subnet.network_id, subnet.segment_id)


def check_subnet_segment(session: Session, network_id: str, segment_id: str | None) -> None:
    associated = set(session.scalars(select(S.segment_id).distinct()
                                     .where(S.network_id == network_id)))
    if None in associated and len(associated) > 1:
        raise sr.SubnetsNotAllAssociatedWithSegments(network_id=network_id)
    if segment_id is None:
        return
    # Locked: the segment cannot be deleted until this subnet is committed.
    segment: Any = session.get(NS, segment_id, with_for_update=True)
    if segment is None:
        raise sr.SegmentNotFound(segment_id=segment_id)
    if segment.network_id != network_id:
        raise sr.NetworkIdsDontMatch(subnet_network=network_id, segment_id=segment_id)
    if segment.is_dynamic:
        raise sr.SubnetCantAssociateToDynamicSegment()
