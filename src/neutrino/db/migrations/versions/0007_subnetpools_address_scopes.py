"""subnet pools and address scopes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 18:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address_scopes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_scopes")),
    )
    with op.batch_alter_table("address_scopes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_address_scopes_project_id"), ["project_id"],
                              unique=False)

    op.create_table(
        "subnetpools",
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("default_prefixlen", sa.Integer(), nullable=False),
        sa.Column("min_prefixlen", sa.Integer(), nullable=False),
        sa.Column("max_prefixlen", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("default_version", sa.Integer(), nullable=True),
        sa.Column("default_quota", sa.Integer(), nullable=True),
        sa.Column("address_scope_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["address_scope_id"], ["address_scopes.id"],
            name=op.f("fk_subnetpools_address_scope_id_address_scopes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subnetpools")),
        sa.UniqueConstraint("default_version", name=op.f("uq_subnetpools_default_version")),
    )
    with op.batch_alter_table("subnetpools", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subnetpools_address_scope_id"),
                              ["address_scope_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subnetpools_project_id"), ["project_id"],
                              unique=False)

    op.create_table(
        "subnetpoolprefixes",
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("subnetpool_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["subnetpool_id"], ["subnetpools.id"],
            name=op.f("fk_subnetpoolprefixes_subnetpool_id_subnetpools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cidr", "subnetpool_id", name=op.f("pk_subnetpoolprefixes")),
    )
    with op.batch_alter_table("subnetpoolprefixes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subnetpoolprefixes_subnetpool_id"),
                              ["subnetpool_id"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop an index a foreign
    # key needs on its own).
    op.drop_table("subnetpoolprefixes")
    op.drop_table("subnetpools")
    op.drop_table("address_scopes")
