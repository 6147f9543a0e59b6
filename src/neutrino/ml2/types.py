"""Type drivers: one small class per network type (local, flat, vlan, vxlan, gre,
geneve). A segment is a dict with `network_type`, `physical_network` and
`segmentation_id`.

Segmentation ids are claimed race-free: pick a free row and flip it with
``UPDATE ... SET allocated = true WHERE <id> AND allocated = false``; a rowcount of
0 means another transaction took it first, so another id is tried.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg
from sqlalchemy import and_, delete, insert, not_, or_, select, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.db import models
from neutrino.ml2 import config as mc

NETWORK_TYPE = "network_type"
PHYSICAL_NETWORK = "physical_network"
SEGMENTATION_ID = "segmentation_id"
# Encapsulation overhead over an IPv4 underlay (outer IP header included).
IP_HEADER = 20
VXLAN_OVERHEAD = 50   # 20 IP + 8 UDP + 8 VXLAN + 14 inner Ethernet
GRE_OVERHEAD = 42     # 20 IP + 8 GRE + 14 inner Ethernet
CANDIDATES = 10       # free ids read per try; one is picked at random
BULK = 500


class FlatNetworkInUse(exc.InUse):
    message = ("Unable to create the flat network. Physical network "
               "%(physical_network)s is in use.")


class VlanIdInUse(exc.InUse):
    message = ("Unable to create the network. The VLAN %(vlan_id)s on physical "
               "network %(physical_network)s is in use.")


class TunnelIdInUse(exc.InUse):
    message = "Unable to create the network. The tunnel ID %(tunnel_id)s is in use."


class NoNetworkAvailable(exc.ServiceUnavailable):
    message = ("Unable to create the network. No tenant network is available for "
               "allocation.")


@dataclass(frozen=True)
class SegmentRange:
    """Segmentation ids a type driver hands out: a configured range, or a row of
    network_segment_ranges (`project_id` None: shared by every project)."""

    physical_network: str | None
    minimum: int
    maximum: int
    project_id: str | None = None


# All the ranges of a network type, read in the request's transaction.
RangeSource = Callable[[Session, str], list[SegmentRange]]
# Where a project network's id is looked for: (physical network, ranges to take from,
# ranges to leave alone).
Scope = tuple[str | None, list[tuple[int, int]], list[tuple[int, int]]]


def tenant_scopes(ranges: list[SegmentRange], project_id: str | None) -> list[Scope]:
    """Where to allocate for a project, in order: its own ranges, then the shared ones
    without the ranges of other projects (per physical network, sorted)."""
    physnets = sorted({r.physical_network or "" for r in ranges})
    own: list[Scope] = []
    shared: list[Scope] = []
    for physnet in physnets:
        here = [r for r in ranges if (r.physical_network or "") == physnet]
        name = physnet or None
        mine = [(r.minimum, r.maximum) for r in here
                if project_id is not None and r.project_id == project_id]
        others = [(r.minimum, r.maximum) for r in here
                  if r.project_id is not None and r.project_id != project_id]
        common = [(r.minimum, r.maximum) for r in here if r.project_id is None]
        if mine:
            own.append((name, mine, []))
        if common:
            shared.append((name, common, others))
    return own + shared


def within(column: Any, include: list[tuple[int, int]],
           exclude: list[tuple[int, int]]) -> Any:
    """SQL: the column in one of `include` and in none of `exclude`."""
    clause = or_(*[column.between(low, high) for low, high in include])
    if exclude:
        clause = and_(clause, not_(or_(*[column.between(low, high)
                                         for low, high in exclude])))
    return clause


def segment(network_type: str, physical_network: str | None = None,
            segmentation_id: int | None = None) -> dict:
    return {NETWORK_TYPE: network_type, PHYSICAL_NETWORK: physical_network,
            SEGMENTATION_ID: segmentation_id}


def _prohibited(seg: dict, keys: tuple[str, ...], what: str) -> None:
    for key in keys:
        if seg.get(key) is not None:
            raise exc.InvalidInput(f"{key} prohibited for {what} provider network")


def _underlay_mtu(conf: cfg.ConfigOpts) -> int:
    values = [m for m in (conf.global_physnet_mtu, conf.ml2.path_mtu) if m > 0]
    return min(values) if values else 0


class TypeDriver:
    """The interface; every method that touches the database gets the request's
    session."""

    network_type = ""
    # Set when ids come from network_segment_ranges rather than the configuration.
    range_source: RangeSource | None = None

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def configured_ranges(self) -> list[SegmentRange]:
        """The ranges of the configuration (types without ids have none)."""
        return []

    def effective_ranges(self, session: Session) -> list[SegmentRange]:
        if self.range_source is None:
            return self.configured_ranges()
        return self.range_source(session, self.network_type)

    def validate_provider_segment(self, seg: dict) -> None:
        raise NotImplementedError

    def reserve_provider_segment(self, session: Session, seg: dict) -> dict:
        """Claim what a provider segment names (or allocate what it leaves out)."""
        raise NotImplementedError

    def allocate_tenant_segment(self, session: Session, project_id: str | None = None
                                ) -> dict | None:
        return None

    def release_segment(self, session: Session, seg: dict) -> None:
        pass

    def sync_allocations(self, session: Session) -> None:
        pass

    def get_mtu(self, physical_network: str | None = None) -> int:
        """Largest MTU of a network of this type; 0: no limit of its own."""
        return self.conf.global_physnet_mtu


class LocalTypeDriver(TypeDriver):
    network_type = "local"

    def validate_provider_segment(self, seg: dict) -> None:
        _prohibited(seg, (PHYSICAL_NETWORK, SEGMENTATION_ID), "local")

    def reserve_provider_segment(self, session: Session, seg: dict) -> dict:
        return segment("local")

    def allocate_tenant_segment(self, session: Session, project_id: str | None = None
                                ) -> dict | None:
        return segment("local")


class FlatTypeDriver(TypeDriver):
    network_type = "flat"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        names = [n.strip() for n in conf.ml2_type_flat.flat_networks if n.strip()]
        self.any = "*" in names
        self.physnets = set(names) - {"*"}

    def validate_provider_segment(self, seg: dict) -> None:
        physnet = seg.get(PHYSICAL_NETWORK)
        if not physnet:
            raise exc.InvalidInput("physical_network required for flat provider network")
        if not self.any and physnet not in self.physnets:
            if not self.physnets:
                raise exc.InvalidInput("Flat provider networks are disabled")
            raise exc.InvalidInput(
                f"physical_network '{physnet}' unknown for flat provider network")
        _prohibited(seg, (SEGMENTATION_ID,), "flat")

    def reserve_provider_segment(self, session: Session, seg: dict) -> dict:
        physnet = seg[PHYSICAL_NETWORK]
        FA = models.FlatAllocation
        if session.get(FA, physnet) is not None:
            raise FlatNetworkInUse(physical_network=physnet)
        # A concurrent insert of the same physnet fails on the primary key; the
        # request is retried and then sees the row.
        session.execute(insert(FA).values(physical_network=physnet))
        return segment("flat", physnet)

    def release_segment(self, session: Session, seg: dict) -> None:
        FA = models.FlatAllocation
        session.execute(delete(FA).where(FA.physical_network == seg[PHYSICAL_NETWORK]))


class _Allocator:
    """Claims free rows of an allocation table (`key`: the id column; `scope`:
    extra equality conditions, e.g. the physical network of a VLAN)."""

    def __init__(self, model: Any, key: Any) -> None:
        self.model = model
        self.key = key

    def claim_free(self, session: Session, scope: list[Any]) -> int | None:
        tried: set[int] = set()
        for _ in range(20):
            stmt = (select(self.key).where(self.model.allocated.is_(False), *scope)
                    .order_by(self.key).limit(CANDIDATES + len(tried)))
            free = [i for i in session.scalars(stmt) if i not in tried]
            if not free:
                return None
            random.shuffle(free)
            for value in free[:3]:
                if self.claim(session, value, scope):
                    return value
                tried.add(value)
        return None

    def claim(self, session: Session, value: int, scope: list[Any]) -> bool:
        result = session.execute(
            update(self.model).where(self.key == value, self.model.allocated.is_(False),
                                     *scope)
            .values(allocated=True).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def exists(self, session: Session, value: int, scope: list[Any]) -> bool:
        stmt = select(self.key).where(self.key == value, *scope)
        return session.scalars(stmt).first() is not None


class TunnelTypeDriver(TypeDriver):
    model: Any = None
    overhead = 0

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.ranges = mc.parse_tunnel_ranges(self._range_option(), self.network_type)
        self.key = getattr(self.model, self.model.__table__.primary_key.columns[0].name)
        self.allocator = _Allocator(self.model, self.key)

    def _range_option(self) -> list[str]:
        raise NotImplementedError

    def configured_ranges(self) -> list[SegmentRange]:
        return [SegmentRange(None, first, last) for first, last in self.ranges]

    def validate_provider_segment(self, seg: dict) -> None:
        if seg.get(PHYSICAL_NETWORK) is not None:
            raise exc.InvalidInput(
                f"provider:physical_network specified for {self.network_type} network")
        value = seg.get(SEGMENTATION_ID)
        if value is not None:
            low, high = mc.TUNNEL_LIMITS[self.network_type]
            if not low <= value <= high:
                raise exc.InvalidInput(
                    f"Invalid network tunnel range: '{value}:{value}' - {value} is not "
                    f"a valid {self.network_type} identifier")

    def reserve_provider_segment(self, session: Session, seg: dict) -> dict:
        value = seg.get(SEGMENTATION_ID)
        if value is None:
            # Any free id, whoever's range it is in (as upstream).
            claimed = self.allocator.claim_free(session, [])
            if claimed is None:
                raise NoNetworkAvailable()
            return segment(self.network_type, None, claimed)
        if not self.allocator.claim(session, value, []):
            if self.allocator.exists(session, value, []):
                raise TunnelIdInUse(tunnel_id=value)
            # Outside the project ranges: an admin may still use it.
            session.execute(insert(self.model).values({self.key.key: value,
                                                       "allocated": True}))
        return segment(self.network_type, None, value)

    def allocate_tenant_segment(self, session: Session, project_id: str | None = None
                                ) -> dict | None:
        if self.range_source is None:
            scopes: list[list[Any]] = [[]]
        else:
            scopes = [[within(self.key, include, exclude)] for _, include, exclude
                      in tenant_scopes(self.effective_ranges(session), project_id)]
        for scope in scopes:
            value = self.allocator.claim_free(session, scope)
            if value is not None:
                return segment(self.network_type, None, value)
        return None

    def release_segment(self, session: Session, seg: dict) -> None:
        value = seg[SEGMENTATION_ID]
        where = self.key == value
        if any(r.minimum <= value <= r.maximum for r in self.effective_ranges(session)):
            session.execute(update(self.model).where(where).values(allocated=False)
                            .execution_options(synchronize_session=False))
        else:
            session.execute(delete(self.model).where(where)
                            .execution_options(synchronize_session=False))

    def sync_allocations(self, session: Session) -> None:
        wanted = mc.ids_in([(r.minimum, r.maximum) for r in self.effective_ranges(session)])
        rows = dict(session.execute(select(self.key, self.model.allocated)).all())
        stale = [i for i, allocated in rows.items() if not allocated and i not in wanted]
        for start in range(0, len(stale), BULK):
            session.execute(delete(self.model).where(self.key.in_(stale[start:start + BULK]))
                            .execution_options(synchronize_session=False))
        missing = sorted(wanted - rows.keys())
        for start in range(0, len(missing), BULK):
            session.execute(insert(self.model), [{self.key.key: i, "allocated": False}
                                                 for i in missing[start:start + BULK]])

    def get_mtu(self, physical_network: str | None = None) -> int:
        underlay = _underlay_mtu(self.conf)
        return underlay - self.overhead if underlay else 0


class VxlanTypeDriver(TunnelTypeDriver):
    network_type = "vxlan"
    model = models.VxlanAllocation
    overhead = VXLAN_OVERHEAD

    def _range_option(self) -> list[str]:
        return self.conf.ml2_type_vxlan.vni_ranges


class GreTypeDriver(TunnelTypeDriver):
    network_type = "gre"
    model = models.GreAllocation
    overhead = GRE_OVERHEAD

    def _range_option(self) -> list[str]:
        return self.conf.ml2_type_gre.tunnel_id_ranges


class GeneveTypeDriver(TunnelTypeDriver):
    network_type = "geneve"
    model = models.GeneveAllocation

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.overhead = conf.ml2_type_geneve.max_header_size + IP_HEADER

    def _range_option(self) -> list[str]:
        return self.conf.ml2_type_geneve.vni_ranges


class VlanTypeDriver(TypeDriver):
    network_type = "vlan"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.ranges = mc.parse_vlan_ranges(conf.ml2_type_vlan.network_vlan_ranges)
        VA = models.VlanAllocation
        self.allocator = _Allocator(VA, VA.vlan_id)

    def validate_provider_segment(self, seg: dict) -> None:
        physnet = seg.get(PHYSICAL_NETWORK)
        value = seg.get(SEGMENTATION_ID)
        if physnet:
            if physnet not in self.ranges:
                raise exc.InvalidInput(
                    f"physical_network '{physnet}' unknown for VLAN provider network")
            if value is not None and not mc.VLAN_MIN <= value <= mc.VLAN_MAX:
                raise exc.InvalidInput(f"segmentation_id out of range ({mc.VLAN_MIN} "
                                       f"through {mc.VLAN_MAX})")
        elif value is not None:
            raise exc.InvalidInput(
                "segmentation_id requires physical_network for VLAN provider network")

    def configured_ranges(self) -> list[SegmentRange]:
        return [SegmentRange(physnet, first, last)
                for physnet, ranges in sorted(self.ranges.items())
                for first, last in ranges]

    def _in_ranges(self, session: Session, physnet: str, value: int) -> bool:
        return any(r.physical_network == physnet and r.minimum <= value <= r.maximum
                   for r in self.effective_ranges(session))

    def reserve_provider_segment(self, session: Session, seg: dict) -> dict:
        VA = models.VlanAllocation
        physnet, value = seg.get(PHYSICAL_NETWORK), seg.get(SEGMENTATION_ID)
        if value is None:
            names = [physnet] if physnet else sorted(self.ranges)
            for name in names:
                claimed = self.allocator.claim_free(session, [VA.physical_network == name])
                if claimed is not None:
                    return segment("vlan", name, claimed)
            raise NoNetworkAvailable()
        scope = [VA.physical_network == physnet]
        if not self.allocator.claim(session, value, scope):
            if self.allocator.exists(session, value, scope):
                raise VlanIdInUse(vlan_id=value, physical_network=physnet)
            session.execute(insert(VA).values(physical_network=physnet, vlan_id=value,
                                              allocated=True))
        return segment("vlan", physnet, value)

    def allocate_tenant_segment(self, session: Session, project_id: str | None = None
                                ) -> dict | None:
        VA = models.VlanAllocation
        if self.range_source is None:
            scopes = [(name, [VA.physical_network == name]) for name in sorted(self.ranges)]
        else:
            scopes = [(name, [VA.physical_network == name,
                              within(VA.vlan_id, include, exclude)])
                      for name, include, exclude
                      in tenant_scopes(self.effective_ranges(session), project_id)]
        for name, scope in scopes:
            claimed = self.allocator.claim_free(session, scope)
            if claimed is not None:
                return segment("vlan", name, claimed)
        return None

    def release_segment(self, session: Session, seg: dict) -> None:
        VA = models.VlanAllocation
        physnet, value = seg[PHYSICAL_NETWORK], seg[SEGMENTATION_ID]
        where = and_(VA.physical_network == physnet, VA.vlan_id == value)
        if self._in_ranges(session, physnet, value):
            session.execute(update(VA).where(where).values(allocated=False)
                            .execution_options(synchronize_session=False))
        else:
            session.execute(delete(VA).where(where)
                            .execution_options(synchronize_session=False))

    def sync_allocations(self, session: Session) -> None:
        VA = models.VlanAllocation
        rows = session.execute(select(VA.physical_network, VA.vlan_id, VA.allocated)).all()
        have = {(p, v): a for p, v, a in rows}
        wanted = {(r.physical_network, v) for r in self.effective_ranges(session)
                  for v in range(r.minimum, r.maximum + 1)}
        for (p, v), allocated in have.items():
            if not allocated and (p, v) not in wanted:
                session.execute(delete(VA).where(VA.physical_network == p,
                                                 VA.vlan_id == v))
        missing = sorted(wanted - have.keys())
        for start in range(0, len(missing), BULK):
            session.execute(insert(VA), [
                {"physical_network": p, "vlan_id": v, "allocated": False}
                for p, v in missing[start:start + BULK]])


DRIVERS: dict[str, type[TypeDriver]] = {
    d.network_type: d for d in (LocalTypeDriver, FlatTypeDriver, VlanTypeDriver,
                                VxlanTypeDriver, GreTypeDriver, GeneveTypeDriver)}
