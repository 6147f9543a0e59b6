"""QoS policies, rules, default policies and bindings to networks, ports,
floating IPs and router gateways

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def _binding(table: str, column: str, target: str) -> None:
    op.create_table(
        table,
        sa.Column(column, sa.String(36), nullable=False),
        sa.Column("qos_policy_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint([column], [f"{target}.id"], ondelete="CASCADE",
                                name=f"fk_{table}_{column}_{target}"),
        sa.ForeignKeyConstraint(["qos_policy_id"], ["qos_policies.id"],
                                name=f"fk_{table}_qos_policy_id_qos_policies"),
        sa.PrimaryKeyConstraint(column, name=f"pk_{table}"),
    )
    op.create_index(f"ix_{table}_qos_policy_id", table, ["qos_policy_id"])


BINDINGS = (("qos_network_policy_bindings", "network_id", "networks"),
            ("qos_port_policy_bindings", "port_id", "ports"),
            ("qos_fip_policy_bindings", "fip_id", "floatingips"),
            ("qos_router_gw_policy_bindings", "router_id", "routers"))


def upgrade() -> None:
    op.create_table(
        "qos_policies",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qos_policies"),
    )
    op.create_index("ix_qos_policies_project_id", "qos_policies", ["project_id"])
    op.create_table(
        "qos_rules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("qos_policy_id", sa.String(36), nullable=False),
        sa.Column("rule_type", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=True)
          for name in ("max_kbps", "max_burst_kbps", "dscp_mark", "min_kbps", "min_kpps",
                       "max_kpps", "max_burst_kpps")],
        sa.ForeignKeyConstraint(["qos_policy_id"], ["qos_policies.id"], ondelete="CASCADE",
                                name="fk_qos_rules_qos_policy_id_qos_policies"),
        sa.PrimaryKeyConstraint("id", name="pk_qos_rules"),
        sa.UniqueConstraint("qos_policy_id", "rule_type", "direction",
                            name="uq_qos_rules_qos_policy_id_rule_type_direction"),
    )
    op.create_index("ix_qos_rules_qos_policy_id", "qos_rules", ["qos_policy_id"])
    op.create_table(
        "qos_policies_default",
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("qos_policy_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(["qos_policy_id"], ["qos_policies.id"], ondelete="CASCADE",
                                name="fk_qos_policies_default_qos_policy_id_qos_policies"),
        sa.PrimaryKeyConstraint("project_id", name="pk_qos_policies_default"),
        sa.UniqueConstraint("qos_policy_id",
                            name="uq_qos_policies_default_qos_policy_id"),
    )
    for table, column, target in BINDINGS:
        _binding(table, column, target)


def downgrade() -> None:
    for table, _, _ in reversed(BINDINGS):
        op.drop_table(table)
    op.drop_table("qos_policies_default")
    op.drop_table("qos_rules")
    op.drop_table("qos_policies")
