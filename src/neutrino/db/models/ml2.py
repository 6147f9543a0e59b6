"""ML2: segments, segmentation-id allocation, agents, port bindings, scheduling."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base, StandardAttrs, utcnow


class NetworkSegment(StandardAttrs, Base):
    """How a network is carried: one row per segment (several with multi-provider)."""

    __tablename__ = "networksegments"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    network_type: Mapped[str] = mapped_column(String(32))
    physical_network: Mapped[str | None] = mapped_column(String(64))
    segmentation_id: Mapped[int | None] = mapped_column(Integer)
    is_dynamic: Mapped[bool] = mapped_column(Boolean, default=False)
    segment_index: Mapped[int] = mapped_column(Integer, default=0)


class VxlanAllocation(Base):
    __tablename__ = "ml2_vxlan_allocations"

    vxlan_vni: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    allocated: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class GreAllocation(Base):
    __tablename__ = "ml2_gre_allocations"

    gre_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    allocated: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class GeneveAllocation(Base):
    __tablename__ = "ml2_geneve_allocations"

    geneve_vni: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    allocated: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class VlanAllocation(Base):
    __tablename__ = "ml2_vlan_allocations"

    physical_network: Mapped[str] = mapped_column(String(64), primary_key=True)
    vlan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    allocated: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class FlatAllocation(Base):
    """A flat physical network carries at most one network."""

    __tablename__ = "ml2_flat_allocations"

    physical_network: Mapped[str] = mapped_column(String(64), primary_key=True)


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("agent_type", "host"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat_timestamp: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    description: Mapped[str | None] = mapped_column(String(255))
    configurations: Mapped[str] = mapped_column(Text, default="{}")
    resource_versions: Mapped[str | None] = mapped_column(Text)
    load: Mapped[int] = mapped_column(Integer, default=0)
    # agent-resources-synced: the last sync of its resources to Placement (null:
    # none to sync).
    resources_synced: Mapped[bool | None] = mapped_column(Boolean)


class PortBinding(Base):
    """Where and how a port is bound (binding:* attributes). One row per port; an
    unbound port has host "" and vif_type "unbound"."""

    __tablename__ = "ml2_port_bindings"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), default="", index=True)
    vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    profile: Mapped[str] = mapped_column(Text, default="{}")
    vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    vif_details: Mapped[str] = mapped_column(Text, default="{}")
    # The segment the mechanism driver bound, and which driver (null until bound).
    segment_id: Mapped[str | None] = mapped_column(
        ForeignKey("networksegments.id", ondelete="SET NULL"))
    driver: Mapped[str | None] = mapped_column(String(64))


class NetworkDhcpAgentBinding(Base):
    """Which DHCP agents serve a network (scheduling)."""

    __tablename__ = "networkdhcpagentbindings"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    dhcp_agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True)
