"""Router HA: HA networks per project, HA router/agent bindings (l3-ha)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Schema slot reserved for its feature; filled in by that feature's change.
    pass


def downgrade() -> None:
    pass
