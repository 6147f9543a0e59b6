"""GET /v2.0/floatingip-pools (and floatingip_pools): the IPv4 subnets of the external
networks the caller may take floating IPs from.

As upstream: one entry per IPv4 subnet (no fip64 here, so no IPv6 pools), owned by
the caller's project whatever the subnet's owner. Upstream lists every external
network's subnets; here a project sees those of the external networks it may use
(its own, or opened to it by an access_as_external / access_as_shared policy), the
same set its floating IP creates accept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, select, true
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses
from neutrino.resources.floatingip_pool import FLOATINGIP_POOL
from neutrino.services import rbac
from neutrino.services.deps import Deps
from neutrino.services.external_networks import external_ids_clause

S, N = models.Subnet, models.Network
COLUMNS = {"id": S.id, "subnet_id": S.id, "subnet_name": S.name,
           "network_id": S.network_id, "cidr": S.cidr}


class FloatingIPPoolService:
    resource = FLOATINGIP_POOL
    model = S

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def owner_filter(name: str, pairs: list[tuple[str, str]]) -> Any:
            if name not in ("project_id", "tenant_id"):
                raise exc.HTTPBadRequest(f"['{name}'] is invalid attribute for filtering")
            # Every pool is shown as the caller's own.
            return true() if any(v == ctx.project_id for _, v in pairs) else false()

        def run(session: Session) -> list[dict]:
            networks = select(N.id).where(external_ids_clause())
            if not ctx.is_admin:
                networks = networks.where(rbac.visible_clause(
                    N, "network", ctx, (rbac.SHARED, rbac.EXTERNAL)))
            stmt = select(S.id, S.name, S.network_id, S.cidr).where(
                S.ip_version == 4, S.network_id.in_(networks),
                *filter_clauses(S, query, COLUMNS, owner_filter))
            rows = fetch_page(session, stmt, query, COLUMNS, S,
                              lambda i: exc.SubnetNotFound(subnet_id=i), scalars=False)
            return [{"id": r.id, "subnet_id": r.id, "subnet_name": r.name,
                     "network_id": r.network_id, "cidr": r.cidr,
                     "project_id": ctx.project_id, "tenant_id": ctx.project_id}
                    for r in rows]
        return self.deps.db.run(run, write=False)
