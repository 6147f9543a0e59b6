"""Metering labels and rules; security group logging

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Schema slot reserved for its feature; filled in by that feature's change.
    pass


def downgrade() -> None:
    pass
