"""QoS policy changes reach the L2 agents (issue 14): a policy or rule change makes
the agents of the networks using the policy resync, as a network update would (they
ask for their "l2" desired state, which carries each port's rules).

`cast` is built by the composition root (neutrino/core.py) on the process's agent
notifier; it gets a function listing the affected networks, called on the
notifier's thread, so the request that changed the policy waits for no query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.services.qos_policies import OBJECT_TYPE

LOG = logging.getLogger(__name__)
NB = models.QosNetworkPolicyBinding
PB = models.QosPortPolicyBinding

NetworkIds = Callable[[], list[str]]


def affected_networks(session: Session, policy_id: str) -> list[str]:
    """Networks whose ports' effective rules come from the policy."""
    direct = select(NB.network_id).where(NB.qos_policy_id == policy_id)
    via_ports = select(models.Port.network_id).join(PB, PB.port_id == models.Port.id) \
        .where(PB.qos_policy_id == policy_id)
    return sorted(set(session.scalars(direct)) | set(session.scalars(via_ports)))


class QosAgentNotifier:
    def __init__(self, db: Database, cast: Callable[[NetworkIds], None]) -> None:
        self.db = db
        # Sends network_update for the networks the function lists (never blocks).
        self.cast = cast

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._on_policy, OBJECT_TYPE, events.AFTER_UPDATE)

    def _on_policy(self, resource: str, event: str, payload: events.Payload) -> None:
        policy_id = payload.resource_id

        def networks() -> list[str]:
            return self.db.run(lambda s: affected_networks(s, policy_id), write=False)
        self.cast(networks)
