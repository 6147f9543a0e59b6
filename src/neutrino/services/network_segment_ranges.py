"""Network segment ranges: where project networks' segmentation ids come from.

At start the configured ranges ([ml2_type_*]) become `default` ranges (shared,
read-only; ids derived from their values, so every worker agrees and a changed
configuration replaces them). An administrator adds ranges, shared or for one
project. The type drivers read the ranges in the request's transaction
(`ranges_of`): a project's network gets an id from the project's ranges first, then
from the shared ones outside other projects' ranges; the allocation tables follow the
ranges (`sync_allocations` after every change, in the same transaction).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.ml2 import config as mc
from neutrino.ml2 import types as t
from neutrino.ml2.manager import RANGE_TYPES, TypeManager
from neutrino.resources import network_segment_range as nr
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps

R, NS = models.NetworkSegmentRange, models.NetworkSegment
COLUMNS = {
    "id": R.id, "name": R.name, "description": R.description, "project_id": R.project_id,
    "tenant_id": R.project_id, "network_type": R.network_type,
    "physical_network": R.physical_network, "created_at": R.created_at,
    "updated_at": R.updated_at, "revision_number": R.revision_number,
}
# Stable ids of the default ranges (uuid5 of type, physical network and bounds).
DEFAULT_NAMESPACE = uuid.UUID("6c1f5a8e-8f0a-4c53-9a37-2d1b6f0e9b41")


def ranges_of(session: Session, network_type: str) -> list[t.SegmentRange]:
    """Every range of a network type, as the type drivers use them."""
    rows = session.execute(select(R.physical_network, R.minimum, R.maximum, R.shared,
                                  R.project_id).where(R.network_type == network_type)
                           .order_by(R.minimum, R.id)).all()
    return [t.SegmentRange(physnet, low, high, None if shared else project)
            for physnet, low, high, shared, project in rows]


def default_range_id(network_type: str, seg_range: t.SegmentRange) -> str:
    key = (f"{network_type}:{seg_range.physical_network or ''}:"
           f"{seg_range.minimum}:{seg_range.maximum}")
    return str(uuid.uuid5(DEFAULT_NAMESPACE, key))


def sync_default_ranges(db: Database, types: TypeManager) -> None:
    """Make the default ranges those of the configuration (idempotent; parallel
    workers insert the same ids, the loser's transaction is retried)."""
    wanted: dict[str, tuple[str, t.SegmentRange]] = {}
    for name, driver in types.drivers.items():
        if name in RANGE_TYPES:
            for seg_range in driver.configured_ranges():
                wanted[default_range_id(name, seg_range)] = (name, seg_range)

    def run(session: Session) -> None:
        have = set(session.scalars(select(R.id).where(R.default.is_(True))))
        stale = have - wanted.keys()
        if stale:
            session.execute(delete(R).where(R.id.in_(stale)))
        now = models.utcnow()
        rows = [{"id": range_id, "project_id": None, "name": "", "description": "",
                 "created_at": now, "updated_at": now, "revision_number": 0,
                 "default": True, "shared": True, "network_type": name,
                 "physical_network": r.physical_network, "minimum": r.minimum,
                 "maximum": r.maximum}
                for range_id, (name, r) in sorted(wanted.items()) if range_id not in have]
        if rows:
            session.execute(insert(R), rows)
    db.run(run)


def check_bounds(network_type: str, low: int, high: int) -> None:
    """Upstream's checks of a range of a type (400 with its messages)."""
    if network_type == "vlan":
        for value in (low, high):
            if not mc.VLAN_MIN <= value <= mc.VLAN_MAX:
                raise nr.NetworkVlanRangeError(vlan_range=f"{low}:{high}",
                                               error=f"{value} is not a valid VLAN tag")
        if high < low:
            raise nr.NetworkVlanRangeError(
                vlan_range=f"{low}:{high}",
                error="End of VLAN range is less than start of VLAN range")
        return
    first, last = mc.TUNNEL_LIMITS[network_type]
    for value in (low, high):
        if not first <= value <= last:
            raise nr.NetworkTunnelRangeError(
                tunnel_range=f"{low}:{high}",
                error=f"{value} is not a valid {network_type} identifier")
    if high < low:
        raise nr.NetworkTunnelRangeError(
            tunnel_range=f"{low}:{high}",
            error="End of tunnel range is less than start of tunnel range")


def _physnet_clause(column: Any, physnet: str | None) -> Any:
    return column.is_(None) if physnet is None else column == physnet


class NetworkSegmentRangeService:
    resource = nr.NETWORK_SEGMENT_RANGE
    model = R

    def __init__(self, deps: Deps, types: TypeManager) -> None:
        self.deps = deps
        self.types = types

    # -- reads ---------------------------------------------------------------

    def get(self, ctx: Context, range_id: str) -> dict:
        def run(session: Session) -> dict:
            return self.to_dicts(session, [self._row(session, range_id)])[0]
        return self.deps.db.run(run, write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(R).where(*filter_clauses(R, query, COLUMNS))
            rows = fetch_page(session, stmt, query, COLUMNS, R,
                              lambda i: nr.NetworkSegmentRangeNotFound(range_id=i))
            return self.to_dicts(session, rows, fields)
        return self.deps.db.run(run, write=False)

    @staticmethod
    def _row(session: Session, range_id: str, lock: bool = False) -> R:
        row = session.get(R, range_id, with_for_update=lock)
        if row is None:
            raise nr.NetworkSegmentRangeNotFound(range_id=range_id)
        return row

    def to_dicts(self, session: Session, rows: list[R], fields: set[str] | None = None
                 ) -> list[dict]:
        tags = common.load_tags(session, [r.id for r in rows])
        want = fields or {"available", "used"}
        out = []
        for row in rows:
            item = common.standard_dict(row, tags.get(row.id, []))
            item.update(
                # Default ranges have no name (upstream shows null).
                name=None if row.default else row.name,
                default=row.default, shared=row.shared, network_type=row.network_type,
                physical_network=row.physical_network, minimum=row.minimum,
                maximum=row.maximum,
                available=self._available(session, row) if "available" in want else [],
                used=self._used(session, row) if "used" in want else {})
            out.append(item)
        return out

    def _available(self, session: Session, row: R) -> list[int]:
        """Free ids of the range, from the type's allocation table."""
        driver = self.types.drivers.get(row.network_type)
        if driver is None:
            return []
        if row.network_type == "vlan":
            model: Any = models.VlanAllocation
            key, scope = model.vlan_id, [model.physical_network == row.physical_network]
        elif isinstance(driver, t.TunnelTypeDriver):  # its own table and id column
            model, key, scope = driver.model, driver.key, []
        else:
            return []
        return list(session.scalars(select(key).where(
            key.between(row.minimum, row.maximum), model.allocated.is_(False), *scope)
            .order_by(key)))

    @staticmethod
    def _used(session: Session, row: R) -> dict[str, str | None]:
        """{segmentation id: project of the network using it} within the range."""
        rows = session.execute(
            select(NS.segmentation_id, models.Network.project_id)
            .join(models.Network, models.Network.id == NS.network_id)
            .where(NS.network_type == row.network_type,
                   _physnet_clause(NS.physical_network, row.physical_network),
                   NS.segmentation_id.between(row.minimum, row.maximum))
            .order_by(NS.segmentation_id)).all()
        return {str(value): project for value, project in rows}

    # -- checks ----------------------------------------------------------------

    def _check_type(self, network_type: str) -> None:
        if network_type not in self.types.drivers or network_type not in RANGE_TYPES:
            raise nr.NetworkSegmentRangeNetTypeNotSupported(type=network_type)

    @staticmethod
    def _check_overlap(session: Session, network_type: str, physnet: str | None,
                       low: int, high: int, exclude: str | None = None) -> None:
        """Ranges an administrator made may not overlap (default ranges may)."""
        stmt = (select(R.id).where(R.default.is_(False), R.network_type == network_type,
                                   _physnet_clause(R.physical_network, physnet),
                                   R.minimum <= high, R.maximum >= low)
                .order_by(R.created_at, R.id))
        overlapping = [i for i in session.scalars(stmt) if i != exclude]
        if overlapping:
            raise nr.NetworkSegmentRangeOverlaps(range_id=", ".join(overlapping))

    @staticmethod
    def _allocated_bounds(session: Session, row: R) -> tuple[int | None, int | None]:
        """Lowest and highest id in use within the range."""
        low, high = session.execute(
            select(func.min(NS.segmentation_id), func.max(NS.segmentation_id))
            .where(NS.network_type == row.network_type,
                   _physnet_clause(NS.physical_network, row.physical_network),
                   NS.segmentation_id.between(row.minimum, row.maximum))).one()
        return low, high

    def _resync(self, session: Session, network_type: str) -> None:
        driver = self.types.drivers.get(network_type)
        if driver is not None:  # a range of a type no longer loaded has no table to sync
            driver.sync_allocations(session)

    # -- writes --------------------------------------------------------------

    def _prepare(self, data: dict) -> dict:
        network_type = data["network_type"]
        self._check_type(network_type)
        physnet = None
        if network_type == "vlan":
            physnet = data.get("physical_network")
            if physnet is None:
                raise exc.BadRequest(
                    resource="network_segment_range",
                    msg="Network type vlan requires 'physical_network' to be specified "
                        "while creating new range")
        check_bounds(network_type, data["minimum"], data["maximum"])
        return dict(data, physical_network=physnet)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        def run(session: Session) -> list[dict]:
            rows = [self._create(session, data, authorize) for data in items]
            for network_type in sorted({row.network_type for row in rows}):
                self._resync(session, network_type)
            session.flush()
            return self.to_dicts(session, rows)
        created = self.deps.db.run(run)
        for item in created:
            self.deps.events.publish("network_segment_range", events.AFTER_CREATE,
                                     events.Payload(ctx, item["id"], states=(item,)))
        return created

    def _create(self, session: Session, data: dict, authorize: Authorize) -> R:
        # Policy before the checks (as upstream, where the plugin checks).
        authorize(data, dict(data, tenant_id=data["project_id"]))
        data = self._prepare(data)
        self._check_overlap(session, data["network_type"], data["physical_network"],
                            data["minimum"], data["maximum"])
        row = R(id=common.new_id(), name=data["name"], description=data["description"],
                default=False, shared=data["shared"],
                project_id=None if data["shared"] else data["project_id"],
                network_type=data["network_type"],
                physical_network=data["physical_network"], minimum=data["minimum"],
                maximum=data["maximum"], revision_number=0)
        session.add(row)
        session.flush()
        if data.get("tags"):
            common.set_tags(session, "network_segment_ranges", row.id, data["tags"])
        return row

    def update(self, ctx: Context, range_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self._row(session, range_id, lock=True)
            common.check_revision(row, revision)
            if row.default:
                raise nr.NetworkSegmentRangeDefaultReadOnly(range_id=range_id)
            low = data.get("minimum", row.minimum)
            high = data.get("maximum", row.maximum)
            used_low, used_high = self._allocated_bounds(session, row)
            if used_low is not None and (low > used_low or high < used_high):
                raise nr.NetworkSegmentRangeReferencedByProject(range_id=range_id)
            check_bounds(row.network_type, low, high)
            self._check_overlap(session, row.network_type, row.physical_network, low,
                                high, exclude=row.id)
            common.apply_standard(row, data)
            row.minimum, row.maximum = low, high
            common.bump_revision(row)
            session.flush()
            self._resync(session, row.network_type)
            return self.to_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.deps.events.publish("network_segment_range", events.AFTER_UPDATE,
                                 events.Payload(ctx, range_id, states=(None, new)))
        return new

    def delete(self, ctx: Context, range_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = self._row(session, range_id, lock=True)
            common.check_revision(row, revision)
            if row.default:
                raise nr.NetworkSegmentRangeDefaultReadOnly(range_id=range_id)
            if self._allocated_bounds(session, row)[0] is not None:
                raise nr.NetworkSegmentRangeReferencedByProject(range_id=range_id)
            network_type = row.network_type
            common.delete_tags(session, range_id)
            session.delete(row)
            session.flush()
            self._resync(session, network_type)
        self.deps.db.run(run)
        self.deps.events.publish("network_segment_range", events.AFTER_DELETE,
                                 events.Payload(ctx, range_id))
