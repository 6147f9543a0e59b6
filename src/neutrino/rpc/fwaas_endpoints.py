"""FWaaS v2 (issue 16): the L3 agents' call on topic ``q-firewall-plugin``
(upstream's): ``set_firewall_group_status(fwg_id, status)``, the status of a group as
the agent applied it (ACTIVE, DOWN; anything else is ERROR). Our agents also give
``expected``, the status they saw in their desired state: a group changed meanwhile
stays pending (services/fwaas_groups.py FirewallGroupService.set_status)."""

from __future__ import annotations

import logging
from typing import Any

import oslo_messaging

from neutrino.services.fwaas_groups import FirewallGroupService

LOG = logging.getLogger(__name__)


class FirewallEndpoint:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, groups: FirewallGroupService) -> None:
        self.groups = groups

    def set_firewall_group_status(self, context: Any, fwg_id: str, status: str,
                                  expected: str | None = None, **kwargs: Any) -> bool:
        changed = self.groups.set_status(fwg_id, status, expected)
        if changed:
            LOG.info("firewall group %s: %s (reported by %s)", fwg_id, status,
                     kwargs.get("host", "?"))
        return changed
