"""extensions b: port NUMA affinity policy, subnet service types, agents'
resources_synced

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portnumaaffinitypolicies",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("numa_affinity_policy", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["port_id"], ["ports.id"],
            name=op.f("fk_portnumaaffinitypolicies_port_id_ports"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("port_id", name=op.f("pk_portnumaaffinitypolicies")),
    )
    op.create_table(
        "subnet_service_types",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("service_type", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["subnet_id"], ["subnets.id"],
            name=op.f("fk_subnet_service_types_subnet_id_subnets"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subnet_id", "service_type",
                                name=op.f("pk_subnet_service_types")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resources_synced", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("resources_synced")
    op.drop_table("subnet_service_types")
    op.drop_table("portnumaaffinitypolicies")
