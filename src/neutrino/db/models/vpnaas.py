"""VPNaaS (issue 16): IKE and IPsec policies, VPN services on routers, endpoint
groups and IPsec site connections, as upstream's neutron-vpnaas tables.

As upstream's, these are not "standard attribute" resources (no revision,
timestamps or tags). A connection refers to its service, policies and endpoint
groups without cascading: each of those refuses its delete while a connection uses
it (VPNServiceInUse, IKEPolicyInUse, ...); a connection's peer CIDRs and a group's
endpoints go with their owner. A service's router and subnet are checked by the
service layer (RouterInUse, SubnetInUseByVPNService) before they could go.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base

__all__ = ["IKEPolicy", "IPsecPeerCidr", "IPsecPolicy", "IPsecSiteConnection",
           "VPNEndpoint", "VPNEndpointGroup", "VPNService"]

DESCRIPTION_LEN = 255


class IKEPolicy(Base):
    __tablename__ = "vpn_ikepolicies"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    auth_algorithm: Mapped[str] = mapped_column(String(32))
    encryption_algorithm: Mapped[str] = mapped_column(String(32))
    phase1_negotiation_mode: Mapped[str] = mapped_column(String(16))
    lifetime_units: Mapped[str] = mapped_column(String(16))
    lifetime_value: Mapped[int] = mapped_column(Integer)
    ike_version: Mapped[str] = mapped_column(String(16))
    pfs: Mapped[str] = mapped_column(String(16))


class IPsecPolicy(Base):
    __tablename__ = "vpn_ipsecpolicies"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    transform_protocol: Mapped[str] = mapped_column(String(16))
    auth_algorithm: Mapped[str] = mapped_column(String(32))
    encryption_algorithm: Mapped[str] = mapped_column(String(32))
    encapsulation_mode: Mapped[str] = mapped_column(String(16))
    lifetime_units: Mapped[str] = mapped_column(String(16))
    lifetime_value: Mapped[int] = mapped_column(Integer)
    pfs: Mapped[str] = mapped_column(String(16))


class VPNService(Base):
    __tablename__ = "vpn_services"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    status: Mapped[str] = mapped_column(String(16))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # Legacy mode: the one local subnet (null: endpoint groups say it per connection).
    subnet_id: Mapped[str | None] = mapped_column(ForeignKey("subnets.id"), index=True)
    router_id: Mapped[str] = mapped_column(ForeignKey("routers.id"), index=True)


class VPNEndpointGroup(Base):
    __tablename__ = "vpn_endpoint_groups"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    endpoint_type: Mapped[str] = mapped_column(String(32))


class VPNEndpoint(Base):
    """One endpoint of a group (a subnet id, a CIDR, ...), in the order given."""

    __tablename__ = "vpn_endpoints"

    endpoint_group_id: Mapped[str] = mapped_column(
        ForeignKey("vpn_endpoint_groups.id", ondelete="CASCADE"), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class IPsecSiteConnection(Base):
    __tablename__ = "vpn_connections"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    peer_address: Mapped[str] = mapped_column(String(255))
    peer_id: Mapped[str] = mapped_column(String(255))
    local_id: Mapped[str] = mapped_column(String(255), default="")
    route_mode: Mapped[str] = mapped_column(String(8))
    mtu: Mapped[int] = mapped_column(Integer)
    initiator: Mapped[str] = mapped_column(String(16))
    auth_mode: Mapped[str] = mapped_column(String(16))
    psk: Mapped[str] = mapped_column(String(255))
    dpd_action: Mapped[str] = mapped_column(String(16))
    dpd_interval: Mapped[int] = mapped_column(Integer)
    dpd_timeout: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    vpnservice_id: Mapped[str] = mapped_column(ForeignKey("vpn_services.id"), index=True)
    ikepolicy_id: Mapped[str] = mapped_column(ForeignKey("vpn_ikepolicies.id"),
                                              index=True)
    ipsecpolicy_id: Mapped[str] = mapped_column(ForeignKey("vpn_ipsecpolicies.id"),
                                                index=True)
    local_ep_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("vpn_endpoint_groups.id"), index=True)
    peer_ep_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("vpn_endpoint_groups.id"), index=True)


class IPsecPeerCidr(Base):
    __tablename__ = "vpn_peer_cidrs"

    ipsec_site_connection_id: Mapped[str] = mapped_column(
        ForeignKey("vpn_connections.id", ondelete="CASCADE"),
        primary_key=True)
    cidr: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
