"""Networks, subnets, ports, IP allocations, tags and quotas (the core API)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base, StandardAttrs


class Network(StandardAttrs, Base):
    __tablename__ = "networks"

    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    # `shared` is no column: it is an access_as_shared RBAC policy (rbacpolicies).


class Subnet(StandardAttrs, Base):
    __tablename__ = "subnets"

    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16))
    subnetpool_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    # The routed-network segment the subnet is on (segment extension). No foreign
    # key (see migration 0008); services/segments.py keeps it valid.
    segment_id: Mapped[str | None] = mapped_column(String(UUID_LEN), index=True)


class AllocationPool(Base):
    __tablename__ = "subnet_allocation_pools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("subnets.id", ondelete="CASCADE"), index=True)
    first_ip: Mapped[str] = mapped_column(String(64))
    last_ip: Mapped[str] = mapped_column(String(64))


class DNSNameServer(Base):
    __tablename__ = "subnet_dns_nameservers"

    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    order: Mapped[int] = mapped_column(Integer, default=0)


class HostRoute(Base):
    __tablename__ = "subnet_routes"

    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(64), primary_key=True)
    nexthop: Mapped[str] = mapped_column(String(64), primary_key=True)


class Port(StandardAttrs, Base):
    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),
                      Index("ix_ports_device_owner", "device_owner"))

    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")


class IPAllocation(Base):
    """One fixed IP of a port; the primary key makes an address unique per subnet."""

    __tablename__ = "ipallocations"

    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    # Order of the port's addresses: the order they were allocated in (fixed_ips are
    # shown so; clients index fixed_ips[0]). Rows from before it share 0.
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Tag(Base):
    __tablename__ = "tags"

    resource_id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(64))


class Quota(Base):
    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    resource: Mapped[str] = mapped_column(String(255))
    limit: Mapped[int] = mapped_column(Integer)
