"""FWaaS v2: firewall groups, policies, rules

Reserved slot: filled by the branch that builds the service.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 09:40:00
"""

from __future__ import annotations

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
