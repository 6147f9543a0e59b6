"""ipallocations.position: a port's addresses in allocation order

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows get 0: their relative order stays the old one (subnet, address).
    with op.batch_alter_table("ipallocations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), server_default="0",
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("ipallocations", schema=None) as batch_op:
        batch_op.drop_column("position")
