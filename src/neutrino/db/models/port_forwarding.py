"""Floating IP port forwardings: a floating IP's (protocol, external port range)
translated to an internal port's fixed IPv4 address and port range.

A single port is a range of one (start == end). The unique key catches two
concurrent creates of the same external start port; overlapping ranges (outside
and inside) are refused by the service before the insert.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base

__all__ = ["PortForwarding"]


class PortForwarding(Base):
    __tablename__ = "portforwardings"
    __table_args__ = (
        UniqueConstraint("floatingip_id", "protocol", "external_port_start"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    floatingip_id: Mapped[str] = mapped_column(
        ForeignKey("floatingips.id", ondelete="CASCADE"), index=True)
    internal_port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    internal_ip_address: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[str] = mapped_column(String(40))
    external_port_start: Mapped[int] = mapped_column(Integer)
    external_port_end: Mapped[int] = mapped_column(Integer)
    internal_port_start: Mapped[int] = mapped_column(Integer)
    internal_port_end: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(255), default="")
