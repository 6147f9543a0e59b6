"""external-net on networks (externalnetworks table): `router:external`, `is_default`.

As upstream, making a network external also gives every project access to it (an
access_as_external RBAC policy for "*", added by services/rbac_policies.py on the
network's PRECOMMIT events, which is what makes it visible to them); RBAC policies may
instead make it external for chosen projects only. A network stops
being external only when no router gateway or floating IP uses it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources import validators as v
from neutrino.resources.external_net import (
    EXTERNAL,
    IS_DEFAULT,
    DefaultExternalNetworkExists,
    ExternalNetworkInUse,
)
from neutrino.services import rbac
from neutrino.services.extensions import FilterBuilder

EN = models.ExternalNetwork
_CREATED = "neutrino.networks_created"  # session.info key


def is_external(session: Session, network_id: str) -> bool:
    return session.get(EN, network_id) is not None


def usable_external(session: Session, ctx: Context, network_id: str) -> bool:
    """An external network this caller may put gateways and floating IPs on: any for
    an admin, else its own or one an access_as_external policy opens to it."""
    network = session.get(models.Network, network_id)
    if network is None or not is_external(session, network_id):
        return False
    return (ctx.is_admin or network.project_id == ctx.project_id
            or rbac.is_shared_with(session, "network", network_id, ctx.project_id,
                                   rbac.EXTERNAL))


def external_ids_clause() -> Any:
    """Networks that are external (for visibility pre-filters)."""
    return models.Network.id.in_(select(EN.network_id))


class ExternalNetworks:
    """The network extension for `router:external` and `is_default`."""

    attribute = EXTERNAL
    # "shared" too: lists always ask for it (the get_network policy target), and
    # router:external belongs in that target (rule:external), even with fields=.
    attributes = (EXTERNAL, IS_DEFAULT, "shared")

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        external = bool(data.get(EXTERNAL))
        is_default = bool(data.get(IS_DEFAULT))
        if external:
            if is_default:
                self._check_single_default(session, item["id"])
            session.execute(insert(EN), {"network_id": item["id"], "is_default": is_default})
        item[EXTERNAL] = external
        item[IS_DEFAULT] = is_default and external
        # The create's answer (read back in this session) shows is_default even on an
        # internal network, as upstream's does.
        session.info.setdefault(_CREATED, set()).add(item["id"])

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        if EXTERNAL not in data and IS_DEFAULT not in data:
            return
        network_id = item["id"]
        external = data.get(EXTERNAL, old.get(EXTERNAL, False))
        is_default = bool(data.get(IS_DEFAULT, old.get(IS_DEFAULT, False))) and external
        if not external and old.get(EXTERNAL):
            self._check_unused(session, network_id)
            session.execute(delete(EN).where(EN.network_id == network_id))
        elif external:
            if is_default and not old.get(IS_DEFAULT):
                self._check_single_default(session, network_id)
            if old.get(EXTERNAL):
                session.execute(update(EN).where(EN.network_id == network_id)
                                .values(is_default=is_default))
            else:
                session.execute(insert(EN), {"network_id": network_id,
                                             "is_default": is_default})
        item[EXTERNAL] = bool(external)
        if external:
            item[IS_DEFAULT] = is_default
        else:
            item.pop(IS_DEFAULT, None)

    @staticmethod
    def _check_single_default(session: Session, network_id: str) -> None:
        other = session.scalars(select(EN.network_id).where(
            EN.is_default.is_(True), EN.network_id != network_id).limit(1)).first()
        if other is not None:
            raise DefaultExternalNetworkExists(net_id=other)

    @staticmethod
    def _check_unused(session: Session, network_id: str) -> None:
        used = session.scalars(select(models.Port.id).where(
            models.Port.network_id == network_id,
            models.Port.device_owner.in_(("network:router_gateway", "network:floatingip")))
            .limit(1)).first()
        if used is not None:
            raise ExternalNetworkInUse(net_id=network_id)

    def extend(self, session: Session, items: list[dict]) -> None:
        stmt = select(EN.network_id, EN.is_default)
        rows = dict(rows_for_ids(session, stmt, EN.network_id, [i["id"] for i in items]))
        created = session.info.get(_CREATED, ())
        for item in items:
            item[EXTERNAL] = item["id"] in rows
            # Upstream shows is_default on external networks only (and in the answer
            # to any create).
            if item["id"] in rows or item["id"] in created:
                item[IS_DEFAULT] = bool(rows.get(item["id"], False))
            else:
                item.pop(IS_DEFAULT, None)

    def filters(self) -> dict[str, FilterBuilder]:
        def external(values: list[str]) -> Any:
            wanted = {v.to_boolean(value) for value in values}
            if wanted == {True}:
                return external_ids_clause()
            if wanted == {False}:
                return ~external_ids_clause()
            return models.Network.id.is_not(None)

        def is_default(values: list[str]) -> Any:
            wanted = [v.to_boolean(value) for value in values]
            clause = models.Network.id.in_(select(EN.network_id).where(
                EN.is_default.in_(wanted)))
            if False in wanted:  # a network that is not external is not the default
                clause = clause | ~external_ids_clause()
            return clause
        return {EXTERNAL: external, IS_DEFAULT: is_default}


