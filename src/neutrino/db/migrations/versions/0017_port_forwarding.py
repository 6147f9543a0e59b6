"""Floating IP port forwardings

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portforwardings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("floatingip_id", sa.String(36), nullable=False),
        sa.Column("internal_port_id", sa.String(36), nullable=False),
        sa.Column("internal_ip_address", sa.String(64), nullable=False),
        sa.Column("protocol", sa.String(40), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False)
          for name in ("external_port_start", "external_port_end",
                       "internal_port_start", "internal_port_end")],
        sa.Column("description", sa.String(255), nullable=False),
        sa.ForeignKeyConstraint(["floatingip_id"], ["floatingips.id"], ondelete="CASCADE",
                                name="fk_portforwardings_floatingip_id_floatingips"),
        sa.ForeignKeyConstraint(["internal_port_id"], ["ports.id"], ondelete="CASCADE",
                                name="fk_portforwardings_internal_port_id_ports"),
        sa.PrimaryKeyConstraint("id", name="pk_portforwardings"),
        sa.UniqueConstraint(
            "floatingip_id", "protocol", "external_port_start",
            name="uq_portforwardings_floatingip_id_protocol_external_port_start"),
    )
    op.create_index("ix_portforwardings_floatingip_id", "portforwardings",
                    ["floatingip_id"])
    op.create_index("ix_portforwardings_internal_port_id", "portforwardings",
                    ["internal_port_id"])


def downgrade() -> None:
    op.drop_table("portforwardings")
