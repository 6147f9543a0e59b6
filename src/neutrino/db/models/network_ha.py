"""The networks created with `ha` true (network_ha): one row each."""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import Base

__all__ = ["NetworkHA"]


class NetworkHA(Base):
    __tablename__ = "network_ha"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
