"""Metering (issue 14): labels and their rules.

Upstream's labels are not "standard attribute" resources: no revision, timestamps or
tags. A rule belongs to its label (deleted with it); its project is the label's.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base

__all__ = ["MeteringLabel", "MeteringLabelRule"]

# Upstream's LONG_DESCRIPTION_FIELD_SIZE (a label's description).
LONG_DESCRIPTION_LEN = 1024
CIDR_LEN = 64


class MeteringLabel(Base):
    __tablename__ = "meteringlabels"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(LONG_DESCRIPTION_LEN), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class MeteringLabelRule(Base):
    __tablename__ = "meteringlabelrules"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    metering_label_id: Mapped[str] = mapped_column(
        ForeignKey("meteringlabels.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(CIDR_LEN))
    source_ip_prefix: Mapped[str | None] = mapped_column(String(CIDR_LEN))
    destination_ip_prefix: Mapped[str | None] = mapped_column(String(CIDR_LEN))
