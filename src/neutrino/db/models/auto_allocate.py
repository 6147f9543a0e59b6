"""auto-allocated-topology (one network and router per project, the project id as
primary key so two concurrent first requests cannot both record one) and the DNS
name and domain of floating IPs (dns-integration)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import Base


class AutoAllocatedTopology(Base):
    __tablename__ = "auto_allocated_topologies"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    router_id: Mapped[str | None] = mapped_column(
        ForeignKey("routers.id", ondelete="SET NULL"), index=True)


class FloatingIPDNS(Base):
    """A floating IP's dns_name and dns_domain (a row only when they are set)."""

    __tablename__ = "floatingipdnses"

    floatingip_id: Mapped[str] = mapped_column(
        ForeignKey("floatingips.id", ondelete="CASCADE"), primary_key=True)
    dns_name: Mapped[str] = mapped_column(String(255))
    dns_domain: Mapped[str] = mapped_column(String(255))
