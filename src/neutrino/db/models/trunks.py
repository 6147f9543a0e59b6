"""Trunks and their sub-ports.

A port is the parent of at most one trunk (unique `port_id`) and a sub-port of at
most one trunk (primary key); a (type, id) segmentation is used once per trunk
(unique constraint, upstream's DuplicateSubPort). Deleting a port is refused while
it is in a trunk (services/trunks.py), so the foreign keys only cascade the rows
away with their trunk.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base, StandardAttrs

__all__ = ["SubPort", "Trunk"]


class Trunk(StandardAttrs, Base):
    __tablename__ = "trunks"

    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), unique=True)


class SubPort(Base):
    __tablename__ = "subports"
    __table_args__ = (UniqueConstraint("trunk_id", "segmentation_type",
                                       "segmentation_id"),)

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    trunk_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("trunks.id", ondelete="CASCADE"), index=True)
    segmentation_type: Mapped[str] = mapped_column(String(32))
    segmentation_id: Mapped[int] = mapped_column(Integer)
