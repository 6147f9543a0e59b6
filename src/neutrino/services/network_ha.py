"""The network extension network_ha: a network created with `ha` true is recorded
(the attribute is never shown and cannot change, as upstream)."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.db import models
from neutrino.resources import network_ha
from neutrino.services.extensions import FilterBuilder


class NetworkHA:
    attribute = network_ha.HA
    attributes = (network_ha.HA,)

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        if data.get(network_ha.HA):
            session.execute(insert(models.NetworkHA).values(network_id=item["id"]))

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        """`ha` cannot change (allow_put is false)."""

    def extend(self, session: Session, items: list[dict]) -> None:
        """Not visible: nothing to add."""

    def filters(self) -> dict[str, FilterBuilder]:
        return {}
