"""TypeManager: the configured type drivers, network segments, provider attributes
and the MTU networks get from their segments."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from oslo_config import cfg
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.db.listing import FilterBuilder, rows_for_ids
from neutrino.ml2 import types as t
from neutrino.resources import provider as p

NS = models.NetworkSegment
# Network types whose ids network_segment_ranges manage (upstream's order).
RANGE_TYPES = ("vlan", "vxlan", "gre", "geneve")


class SegmentsSetInConjunctionWithProviders(exc.InvalidInput):
    def __init__(self) -> None:
        exc.NeutronError.__init__(
            self, "Segments and provider values cannot both be set.")


class SegmentsContainDuplicateEntry(exc.InvalidInput):
    def __init__(self) -> None:
        exc.NeutronError.__init__(self, "Duplicate segment entry in request.")


def _from_api(entry: dict) -> dict:
    return t.segment(entry.get(p.NETWORK_TYPE), entry.get(p.PHYSICAL_NETWORK),
                     entry.get(p.SEGMENTATION_ID))


def _to_api(seg: dict) -> dict:
    return {p.NETWORK_TYPE: seg[t.NETWORK_TYPE], p.PHYSICAL_NETWORK: seg[t.PHYSICAL_NETWORK],
            p.SEGMENTATION_ID: seg[t.SEGMENTATION_ID]}


class TypeManager:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.drivers: dict[str, t.TypeDriver] = {}
        for name in conf.ml2.type_drivers:
            name = name.strip()
            if name not in t.DRIVERS:
                raise ValueError(f"[ml2] type_drivers: unknown network type '{name}'")
            self.drivers[name] = t.DRIVERS[name](conf)
        self.tenant_types = [n.strip() for n in conf.ml2.tenant_network_types if n.strip()]
        for name in self.tenant_types:
            if name not in self.drivers:
                raise ValueError(f"[ml2] tenant_network_types: '{name}' is not in "
                                 "type_drivers")

    # -- start-up ------------------------------------------------------------

    def use_ranges(self, source: t.RangeSource) -> None:
        """Segmentation ids come from network_segment_ranges from now on (types with
        ids: vlan, vxlan, gre, geneve)."""
        for driver in self.drivers.values():
            if driver.network_type in RANGE_TYPES:
                driver.range_source = source

    def sync_allocations(self, db: Database) -> None:
        """Reconcile the allocation tables with the ranges (idempotent)."""
        for driver in self.drivers.values():
            db.run(driver.sync_allocations)

    # -- segments ------------------------------------------------------------

    def driver(self, network_type: str | None) -> t.TypeDriver:
        if not network_type:
            raise exc.InvalidInput("network_type required")
        driver = self.drivers.get(network_type)
        if driver is None:
            raise exc.InvalidInput(f"network_type value '{network_type}' not supported")
        return driver

    def requested_segments(self, data: dict) -> list[dict]:
        """The provider segments a create asks for ([] for a project network)."""
        provider_set = any(data.get(a) is not None for a in p.PROVIDER_ATTRS)
        segments = data.get(p.SEGMENTS)
        if segments is not None:
            if provider_set:
                raise SegmentsSetInConjunctionWithProviders()
            requested = [_from_api(s) for s in segments]
            keys = [tuple(sorted(s.items(), key=lambda kv: kv[0])) for s in requested]
            if len(set(keys)) != len(keys):
                raise SegmentsContainDuplicateEntry()
        elif provider_set:
            requested = [_from_api(data)]
        else:
            return []
        for seg in requested:
            self.driver(seg[t.NETWORK_TYPE]).validate_provider_segment(seg)
        return requested

    def create_network_segments(self, session: Session, ctx: Context, data: dict,
                                network_id: str) -> list[dict]:
        requested = self.requested_segments(data)
        if requested:
            segments = [self._reserve(session, s, data.get("project_id"))
                        for s in requested]
        else:
            segments = [self.allocate_tenant_segment(session, data.get("project_id"))]
        rows = [{"id": str(uuid.uuid4()), "project_id": None, "network_id": network_id,
                 "network_type": s[t.NETWORK_TYPE],
                 "physical_network": s[t.PHYSICAL_NETWORK],
                 "segmentation_id": s[t.SEGMENTATION_ID], "is_dynamic": False,
                 "segment_index": index, "name": "", "description": "",
                 "revision_number": 0}
                for index, s in enumerate(segments)]
        session.execute(insert(NS), rows)
        return segments

    def _reserve(self, session: Session, seg: dict, project_id: str | None) -> dict:
        """A provider segment. One naming only a tunnel type takes its id as a project
        network's would: the project's own ranges first, then the shared ones (as
        upstream's partially specified segments, which neutron-tempest-plugin's
        network segment range tests check); an admin's id outside them still
        works."""
        driver = self.drivers[seg[t.NETWORK_TYPE]]
        if (isinstance(driver, t.TunnelTypeDriver) and project_id
                and seg.get(t.SEGMENTATION_ID) is None):
            found = driver.allocate_tenant_segment(session, project_id)
            if found is not None:
                return found
        return driver.reserve_provider_segment(session, seg)

    def allocate_tenant_segment(self, session: Session, project_id: str | None = None
                                ) -> dict:
        """A project network's segment: from the project's own ranges first, then
        the shared ones (with network_segment_ranges)."""
        for name in self.tenant_types:
            seg = self.drivers[name].allocate_tenant_segment(session, project_id)
            if seg is not None:
                return seg
        raise t.NoNetworkAvailable()

    def release_network_segments(self, session: Session, network_id: str) -> None:
        for seg in self.network_segments(session, [network_id]).get(network_id, []):
            driver = self.drivers.get(seg[t.NETWORK_TYPE])
            if driver is not None:
                driver.release_segment(session, seg)
        session.execute(delete(NS).where(NS.network_id == network_id))

    def network_segments(self, session: Session, network_ids: list[str]
                         ) -> dict[str, list[dict]]:
        stmt = (select(NS.network_id, NS.network_type, NS.physical_network,
                       NS.segmentation_id)
                .order_by(NS.network_id, NS.segment_index))
        out: dict[str, list[dict]] = defaultdict(list)
        for net_id, *values in rows_for_ids(session, stmt, NS.network_id, network_ids):
            out[net_id].append(t.segment(*values))
        return out

    def segments_mtu(self, segments: list[dict]) -> int:
        """The largest MTU all the segments carry."""
        mtus = [self.drivers[s[t.NETWORK_TYPE]].get_mtu(s[t.PHYSICAL_NETWORK])
                for s in segments if s[t.NETWORK_TYPE] in self.drivers]
        mtus = [m for m in mtus if m > 0]
        return min(mtus) if mtus else self.conf.global_physnet_mtu

    def max_mtu(self, session: Session, network_id: str) -> int:
        return self.segments_mtu(self.network_segments(session, [network_id])
                                 .get(network_id, []))

    def subscribe(self, registry: events.Registry) -> None:
        def release(resource: str, event: str, payload: events.Payload) -> None:
            self.release_network_segments(payload.session, payload.resource_id)
        registry.subscribe(release, "network", events.PRECOMMIT_DELETE)


class ProviderNetworks:
    """The network extension: segments on create, provider:* / segments on reads."""

    attribute = p.NETWORK_TYPE
    attributes = (*p.PROVIDER_ATTRS, p.SEGMENTS)

    def __init__(self, types: TypeManager) -> None:
        self.types = types

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        segments = self.types.create_network_segments(session, ctx, data, item["id"])
        self._set(item, segments)

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        changed = [a for a in p.PROVIDER_ATTRS if a in data and data[a] != old.get(a)]
        if changed or (p.SEGMENTS in data and data[p.SEGMENTS] != old.get(p.SEGMENTS)):
            raise exc.InvalidInput("Plugin does not support updating provider attributes")

    def extend(self, session: Session, items: list[dict]) -> None:
        by_network = self.types.network_segments(session, [i["id"] for i in items])
        for item in items:
            self._set(item, by_network.get(item["id"], []))

    @staticmethod
    def _set(item: dict, segments: list[dict]) -> None:
        if len(segments) == 1:
            item.update(_to_api(segments[0]))
        else:
            item.update({a: None for a in p.PROVIDER_ATTRS})
            if segments:
                item[p.SEGMENTS] = [_to_api(s) for s in segments]

    def filters(self) -> dict[str, FilterBuilder]:
        def build(column: Any, convert: Any) -> FilterBuilder:
            def clause(values: list[str]) -> Any:
                wanted = [convert(v) for v in values]
                return models.Network.id.in_(select(NS.network_id).where(
                    column.in_(wanted)))
            return clause

        def to_int(value: str) -> int:
            try:
                return int(value)
            except ValueError:
                raise exc.InvalidInput(f"'{value}' is not an integer") from None
        return {p.NETWORK_TYPE: build(NS.network_type, str),
                p.PHYSICAL_NETWORK: build(NS.physical_network, str),
                p.SEGMENTATION_ID: build(NS.segmentation_id, to_int)}
