"""The metering agent's call on topic q-metering-plugin (upstream's; contract/
metering.py): ``get_sync_data_metering(host)``, the host's routers with their
labels and rules (services/desired_state/metering.py)."""

from __future__ import annotations

from typing import Any

import oslo_messaging
from sqlalchemy.orm import Session

from neutrino.contract.metering import MeteringState
from neutrino.services.desired_state import metering


class MeteringEndpoint:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, core: Any) -> None:
        self.db = core.db

    def get_sync_data_metering(self, context: Any, host: str, **kwargs: Any
                               ) -> MeteringState:
        """Everything the metering agent on `host` counts (upstream's extra
        arguments, e.g. router ids, are accepted and ignored: the agent always
        gets its whole state)."""
        def run(session: Session) -> MeteringState:
            return metering.build(session, host)
        state: MeteringState = self.db.run(run, write=False)
        return state
