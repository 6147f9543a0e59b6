"""auto-allocated topologies, floating IP DNS

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auto_allocated_topologies",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_auto_allocated_topologies_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["routers.id"],
            name=op.f("fk_auto_allocated_topologies_router_id_routers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_auto_allocated_topologies")),
    )
    with op.batch_alter_table("auto_allocated_topologies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auto_allocated_topologies_network_id"), ["network_id"],
            unique=False)
        batch_op.create_index(
            batch_op.f("ix_auto_allocated_topologies_router_id"), ["router_id"],
            unique=False)

    op.create_table(
        "floatingipdnses",
        sa.Column("floatingip_id", sa.String(length=36), nullable=False),
        sa.Column("dns_name", sa.String(length=255), nullable=False),
        sa.Column("dns_domain", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["floatingip_id"],
            ["floatingips.id"],
            name=op.f("fk_floatingipdnses_floatingip_id_floatingips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("floatingip_id", name=op.f("pk_floatingipdnses")),
    )


def downgrade() -> None:
    op.drop_table("floatingipdnses")
    op.drop_table("auto_allocated_topologies")
