"""Load balancing (Octavia v2 API): load balancers, listeners, pools, members, health monitors, L7

One table for every Octavia object (db/models/octavia.py says why) and one for the
per-project quotas of /v2/lbaas/quotas.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lbaas_objects",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("loadbalancer_id", sa.String(36), nullable=False),
        sa.Column("parent_id", sa.String(36), nullable=False),
        sa.Column("provisioning_status", sa.String(16), nullable=False),
        sa.Column("operating_status", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_lbaas_objects"),
    )
    for column in ("kind", "project_id", "loadbalancer_id", "parent_id", "host"):
        op.create_index(f"ix_lbaas_objects_{column}", "lbaas_objects", [column])
    op.create_table(
        "lbaas_quotas",
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(32), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource", name="pk_lbaas_quotas"),
    )


def downgrade() -> None:
    op.drop_table("lbaas_quotas")
    for column in ("kind", "project_id", "loadbalancer_id", "parent_id", "host"):
        op.drop_index(f"ix_lbaas_objects_{column}", "lbaas_objects")
    op.drop_table("lbaas_objects")
