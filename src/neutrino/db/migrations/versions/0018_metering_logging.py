"""Metering labels and rules; security group logging

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meteringlabels",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(1024), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_meteringlabels"),
    )
    op.create_index("ix_meteringlabels_project_id", "meteringlabels", ["project_id"])
    op.create_table(
        "meteringlabelrules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("metering_label_id", sa.String(36), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("remote_ip_prefix", sa.String(64), nullable=True),
        sa.Column("source_ip_prefix", sa.String(64), nullable=True),
        sa.Column("destination_ip_prefix", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["metering_label_id"], ["meteringlabels.id"],
                                ondelete="CASCADE",
                                name="fk_meteringlabelrules_metering_label_id_meteringlabels"),
        sa.PrimaryKeyConstraint("id", name="pk_meteringlabelrules"),
    )
    op.create_index("ix_meteringlabelrules_metering_label_id", "meteringlabelrules",
                    ["metering_label_id"])
    _upgrade_logging()


def _upgrade_logging() -> None:
    """Security group logging: log objects (no foreign keys, as upstream)."""
    op.create_table(
        "logs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(36), nullable=False),
        sa.Column("resource_id", sa.String(36), nullable=True),
        sa.Column("target_id", sa.String(36), nullable=True),
        sa.Column("event", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_logs"),
    )
    op.create_index("ix_logs_project_id", "logs", ["project_id"])
    op.create_index("ix_logs_resource_id", "logs", ["resource_id"])
    op.create_index("ix_logs_target_id", "logs", ["target_id"])


def downgrade() -> None:
    op.drop_table("logs")
    op.drop_table("meteringlabelrules")
    op.drop_table("meteringlabels")
