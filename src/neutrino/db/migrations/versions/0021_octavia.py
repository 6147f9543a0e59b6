"""Load balancing (Octavia v2 API): load balancers, listeners, pools, members, health monitors, L7

Reserved slot: filled by the branch that builds the service.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 09:40:00
"""

from __future__ import annotations

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
