"""Small per-port attributes of ML2 extension drivers, one table each (upstream's
table names): uplink status propagation, the Cyborg device profile, trusted VIF,
the NUMA affinity policy.

A port without a row has the attribute's default (ports created before the table
existed, or created while the value was not given).
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import Base

__all__ = ["PortDeviceProfile", "PortNumaAffinityPolicy", "PortTrusted",
           "PortUplinkStatusPropagation"]

DEVICE_PROFILE_MAX_LEN = 255
NUMA_AFFINITY_POLICY_MAX_LEN = 16


class PortUplinkStatusPropagation(Base):
    __tablename__ = "portuplinkstatuspropagation"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    propagate_uplink_status: Mapped[bool] = mapped_column(Boolean, default=False)


class PortDeviceProfile(Base):
    __tablename__ = "portdeviceprofiles"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    device_profile: Mapped[str | None] = mapped_column(String(DEVICE_PROFILE_MAX_LEN))


class PortTrusted(Base):
    __tablename__ = "porttrusted"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    trusted: Mapped[bool] = mapped_column(Boolean)


class PortNumaAffinityPolicy(Base):
    __tablename__ = "portnumaaffinitypolicies"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    numa_affinity_policy: Mapped[str | None] = mapped_column(
        String(NUMA_AFFINITY_POLICY_MAX_LEN))
