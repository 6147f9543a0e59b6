"""rbac policies

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 18:25:00

Networks' ``shared`` flag becomes an access_as_shared policy for every project
("*"), owned by the network's project, as upstream expresses it; the column goes.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_networks = sa.table("networks", sa.column("id", sa.String(36)),
                     sa.column("project_id", sa.String(255)),
                     sa.column("shared", sa.Boolean()))
_external = sa.table("externalnetworks", sa.column("network_id", sa.String(36)))
_policies = sa.table("rbacpolicies", sa.column("id", sa.String(36)),
                     sa.column("project_id", sa.String(255)),
                     sa.column("object_type", sa.String(64)),
                     sa.column("object_id", sa.String(36)),
                     sa.column("action", sa.String(255)),
                     sa.column("target_project", sa.String(255)))


def upgrade() -> None:
    op.create_table(
        "rbacpolicies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=255), nullable=False),
        sa.Column("target_project", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rbacpolicies")),
        sa.UniqueConstraint(
            "object_type", "object_id", "action", "target_project",
            name=op.f("uq_rbacpolicies_object_type_object_id_action_target_project"),
        ),
    )
    with op.batch_alter_table("rbacpolicies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rbacpolicies_object_id"), ["object_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_rbacpolicies_project_id"), ["project_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_rbacpolicies_target_project"),
                              ["target_project"], unique=False)

    conn = op.get_bind()
    shared = conn.execute(sa.select(_networks.c.id, _networks.c.project_id)
                          .where(_networks.c.shared.is_(True))).all()
    # External networks were visible to every project: a "*" access_as_external
    # policy each, as upstream creates with router:external.
    external = conn.execute(sa.select(_networks.c.id, _networks.c.project_id)
                            .where(_networks.c.id.in_(
                                sa.select(_external.c.network_id)))).all()
    rows = [(net_id, project, "access_as_shared") for net_id, project in shared]
    rows += [(net_id, project, "access_as_external") for net_id, project in external]
    if rows:
        conn.execute(_policies.insert(), [
            {"id": str(uuid.uuid4()), "project_id": project or "", "object_type": "network",
             "object_id": net_id, "action": action, "target_project": "*"}
            for net_id, project, action in rows])
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_column("shared")


def downgrade() -> None:
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shared", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    conn = op.get_bind()
    wildcard = (sa.select(_policies.c.object_id)
                .where(_policies.c.object_type == "network",
                       _policies.c.action == "access_as_shared",
                       _policies.c.target_project == "*"))
    conn.execute(_networks.update().where(_networks.c.id.in_(wildcard))
                 .values(shared=True))
    with op.batch_alter_table("rbacpolicies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rbacpolicies_target_project"))
        batch_op.drop_index(batch_op.f("ix_rbacpolicies_project_id"))
        batch_op.drop_index(batch_op.f("ix_rbacpolicies_object_id"))
    op.drop_table("rbacpolicies")
