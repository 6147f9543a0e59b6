"""Network segment ranges, network availability-zone hints and DNS attributes of
networks and ports.

(Routed segments use `networksegments` and `subnets.segment_id`.)
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import Base, StandardAttrs

# Upstream's limit on the stored hints (a JSON list of names).
AZ_HINTS_LEN = 255
FQDN_LEN = 255


class NetworkAZHints(Base):
    """A network's availability_zone_hints, as the JSON list upstream stores (one
    row per network that has hints)."""

    __tablename__ = "network_az_hints"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    hints: Mapped[str] = mapped_column(String(AZ_HINTS_LEN))


class NetworkDNSDomain(Base):
    """A network's dns_domain (one row per network that has one)."""

    __tablename__ = "networkdnsdomains"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    dns_domain: Mapped[str] = mapped_column(String(FQDN_LEN))


class PortDNS(Base):
    """A port's dns_name and dns_domain (one row per port that set either)."""

    __tablename__ = "portdnses"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    dns_name: Mapped[str] = mapped_column(String(FQDN_LEN), default="")
    dns_domain: Mapped[str] = mapped_column(String(FQDN_LEN), default="")


class NetworkSegmentRange(StandardAttrs, Base):
    """Segmentation ids projects' networks get: `default` ranges mirror the
    configuration; others are an administrator's, shared or for one project."""

    __tablename__ = "network_segment_ranges"

    default: Mapped[bool] = mapped_column(Boolean, default=False)
    shared: Mapped[bool] = mapped_column(Boolean, default=True)
    network_type: Mapped[str] = mapped_column(String(32), index=True)
    physical_network: Mapped[str | None] = mapped_column(String(64))
    minimum: Mapped[int] = mapped_column(Integer)
    maximum: Mapped[int] = mapped_column(Integer)
