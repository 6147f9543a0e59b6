"""Composes QoS onto the Core: the policy service, `qos_policy_id` on networks and
ports (appended to their resource extensions), the `qos_policy` RBAC object type
and the agent notifications of policy changes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.db import models
from neutrino.rpc import topics
from neutrino.rpc.notifier import Cast
from neutrino.services.deps import Deps
from neutrino.services.qos_bindings import NetworkQos, PortQos, validate_use
from neutrino.services.qos_drivers import QosDrivers
from neutrino.services.qos_policies import OBJECT_TYPE, QosPolicyService

LOG = logging.getLogger(__name__)
NB = models.QosNetworkPolicyBinding
PB = models.QosPortPolicyBinding


def affected_networks(session: Session, policy_id: str) -> list[str]:
    """Networks whose ports' effective rules come from the policy."""
    direct = select(NB.network_id).where(NB.qos_policy_id == policy_id)
    via_ports = select(models.Port.network_id).join(PB, PB.port_id == models.Port.id) \
        .where(PB.qos_policy_id == policy_id)
    return sorted(set(session.scalars(direct)) | set(session.scalars(via_ports)))


class QosAgentNotifier:
    """A policy change makes the L2 agents of the networks using it resync (as a
    network update: they ask for their desired state, which carries the rules)."""

    def __init__(self, db: Any, notifier: Callable[[], Any]) -> None:
        self.db = db
        self.notifier = notifier

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._on_policy, OBJECT_TYPE, events.AFTER_UPDATE)

    def _on_policy(self, resource: str, event: str, payload: events.Payload) -> None:
        notifier = self.notifier()
        if notifier is None:
            return
        policy_id = payload.resource_id

        def casts() -> list[Cast]:
            ids = self.db.run(lambda s: affected_networks(s, policy_id), write=False)
            return [Cast(topics.NETWORK_UPDATE, "network_update",
                         {"network": {"id": i, "revision_number": None}}) for i in ids]
        notifier.enqueue(casts)


def attach(core: Any, deps: Deps) -> None:
    drivers = QosDrivers(deps.conf.ml2.mechanism_drivers)
    core.qos_drivers = drivers
    core.qos_policies = QosPolicyService(deps, validate_use(drivers))
    core.networks.extensions.append(NetworkQos(drivers))
    core.ports.extensions.append(PortQos(drivers))
    QosAgentNotifier(deps.db, lambda: core.notifier).subscribe(deps.events)
