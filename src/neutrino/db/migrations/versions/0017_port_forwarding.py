"""Floating IP port forwardings

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Schema slot reserved for its feature; filled in by that feature's change.
    pass


def downgrade() -> None:
    pass
