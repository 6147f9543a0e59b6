"""Composes the L3 services (routers, interfaces, floating IPs, scheduling, agent
notifications) onto the Core and subscribes them to the events they need."""

from __future__ import annotations

from typing import Any

from neutrino.services import l3_agent_sync, l3_port_checks
from neutrino.services.deps import Deps
from neutrino.services.floatingips import FloatingIPService
from neutrino.services.l3_notifier import L3AgentNotifier
from neutrino.services.l3_scheduler import L3Scheduler, subscribe_agents
from neutrino.services.router_interfaces import RouterInterfaces
from neutrino.services.routers import RouterService


def attach(core: Any, deps: Deps) -> None:
    scheduler = L3Scheduler(deps.conf.agent_down_time)
    core.routers = RouterService(deps, core.ports, scheduler, core.policy)
    core.router_interfaces = RouterInterfaces(core.routers)
    core.floatingips = FloatingIPService(deps, core.ports)
    # Port deletes: router-owned ports are refused, floating IPs disassociated.
    core.floatingips.subscribe(deps.events)
    l3_port_checks.subscribe(deps.events)
    notifier = L3AgentNotifier(lambda: core.notifier)
    notifier.subscribe(deps.events)
    subscribe_agents(deps.events, deps.db, scheduler, notifier.routers_updated)
    l3_agent_sync.subscribe(deps.events, deps.db)  # floating IP status
