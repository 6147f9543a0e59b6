"""routers, external networks, floating ips, l3 agent scheduling

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 18:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _standard_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "externalnetworks",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"],
                                name=op.f("fk_externalnetworks_network_id_networks"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", name=op.f("pk_externalnetworks")),
    )
    op.create_table(
        "routers",
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("gw_port_id", sa.String(length=36), nullable=True),
        sa.Column("enable_snat", sa.Boolean(), nullable=False),
        sa.Column("flavor_id", sa.String(length=36), nullable=True),
        sa.Column("availability_zone_hints", sa.Text(), nullable=False),
        sa.Column("ha", sa.Boolean(), nullable=False),
        sa.Column("distributed", sa.Boolean(), nullable=False),
        *_standard_columns(),
        sa.ForeignKeyConstraint(["gw_port_id"], ["ports.id"],
                                name=op.f("fk_routers_gw_port_id_ports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routers")),
    )
    with op.batch_alter_table("routers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routers_project_id"), ["project_id"],
                              unique=False)

    op.create_table(
        "floatingips",
        sa.Column("floating_ip_address", sa.String(length=64), nullable=False),
        sa.Column("floating_network_id", sa.String(length=36), nullable=False),
        sa.Column("floating_port_id", sa.String(length=36), nullable=False),
        sa.Column("fixed_port_id", sa.String(length=36), nullable=True),
        sa.Column("fixed_ip_address", sa.String(length=64), nullable=True),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        *_standard_columns(),
        sa.ForeignKeyConstraint(["fixed_port_id"], ["ports.id"],
                                name=op.f("fk_floatingips_fixed_port_id_ports")),
        sa.ForeignKeyConstraint(["floating_network_id"], ["networks.id"],
                                name=op.f("fk_floatingips_floating_network_id_networks")),
        sa.ForeignKeyConstraint(["floating_port_id"], ["ports.id"],
                                name=op.f("fk_floatingips_floating_port_id_ports"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"],
                                name=op.f("fk_floatingips_router_id_routers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_floatingips")),
        sa.UniqueConstraint(
            "floating_network_id", "fixed_port_id", "fixed_ip_address",
            name=op.f("uq_floatingips_floating_network_id_fixed_port_id_fixed_ip_address")),
        sa.UniqueConstraint("floating_port_id", name=op.f("uq_floatingips_floating_port_id")),
    )
    with op.batch_alter_table("floatingips", schema=None) as batch_op:
        for column in ("fixed_port_id", "floating_network_id", "project_id", "router_id"):
            batch_op.create_index(batch_op.f(f"ix_floatingips_{column}"), [column],
                                  unique=False)

    op.create_table(
        "routerl3agentbindings",
        sa.Column("router_id", sa.String(length=36), nullable=False),
        sa.Column("l3_agent_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["l3_agent_id"], ["agents.id"],
                                name=op.f("fk_routerl3agentbindings_l3_agent_id_agents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"],
                                name=op.f("fk_routerl3agentbindings_router_id_routers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("router_id", "l3_agent_id",
                                name=op.f("pk_routerl3agentbindings")),
    )
    with op.batch_alter_table("routerl3agentbindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routerl3agentbindings_l3_agent_id"),
                              ["l3_agent_id"], unique=False)

    op.create_table(
        "routerports",
        sa.Column("router_id", sa.String(length=36), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("port_type", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["port_id"], ["ports.id"],
                                name=op.f("fk_routerports_port_id_ports"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"],
                                name=op.f("fk_routerports_router_id_routers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("router_id", "port_id", name=op.f("pk_routerports")),
        sa.UniqueConstraint("port_id", name=op.f("uq_routerports_port_id")),
    )
    op.create_table(
        "routerroutes",
        sa.Column("router_id", sa.String(length=36), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("nexthop", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"],
                                name=op.f("fk_routerroutes_router_id_routers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("router_id", "destination", "nexthop",
                                name=op.f("pk_routerroutes")),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop an index that a
    # foreign key needs on its own).
    op.drop_table("routerroutes")
    op.drop_table("routerports")
    op.drop_table("routerl3agentbindings")
    op.drop_table("floatingips")
    op.drop_table("routers")
    op.drop_table("externalnetworks")
