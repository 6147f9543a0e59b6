"""Router HA: HA networks per project, HA router/agent bindings (l3-ha)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    table = "ha_router_networks"
    op.create_table(
        table,
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("network_id", sa.String(36), nullable=False),
        _fk(table, "network_id", "networks"),
        sa.PrimaryKeyConstraint("project_id", name=f"pk_{table}"),
        sa.UniqueConstraint("network_id", name=f"uq_{table}_network_id"),
    )
    table = "ha_router_vrid_allocations"
    op.create_table(
        table,
        sa.Column("network_id", sa.String(36), nullable=False),
        sa.Column("vr_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("router_id", sa.String(36), nullable=False),
        _fk(table, "network_id", "networks"),
        _fk(table, "router_id", "routers"),
        sa.PrimaryKeyConstraint("network_id", "vr_id", name=f"pk_{table}"),
        sa.UniqueConstraint("router_id", name=f"uq_{table}_router_id"),
    )
    table = "ha_router_agent_port_bindings"
    op.create_table(
        table,
        sa.Column("port_id", sa.String(36), nullable=False),
        sa.Column("router_id", sa.String(36), nullable=False),
        sa.Column("l3_agent_id", sa.String(36), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _fk(table, "port_id", "ports"),
        _fk(table, "router_id", "routers"),
        _fk(table, "l3_agent_id", "agents"),
        sa.PrimaryKeyConstraint("port_id", name=f"pk_{table}"),
    )
    op.create_index(f"ix_{table}_router_id", table, ["router_id"])
    op.create_index(f"ix_{table}_l3_agent_id", table, ["l3_agent_id"])


def downgrade() -> None:
    op.drop_table("ha_router_agent_port_bindings")
    op.drop_table("ha_router_vrid_allocations")
    op.drop_table("ha_router_networks")
