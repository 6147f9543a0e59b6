"""The load balancer agent's calls on topic n-lbaas-plugin (contract/lbaas.py):
``get_loadbalancers(host)``, its desired state, and ``update_statuses(host,
reports)``, what it applied and how the members are."""

from __future__ import annotations

from typing import Any

import oslo_messaging

from neutrino.contract.lbaas import LbaasState, LbStatusReport
from neutrino.services.octavia import LoadBalancingService


class LbaasEndpoint:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, service: LoadBalancingService) -> None:
        self.service = service

    def get_loadbalancers(self, context: Any, host: str, **kwargs: Any) -> LbaasState:
        return self.service.desired_state(host)

    def update_statuses(self, context: Any, host: str, reports: list[LbStatusReport],
                        **kwargs: Any) -> None:
        self.service.apply_report(host, reports)
