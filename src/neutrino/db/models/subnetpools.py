"""Subnet pools, their prefixes, and address scopes."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base, StandardAttrs

__all__ = ["AddressScope", "SubnetPool", "SubnetPoolPrefix"]


class AddressScope(Base):
    """Upstream's address scopes carry no standard attributes (no description,
    timestamps, revision or tags)."""

    __tablename__ = "address_scopes"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int] = mapped_column(Integer)


class SubnetPool(StandardAttrs, Base):
    __tablename__ = "subnetpools"
    # One default pool per IP version, kept by the database even when two requests
    # race: default_version is ip_version for the default pool, NULL otherwise
    # (NULLs never collide in a unique constraint).
    __table_args__ = (UniqueConstraint("default_version"),)

    ip_version: Mapped[int] = mapped_column(Integer)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    default_version: Mapped[int | None] = mapped_column(Integer)
    default_quota: Mapped[int | None] = mapped_column(Integer)
    address_scope_id: Mapped[str | None] = mapped_column(
        ForeignKey("address_scopes.id"), index=True)


class SubnetPoolPrefix(Base):
    __tablename__ = "subnetpoolprefixes"

    cidr: Mapped[str] = mapped_column(String(64), primary_key=True)
    subnetpool_id: Mapped[str] = mapped_column(
        ForeignKey("subnetpools.id", ondelete="CASCADE"), primary_key=True, index=True)
