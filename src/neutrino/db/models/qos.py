"""QoS: policies, their rules, and which network/port/floating IP/router uses which.

Rules of every type live in one table: a rule is (policy, type, direction) plus the
few integers its type uses; the unique constraint is upstream's "one rule of a type
per direction in a policy" (DSCP marking has no direction: stored as "-").
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base, StandardAttrs

__all__ = ["QosFipPolicyBinding", "QosNetworkPolicyBinding", "QosPolicy",
           "QosPolicyDefault", "QosPortPolicyBinding", "QosRouterGatewayPolicyBinding",
           "QosRule"]


class QosPolicy(StandardAttrs, Base):
    __tablename__ = "qos_policies"


class QosRule(Base):
    __tablename__ = "qos_rules"
    __table_args__ = (UniqueConstraint("qos_policy_id", "rule_type", "direction"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    qos_policy_id: Mapped[str] = mapped_column(
        ForeignKey("qos_policies.id", ondelete="CASCADE"), index=True)
    rule_type: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8))
    max_kbps: Mapped[int | None] = mapped_column(Integer)
    max_burst_kbps: Mapped[int | None] = mapped_column(Integer)
    dscp_mark: Mapped[int | None] = mapped_column(Integer)
    min_kbps: Mapped[int | None] = mapped_column(Integer)
    min_kpps: Mapped[int | None] = mapped_column(Integer)
    max_kpps: Mapped[int | None] = mapped_column(Integer)
    max_burst_kpps: Mapped[int | None] = mapped_column(Integer)


class QosPolicyDefault(Base):
    """A project's default policy; the primary key makes it one per project."""

    __tablename__ = "qos_policies_default"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    qos_policy_id: Mapped[str] = mapped_column(
        ForeignKey("qos_policies.id", ondelete="CASCADE"), unique=True)


class QosNetworkPolicyBinding(Base):
    __tablename__ = "qos_network_policy_bindings"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    qos_policy_id: Mapped[str] = mapped_column(
        ForeignKey("qos_policies.id"), index=True)


class QosPortPolicyBinding(Base):
    __tablename__ = "qos_port_policy_bindings"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    qos_policy_id: Mapped[str] = mapped_column(
        ForeignKey("qos_policies.id"), index=True)


class QosFipPolicyBinding(Base):
    __tablename__ = "qos_fip_policy_bindings"

    fip_id: Mapped[str] = mapped_column(
        ForeignKey("floatingips.id", ondelete="CASCADE"), primary_key=True)
    qos_policy_id: Mapped[str] = mapped_column(
        ForeignKey("qos_policies.id"), index=True)


class QosRouterGatewayPolicyBinding(Base):
    __tablename__ = "qos_router_gw_policy_bindings"

    router_id: Mapped[str] = mapped_column(
        ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    qos_policy_id: Mapped[str] = mapped_column(
        ForeignKey("qos_policies.id"), index=True)
