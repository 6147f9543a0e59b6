"""Security groups, port security, address groups and pairs, extra DHCP options."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base, StandardAttrs


class SecurityGroup(StandardAttrs, Base):
    __tablename__ = "securitygroups"

    stateful: Mapped[bool] = mapped_column(Boolean, default=True)


class DefaultSecurityGroup(Base):
    """Which group is a project's `default`; the primary key makes it one per project
    even when two first requests race to create it."""

    __tablename__ = "default_security_group"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("securitygroups.id", ondelete="CASCADE"), unique=True)


class AddressGroup(StandardAttrs, Base):
    __tablename__ = "address_groups"


class AddressGroupAddress(Base):
    __tablename__ = "address_group_addresses"

    address_group_id: Mapped[str] = mapped_column(
        ForeignKey("address_groups.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)


class SecurityGroupRule(StandardAttrs, Base):
    __tablename__ = "securitygrouprules"

    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("securitygroups.id", ondelete="CASCADE"), index=True)
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("securitygroups.id", ondelete="CASCADE"), index=True)
    remote_address_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("address_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(16))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))


class SecurityGroupPortBinding(Base):
    __tablename__ = "securitygroupportbindings"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("securitygroups.id"), primary_key=True, index=True)


class PortSecurityBinding(Base):
    __tablename__ = "portsecuritybindings"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class NetworkSecurityBinding(Base):
    __tablename__ = "networksecuritybindings"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class AllowedAddressPair(Base):
    __tablename__ = "allowedaddresspairs"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    mac_address: Mapped[str] = mapped_column(String(32), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)


class ExtraDhcpOpt(Base):
    __tablename__ = "extradhcpopts"
    __table_args__ = (UniqueConstraint("port_id", "opt_name", "ip_version"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    opt_name: Mapped[str] = mapped_column(String(64))
    opt_value: Mapped[str] = mapped_column(String(255))
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
