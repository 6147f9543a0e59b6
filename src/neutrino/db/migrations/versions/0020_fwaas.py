"""FWaaS v2: firewall groups, policies, rules

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

RULES, POLICIES, GROUPS = "fw_rules", "fw_policies", "fw_groups"
POLICY_RULES = "fw_policy_rules"
GROUP_PORTS = "fw_group_ports"
DEFAULTS = "fw_default_groups"


def _owned(table: str, *columns: sa.Column) -> None:
    """A table with upstream's id, project, name, description and shared."""
    op.create_table(
        table,
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(1024), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    )
    op.create_index(f"ix_{table}_project_id", table, ["project_id"])


def upgrade() -> None:
    _owned(RULES,
           sa.Column("protocol", sa.String(40), nullable=True),
           sa.Column("ip_version", sa.Integer(), nullable=False),
           sa.Column("source_ip_address", sa.String(46), nullable=True),
           sa.Column("destination_ip_address", sa.String(46), nullable=True),
           sa.Column("source_port_range_min", sa.Integer(), nullable=True),
           sa.Column("source_port_range_max", sa.Integer(), nullable=True),
           sa.Column("destination_port_range_min", sa.Integer(), nullable=True),
           sa.Column("destination_port_range_max", sa.Integer(), nullable=True),
           sa.Column("action", sa.String(8), nullable=False),
           sa.Column("enabled", sa.Boolean(), nullable=False))
    _owned(POLICIES, sa.Column("audited", sa.Boolean(), nullable=False))
    op.create_table(
        POLICY_RULES,
        sa.Column("firewall_policy_id", sa.String(36), nullable=False),
        sa.Column("firewall_rule_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["firewall_policy_id"], [f"{POLICIES}.id"],
                                ondelete="CASCADE",
                                name=f"fk_{POLICY_RULES}_firewall_policy_id_{POLICIES}"),
        sa.ForeignKeyConstraint(["firewall_rule_id"], [f"{RULES}.id"],
                                name=f"fk_{POLICY_RULES}_firewall_rule_id_{RULES}"),
        sa.PrimaryKeyConstraint("firewall_policy_id", "firewall_rule_id",
                                name=f"pk_{POLICY_RULES}"),
    )
    op.create_index(f"ix_{POLICY_RULES}_firewall_rule_id", POLICY_RULES,
                    ["firewall_rule_id"])
    _owned(GROUPS,
           sa.Column("ingress_firewall_policy_id", sa.String(36), nullable=True),
           sa.Column("egress_firewall_policy_id", sa.String(36), nullable=True),
           sa.Column("admin_state_up", sa.Boolean(), nullable=False),
           sa.Column("status", sa.String(16), nullable=False),
           sa.ForeignKeyConstraint(
               ["ingress_firewall_policy_id"], [f"{POLICIES}.id"],
               name=f"fk_{GROUPS}_ingress_firewall_policy_id_{POLICIES}"),
           sa.ForeignKeyConstraint(
               ["egress_firewall_policy_id"], [f"{POLICIES}.id"],
               name=f"fk_{GROUPS}_egress_firewall_policy_id_{POLICIES}"))
    for column in ("ingress_firewall_policy_id", "egress_firewall_policy_id"):
        op.create_index(f"ix_{GROUPS}_{column}", GROUPS, [column])
    op.create_table(
        GROUP_PORTS,
        sa.Column("firewall_group_id", sa.String(36), nullable=False),
        sa.Column("port_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(["firewall_group_id"], [f"{GROUPS}.id"],
                                ondelete="CASCADE",
                                name=f"fk_{GROUP_PORTS}_firewall_group_id_{GROUPS}"),
        sa.ForeignKeyConstraint(["port_id"], ["ports.id"], ondelete="CASCADE",
                                name=f"fk_{GROUP_PORTS}_port_id_ports"),
        sa.PrimaryKeyConstraint("firewall_group_id", "port_id", name=f"pk_{GROUP_PORTS}"),
        sa.UniqueConstraint("port_id", name=f"uq_{GROUP_PORTS}_port_id"),
    )
    op.create_table(
        DEFAULTS,
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("firewall_group_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(["firewall_group_id"], [f"{GROUPS}.id"],
                                ondelete="CASCADE",
                                name=f"fk_{DEFAULTS}_firewall_group_id_{GROUPS}"),
        sa.PrimaryKeyConstraint("project_id", name=f"pk_{DEFAULTS}"),
    )
    op.create_index(f"ix_{DEFAULTS}_firewall_group_id", DEFAULTS, ["firewall_group_id"])


def downgrade() -> None:
    for table in (DEFAULTS, GROUP_PORTS, GROUPS, POLICY_RULES, POLICIES, RULES):
        op.drop_table(table)
