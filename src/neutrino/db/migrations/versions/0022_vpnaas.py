"""VPNaaS: IKE/IPsec policies, VPN services, endpoint groups, site connections

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

IKE, IPSEC, SERVICES = "vpn_ikepolicies", "vpn_ipsecpolicies", "vpn_services"
GROUPS, ENDPOINTS = "vpn_endpoint_groups", "vpn_endpoints"
CONNECTIONS, PEER_CIDRS = "vpn_connections", "vpn_peer_cidrs"


def _owned(table: str, *columns: sa.Column | sa.ForeignKeyConstraint) -> None:
    """A table with upstream's id, project, name and description."""
    op.create_table(
        table,
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    )
    op.create_index(f"ix_{table}_project_id", table, ["project_id"])


def _fk(table: str, column: str, referred: str, **kw: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"],
                                   name=f"fk_{table}_{column}_{referred}", **kw)


def _policy_columns() -> list[sa.Column]:
    return [sa.Column("auth_algorithm", sa.String(32), nullable=False),
            sa.Column("encryption_algorithm", sa.String(32), nullable=False),
            sa.Column("lifetime_units", sa.String(16), nullable=False),
            sa.Column("lifetime_value", sa.Integer(), nullable=False),
            sa.Column("pfs", sa.String(16), nullable=False)]


def upgrade() -> None:
    _owned(IKE, *_policy_columns(),
           sa.Column("phase1_negotiation_mode", sa.String(16), nullable=False),
           sa.Column("ike_version", sa.String(16), nullable=False))
    _owned(IPSEC, *_policy_columns(),
           sa.Column("transform_protocol", sa.String(16), nullable=False),
           sa.Column("encapsulation_mode", sa.String(16), nullable=False))
    _owned(SERVICES,
           sa.Column("status", sa.String(16), nullable=False),
           sa.Column("admin_state_up", sa.Boolean(), nullable=False),
           sa.Column("subnet_id", sa.String(36), nullable=True),
           sa.Column("router_id", sa.String(36), nullable=False),
           _fk(SERVICES, "subnet_id", "subnets"),
           _fk(SERVICES, "router_id", "routers"))
    for column in ("subnet_id", "router_id"):
        op.create_index(f"ix_{SERVICES}_{column}", SERVICES, [column])
    _owned(GROUPS, sa.Column("endpoint_type", sa.String(32), nullable=False))
    op.create_table(
        ENDPOINTS,
        sa.Column("endpoint_group_id", sa.String(36), nullable=False),
        sa.Column("endpoint", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _fk(ENDPOINTS, "endpoint_group_id", GROUPS, ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("endpoint_group_id", "endpoint", name=f"pk_{ENDPOINTS}"),
    )
    op.create_index(f"ix_{ENDPOINTS}_endpoint", ENDPOINTS, ["endpoint"])
    references = (("vpnservice_id", SERVICES), ("ikepolicy_id", IKE),
                  ("ipsecpolicy_id", IPSEC), ("local_ep_group_id", GROUPS),
                  ("peer_ep_group_id", GROUPS))
    _owned(CONNECTIONS,
           sa.Column("peer_address", sa.String(255), nullable=False),
           sa.Column("peer_id", sa.String(255), nullable=False),
           sa.Column("local_id", sa.String(255), nullable=False),
           sa.Column("route_mode", sa.String(8), nullable=False),
           sa.Column("mtu", sa.Integer(), nullable=False),
           sa.Column("initiator", sa.String(16), nullable=False),
           sa.Column("auth_mode", sa.String(16), nullable=False),
           sa.Column("psk", sa.String(255), nullable=False),
           sa.Column("dpd_action", sa.String(16), nullable=False),
           sa.Column("dpd_interval", sa.Integer(), nullable=False),
           sa.Column("dpd_timeout", sa.Integer(), nullable=False),
           sa.Column("status", sa.String(16), nullable=False),
           sa.Column("admin_state_up", sa.Boolean(), nullable=False),
           sa.Column("vpnservice_id", sa.String(36), nullable=False),
           sa.Column("ikepolicy_id", sa.String(36), nullable=False),
           sa.Column("ipsecpolicy_id", sa.String(36), nullable=False),
           sa.Column("local_ep_group_id", sa.String(36), nullable=True),
           sa.Column("peer_ep_group_id", sa.String(36), nullable=True),
           *[_fk(CONNECTIONS, column, referred) for column, referred in references])
    for column, _ in references:
        op.create_index(f"ix_{CONNECTIONS}_{column}", CONNECTIONS, [column])
    op.create_table(
        PEER_CIDRS,
        sa.Column("ipsec_site_connection_id", sa.String(36), nullable=False),
        sa.Column("cidr", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _fk(PEER_CIDRS, "ipsec_site_connection_id", CONNECTIONS, ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ipsec_site_connection_id", "cidr",
                                name=f"pk_{PEER_CIDRS}"),
    )


def downgrade() -> None:
    for table in (PEER_CIDRS, CONNECTIONS, ENDPOINTS, GROUPS, SERVICES, IPSEC, IKE):
        op.drop_table(table)
