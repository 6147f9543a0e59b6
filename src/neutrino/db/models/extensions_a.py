"""Default security group rule templates, the default statefulness of new security
groups, service flavors and profiles, and a port's inactive bindings."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base

__all__ = ["DefaultSecurityGroupRule", "FlavorServiceProfileBinding", "PortBindingInactive",
           "SecurityGroupDefaultStatefulness", "ServiceFlavor", "ServiceProfile"]


class DefaultSecurityGroupRule(Base):
    """A template a new security group's rules are made from. `remote_group_id` may
    be "PARENT": the group being created."""

    __tablename__ = "securitygroupdefaultrules"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(40))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(255))
    remote_group_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    remote_address_group_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    description: Mapped[str] = mapped_column(String(255), default="")
    used_in_default_sg: Mapped[bool] = mapped_column(Boolean, default=False)
    used_in_non_default_sg: Mapped[bool] = mapped_column(Boolean, default=True)


class SecurityGroupDefaultStatefulness(Base):
    """The `stateful` a new security group gets when its request does not say: per
    project, or system-wide (project_id null). `scope` is the project id, "" for the
    system-wide setting: unique, so there is at most one of each (a unique index on
    a nullable column would allow several nulls)."""

    __tablename__ = "securitygroupdefaultstatefulness"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(255), unique=True)
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)


class ServiceFlavor(Base):
    __tablename__ = "flavors"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(1024), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    service_type: Mapped[str | None] = mapped_column(String(36))


class ServiceProfile(Base):
    __tablename__ = "serviceprofiles"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    description: Mapped[str] = mapped_column(String(1024), default="")
    driver: Mapped[str] = mapped_column(String(1024), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    metainfo: Mapped[str] = mapped_column(String(4096), default="")


class FlavorServiceProfileBinding(Base):
    __tablename__ = "flavorserviceprofilebindings"

    flavor_id: Mapped[str] = mapped_column(
        ForeignKey("flavors.id", ondelete="CASCADE"), primary_key=True)
    service_profile_id: Mapped[str] = mapped_column(
        ForeignKey("serviceprofiles.id", ondelete="CASCADE"), primary_key=True,
        index=True)


class PortBindingInactive(Base):
    """A port's other bindings (binding-extended, live migration): the ACTIVE one is
    the port's row in ml2_port_bindings; these are INACTIVE, one per host."""

    __tablename__ = "ml2_port_bindings_inactive"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    profile: Mapped[str] = mapped_column(Text, default="{}")
    vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    vif_details: Mapped[str] = mapped_column(Text, default="{}")
    segment_id: Mapped[str | None] = mapped_column(
        ForeignKey("networksegments.id", ondelete="SET NULL"))
    driver: Mapped[str | None] = mapped_column(String(64))
