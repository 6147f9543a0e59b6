"""L3: external networks, routers, their ports and routes, floating IPs, and which L3
agents host which routers."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base, StandardAttrs


class ExternalNetwork(Base):
    """A network with ``router:external`` true: gateways and floating IPs use it."""

    __tablename__ = "externalnetworks"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class Router(StandardAttrs, Base):
    __tablename__ = "routers"

    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    gw_port_id: Mapped[str | None] = mapped_column(ForeignKey("ports.id"))
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    flavor_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    # JSON list of zone names (few, read with the router).
    availability_zone_hints: Mapped[str] = mapped_column(Text, default="[]")
    ha: Mapped[bool] = mapped_column(Boolean, default=False)
    distributed: Mapped[bool] = mapped_column(Boolean, default=False)


class RouterPort(Base):
    """A port the router owns: an interface or its gateway (port_type is the port's
    device_owner)."""

    __tablename__ = "routerports"

    router_id: Mapped[str] = mapped_column(
        ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True, unique=True)
    port_type: Mapped[str] = mapped_column(String(255))


class RouterRoute(Base):
    """An extra route of a router (extraroute)."""

    __tablename__ = "routerroutes"

    router_id: Mapped[str] = mapped_column(
        ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(64), primary_key=True)
    nexthop: Mapped[str] = mapped_column(String(64), primary_key=True)


class FloatingIP(StandardAttrs, Base):
    """A floating IP; the unique key lets one fixed IP have at most one floating IP
    per external network (a concurrent second association fails on insert/update)."""

    __tablename__ = "floatingips"
    __table_args__ = (UniqueConstraint("floating_network_id", "fixed_port_id",
                                       "fixed_ip_address"),)

    floating_ip_address: Mapped[str] = mapped_column(String(64))
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    floating_port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), unique=True)
    fixed_port_id: Mapped[str | None] = mapped_column(ForeignKey("ports.id"), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(ForeignKey("routers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")


class RouterL3AgentBinding(Base):
    """Which L3 agents host a router (scheduling)."""

    __tablename__ = "routerl3agentbindings"

    router_id: Mapped[str] = mapped_column(
        ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    l3_agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True)
