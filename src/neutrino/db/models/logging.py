"""Security group logging (issue 14): log objects.

``resource_id`` (a security group) and ``target_id`` (a port) are checked when a
log is created but are no foreign keys (as upstream): a log outlives what it
names and then logs nothing.
"""

from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base, StandardAttrs

__all__ = ["Log"]


class Log(StandardAttrs, Base):
    __tablename__ = "logs"

    resource_type: Mapped[str] = mapped_column(String(36))
    resource_id: Mapped[str | None] = mapped_column(String(UUID_LEN), index=True)
    target_id: Mapped[str | None] = mapped_column(String(UUID_LEN), index=True)
    event: Mapped[str] = mapped_column(String(255), default="ALL")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
