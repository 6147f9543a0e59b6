"""FWaaS v2 (issue 16): firewall rules, policies (an ordered list of rules) and
groups (an ingress and an egress policy applied to router ports).

As upstream's, these are not "standard attribute" resources: no revision,
timestamps or tags. A rule in a policy cannot be deleted (the association's key
restricts it); a port belongs to at most one group (unique); a deleted port leaves
its group (cascade, and the service says so explicitly for SQLite). The default
group of a project is remembered in `fw_default_groups` (one per project: the
primary key settles concurrent first requests).
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base

__all__ = ["DefaultFirewallGroup", "FirewallGroup", "FirewallGroupPort",
           "FirewallPolicy", "FirewallPolicyRule", "FirewallRule"]

# Upstream's LONG_DESCRIPTION_FIELD_SIZE (the API accepts 255, as upstream).
DESCRIPTION_LEN = 1024
ADDRESS_LEN = 46


class FirewallRule(Base):
    __tablename__ = "fw_rules"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    protocol: Mapped[str | None] = mapped_column(String(40))
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    source_ip_address: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    destination_ip_address: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    source_port_range_min: Mapped[int | None] = mapped_column(Integer)
    source_port_range_max: Mapped[int | None] = mapped_column(Integer)
    destination_port_range_min: Mapped[int | None] = mapped_column(Integer)
    destination_port_range_max: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(8), default="deny")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class FirewallPolicy(Base):
    __tablename__ = "fw_policies"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    audited: Mapped[bool] = mapped_column(Boolean, default=False)


class FirewallPolicyRule(Base):
    """A rule's place in a policy (position 1 is evaluated first)."""

    __tablename__ = "fw_policy_rules"

    firewall_policy_id: Mapped[str] = mapped_column(
        ForeignKey("fw_policies.id", ondelete="CASCADE"), primary_key=True)
    firewall_rule_id: Mapped[str] = mapped_column(
        ForeignKey("fw_rules.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class FirewallGroup(Base):
    __tablename__ = "fw_groups"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    ingress_firewall_policy_id: Mapped[str | None] = mapped_column(
        ForeignKey("fw_policies.id"), index=True)
    egress_firewall_policy_id: Mapped[str | None] = mapped_column(
        ForeignKey("fw_policies.id"), index=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class FirewallGroupPort(Base):
    __tablename__ = "fw_group_ports"

    firewall_group_id: Mapped[str] = mapped_column(
        ForeignKey("fw_groups.id", ondelete="CASCADE"), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True, unique=True)


class DefaultFirewallGroup(Base):
    __tablename__ = "fw_default_groups"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    firewall_group_id: Mapped[str] = mapped_column(
        ForeignKey("fw_groups.id", ondelete="CASCADE"), index=True)
