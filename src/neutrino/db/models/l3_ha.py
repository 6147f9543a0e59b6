"""Router HA (l3-ha): a HA network per project, a VRRP id per HA router in its
project's HA network, and per (HA router, L3 agent) the agent's HA port and the
router's VRRP state on that agent."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import Base

__all__ = ["HaRouterNetwork", "HaRouterVrIdAllocation", "HaRouterAgentPortBinding"]


class HaRouterNetwork(Base):
    """The project's HA network (one per project; the primary key makes a second
    one made concurrently fail on insert)."""

    __tablename__ = "ha_router_networks"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), unique=True)


class HaRouterVrIdAllocation(Base):
    """A HA router's VRRP virtual router id, unique in its HA network."""

    __tablename__ = "ha_router_vrid_allocations"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    vr_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    router_id: Mapped[str] = mapped_column(
        ForeignKey("routers.id", ondelete="CASCADE"), unique=True)


class HaRouterAgentPortBinding(Base):
    """The HA port of a router on one L3 agent, and the router's VRRP state there
    (as the agent reports it: active, standby)."""

    __tablename__ = "ha_router_agent_port_bindings"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    router_id: Mapped[str] = mapped_column(
        ForeignKey("routers.id", ondelete="CASCADE"), index=True)
    l3_agent_id: Mapped[str | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="standby")
