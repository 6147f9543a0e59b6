"""Load balancing (issue 16, the Octavia v2 API): its objects and quotas.

Every Octavia object (load balancer, listener, pool, member, health monitor, L7
policy, L7 rule) is one row of `lbaas_objects`: what the server decides on is in
columns (kind, project, the load balancer it belongs to, its parent, the two
statuses, the agent's host), the rest of its fields (names, timeouts, TLS
references, health check settings…) is the JSON document `body`, which the
server validates on the way in and hands to the agent as is. A load balancer's
objects are always read together (the status tree, the agent's desired state),
so one table with an index on `loadbalancer_id` serves them in one query.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.models.base import UUID_LEN, Base, utcnow

__all__ = ["LbObject", "LbQuota"]


class LbObject(Base):
    __tablename__ = "lbaas_objects"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    # loadbalancer | listener | pool | member | healthmonitor | l7policy | l7rule
    kind: Mapped[str] = mapped_column(String(16), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    loadbalancer_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    # The pool of a member or health monitor, the listener of an L7 policy, the
    # policy of an L7 rule; the load balancer for listeners and pools.
    parent_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    provisioning_status: Mapped[str] = mapped_column(String(16))
    operating_status: Mapped[str] = mapped_column(String(16))
    # The host whose agent runs the load balancer (load balancers only).
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    # Bumped on each change of the load balancer or one of its objects: the agent
    # reports the revision it applied, so a change made meanwhile stays pending.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class LbQuota(Base):
    __tablename__ = "lbaas_quotas"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # load_balancer | listener | pool | member | health_monitor | l7policy | l7rule
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
