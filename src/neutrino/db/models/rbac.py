"""RBAC policies: which projects may use (access_as_shared) or attach routers to
(access_as_external) another project's object.

One table for every object type (upstream keeps one per type): lists, quota counts
and the policy's own lookups stay single queries, and the unique key is the same for
every type. Rows go away with their object (the object's delete removes them in its
transaction: `neutrino.services.rbac.delete_for_object`).
"""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base

__all__ = ["RbacPolicy"]


class RbacPolicy(Base):
    __tablename__ = "rbacpolicies"
    # One entry per (object, action, target): a second identical one is a 409.
    __table_args__ = (UniqueConstraint("object_type", "object_id", "action",
                                       "target_project"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    action: Mapped[str] = mapped_column(String(255))
    # A project id, or "*" for every project.
    target_project: Mapped[str] = mapped_column(String(255), index=True)
