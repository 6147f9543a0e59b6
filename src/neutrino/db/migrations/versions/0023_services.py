"""Reserved slot (0023_services): filled by the branch that owns it.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 13:10:00
"""

from __future__ import annotations

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
