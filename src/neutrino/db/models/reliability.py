"""Rows that exist only to be locked.

`quota_locks`: one row per (project, resource) that MariaDB/MySQL creates lock
FOR UPDATE at commit to count the project's usage exactly (services/quotas.py);
PostgreSQL uses an advisory lock instead and SQLite serializes writers anyway.
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import Base

__all__ = ["QuotaLock"]


class QuotaLock(Base):
    __tablename__ = "quota_locks"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
