"""VPNaaS (issue 16): the L3 agents' cast on topic ``ipsec_driver`` (upstream's):
``update_status(status=[VpnServiceStatus, ...])``, the statuses of the VPN services
and their site connections as the agent runs them (contract/l3.py). A pending status
is replaced only when the agent acted on it (services/vpnaas_connections.py
VpnServiceService.update_status)."""

from __future__ import annotations

import logging
from typing import Any

import oslo_messaging

from neutrino.contract.l3 import VpnServiceStatus
from neutrino.services.vpnaas_connections import VpnServiceService

LOG = logging.getLogger(__name__)


class VpnEndpoint:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, services: VpnServiceService) -> None:
        self.services = services

    def update_status(self, context: Any, status: list[VpnServiceStatus] | None = None,
                      **kwargs: Any) -> int:
        if not isinstance(status, list):
            LOG.warning("update_status without a list of services (from %s)",
                        kwargs.get("host", "?"))
            return 0
        changed = self.services.update_status(
            [s for s in status if isinstance(s, dict)])
        if changed:
            LOG.info("VPN statuses: %d changed (reported by %s)", changed,
                     kwargs.get("host", "?"))
        return changed
