"""default security group rules, default statefulness, flavors, inactive port bindings

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Upstream's templates: the rules every security group had before templates existed.
LEGACY_RULES = [
    ("egress", "IPv4", None, True, True, "Legacy default SG rule for egress traffic"),
    ("egress", "IPv6", None, True, True, "Legacy default SG rule for egress traffic"),
    ("ingress", "IPv4", "PARENT", True, False,
     "Legacy default SG rule for ingress traffic"),
    ("ingress", "IPv6", "PARENT", True, False,
     "Legacy default SG rule for ingress traffic"),
]


def upgrade() -> None:
    rules = op.create_table(
        "securitygroupdefaultrules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("ethertype", sa.String(length=40), nullable=False),
        sa.Column("protocol", sa.String(length=40), nullable=True),
        sa.Column("port_range_min", sa.Integer(), nullable=True),
        sa.Column("port_range_max", sa.Integer(), nullable=True),
        sa.Column("remote_ip_prefix", sa.String(length=255), nullable=True),
        sa.Column("remote_group_id", sa.String(length=36), nullable=True),
        sa.Column("remote_address_group_id", sa.String(length=36), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("used_in_default_sg", sa.Boolean(), nullable=False),
        sa.Column("used_in_non_default_sg", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_securitygroupdefaultrules")),
    )
    op.bulk_insert(rules, [
        {"id": str(uuid.uuid4()), "direction": direction, "ethertype": ethertype,
         "protocol": None, "port_range_min": None, "port_range_max": None,
         "remote_ip_prefix": None, "remote_group_id": remote,
         "remote_address_group_id": None, "description": description,
         "used_in_default_sg": in_default, "used_in_non_default_sg": in_other}
        for direction, ethertype, remote, in_default, in_other, description
        in LEGACY_RULES])

    op.create_table(
        "securitygroupdefaultstatefulness",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("stateful", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_securitygroupdefaultstatefulness")),
        sa.UniqueConstraint("scope", name=op.f("uq_securitygroupdefaultstatefulness_scope")),
    )

    op.create_table(
        "flavors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("service_type", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flavors")),
    )
    op.create_table(
        "serviceprofiles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("driver", sa.String(length=1024), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("metainfo", sa.String(length=4096), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serviceprofiles")),
    )
    op.create_table(
        "flavorserviceprofilebindings",
        sa.Column("flavor_id", sa.String(length=36), nullable=False),
        sa.Column("service_profile_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["flavor_id"], ["flavors.id"],
            name=op.f("fk_flavorserviceprofilebindings_flavor_id_flavors"),
            ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["service_profile_id"], ["serviceprofiles.id"],
            name=op.f("fk_flavorserviceprofilebindings_service_profile_id_serviceprofiles"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("flavor_id", "service_profile_id",
                                name=op.f("pk_flavorserviceprofilebindings")),
    )
    with op.batch_alter_table("flavorserviceprofilebindings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_flavorserviceprofilebindings_service_profile_id"),
            ["service_profile_id"], unique=False)

    op.create_table(
        "ml2_port_bindings_inactive",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("vnic_type", sa.String(length=64), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("vif_type", sa.String(length=64), nullable=False),
        sa.Column("vif_details", sa.Text(), nullable=False),
        sa.Column("segment_id", sa.String(length=36), nullable=True),
        sa.Column("driver", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["port_id"], ["ports.id"],
            name=op.f("fk_ml2_port_bindings_inactive_port_id_ports"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["networksegments.id"],
            name=op.f("fk_ml2_port_bindings_inactive_segment_id_networksegments"),
            ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("port_id", "host", name=op.f("pk_ml2_port_bindings_inactive")),
    )


def downgrade() -> None:
    op.drop_table("ml2_port_bindings_inactive")
    # Its index goes with it (MySQL refuses to drop an index a foreign key needs).
    op.drop_table("flavorserviceprofilebindings")
    op.drop_table("serviceprofiles")
    op.drop_table("flavors")
    op.drop_table("securitygroupdefaultstatefulness")
    op.drop_table("securitygroupdefaultrules")
