"""network_ha: the networks created with `ha` true.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 18:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_ha",
        sa.Column("network_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"],
                                name=op.f("fk_network_ha_network_id_networks"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", name=op.f("pk_network_ha")))


def downgrade() -> None:
    op.drop_table("network_ha")
