"""segment ranges, dns, availability zone hints

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 18:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_az_hints",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("hints", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"],
            name=op.f("fk_network_az_hints_network_id_networks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", name=op.f("pk_network_az_hints")),
    )
    op.create_table(
        "networkdnsdomains",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("dns_domain", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"],
            name=op.f("fk_networkdnsdomains_network_id_networks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", name=op.f("pk_networkdnsdomains")),
    )
    op.create_table(
        "portdnses",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("dns_name", sa.String(length=255), nullable=False),
        sa.Column("dns_domain", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"], ["ports.id"],
            name=op.f("fk_portdnses_port_id_ports"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("port_id", name=op.f("pk_portdnses")),
    )
    op.create_table(
        "network_segment_ranges",
        sa.Column("default", sa.Boolean(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("network_type", sa.String(length=32), nullable=False),
        sa.Column("physical_network", sa.String(length=64), nullable=True),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("maximum", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_segment_ranges")),
    )
    with op.batch_alter_table("network_segment_ranges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_network_segment_ranges_network_type"),
                              ["network_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_network_segment_ranges_project_id"),
                              ["project_id"], unique=False)
    # No foreign key: on SQLite adding one means copying subnets, which other tables
    # reference (the copy's DROP TABLE would cascade to them). The segment service
    # keeps the reference valid (row locks on the segment).
    with op.batch_alter_table("subnets", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("segment_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_subnets_segment_id"), ["segment_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subnets", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_subnets_segment_id"))
        batch_op.drop_column("segment_id")
    op.drop_table("network_segment_ranges")
    op.drop_table("portdnses")
    op.drop_table("networkdnsdomains")
    op.drop_table("network_az_hints")
