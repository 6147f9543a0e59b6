"""port attributes: trusted vif, uplink status, device profile

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 18:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _port_table(name: str, column: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("port_id", sa.String(length=36), nullable=False),
        column,
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["ports.id"],
            name=op.f(f"fk_{name}_port_id_ports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("port_id", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    _port_table("portuplinkstatuspropagation",
                sa.Column("propagate_uplink_status", sa.Boolean(), nullable=False))
    _port_table("portdeviceprofiles",
                sa.Column("device_profile", sa.String(length=255), nullable=True))
    _port_table("porttrusted", sa.Column("trusted", sa.Boolean(), nullable=False))


def downgrade() -> None:
    op.drop_table("porttrusted")
    op.drop_table("portdeviceprofiles")
    op.drop_table("portuplinkstatuspropagation")
