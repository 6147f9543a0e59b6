"""Reliability: case-sensitive columns on MariaDB and other hardening

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Schema slot reserved for its feature; filled in by that feature's change.
    pass


def downgrade() -> None:
    pass
