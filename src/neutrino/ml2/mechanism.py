"""MechanismManager: binds ports with the configured mechanism drivers.

Binding a port to a host means finding a (driver, segment) pair where the driver
can plug the port on that host into that segment of the port's network. The
drivers are tried in the order of ``[ml2] mechanism_drivers``, each over the
network's segments in ``segment_index`` order; the first that binds wins. When none
does, the port's vif_type is ``binding_failed`` and the reasons are logged.

Contract: `bind` runs inside the request's transaction (port create/update, or an
agent's RPC call). It reads the database and decides; it writes nothing and does
no I/O besides logging. Drivers' decisions are pure functions of what they are
given (segment, agents on the host, vnic type), so they are tested without a
database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from oslo_config import cfg
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from neutrino.db import models
from neutrino.resources.port_binding import VIF_TYPE_BINDING_FAILED

LOG = logging.getLogger(__name__)
NS = models.NetworkSegment
A = models.Agent


@dataclass(frozen=True)
class Segment:
    id: str
    network_type: str
    physical_network: str | None
    segmentation_id: int | None


@dataclass(frozen=True)
class BindRequest:
    """What a driver knows when asked to bind: the port, the host and its agents
    (as /v2.0/agents shows them: agent_type, alive, admin_state_up,
    configurations, ...)."""

    port_id: str
    host: str
    vnic_type: str
    profile: dict
    agents: list[dict] = field(default_factory=list)
    # A trunk's sub-port: carried on a VLAN sub-interface of its parent's device,
    # so only by an agent that can make one (trunk, issue 14).
    subport: bool = False
    # The trunk whose parent the port is, if any: on Open vSwitch the parent is
    # plugged into that trunk's bridge, not br-int (upstream's OVS trunk driver).
    trunk_id: str | None = None


@dataclass(frozen=True)
class Binding:
    """A driver's answer: how the port is plugged, on which segment, by whom."""

    vif_type: str
    vif_details: dict
    segment_id: str | None
    driver: str | None


FAILED = Binding(VIF_TYPE_BINDING_FAILED, {}, None, None)


class MechanismDriver(Protocol):
    name: str

    def bind(self, request: BindRequest, segment: Segment) -> tuple[Binding | None, str]:
        """(the binding, "") when this driver binds the port on `segment`, else
        (None, why not)."""


def _drivers_by_name() -> dict[str, Any]:
    # Imported here: the drivers import this module's types.
    from neutrino.ml2.linuxbridge import LinuxBridgeMechanismDriver
    from neutrino.ml2.openvswitch import OpenvswitchMechanismDriver
    return {LinuxBridgeMechanismDriver.name: LinuxBridgeMechanismDriver,
            OpenvswitchMechanismDriver.name: OpenvswitchMechanismDriver}


_SEGMENTS = (select(NS.id, NS.network_type, NS.physical_network, NS.segmentation_id)
             .where(NS.network_id == bindparam("network_id"))
             .order_by(NS.segment_index))


class MechanismManager:
    def __init__(self, conf: cfg.ConfigOpts, agent_dicts: Any) -> None:
        """`agent_dicts(rows)` turns agent rows into the API's dicts (with `alive`):
        AgentService.to_dicts, so liveness is computed in one place."""
        known = _drivers_by_name()
        self.drivers: list[MechanismDriver] = []
        for name in conf.ml2.mechanism_drivers:
            name = name.strip()
            if not name:
                continue
            if name not in known:
                raise ValueError(f"[ml2] mechanism_drivers: unknown driver '{name}' "
                                 f"(known: {', '.join(sorted(known))})")
            self.drivers.append(known[name]())
        self.agent_dicts = agent_dicts

    def segments(self, session: Session, network_id: str) -> list[Segment]:
        rows = session.connection().execute(_SEGMENTS, {"network_id": network_id})
        return [Segment(*row) for row in rows]

    def host_agents(self, session: Session, host: str) -> list[dict]:
        rows = session.scalars(select(A).where(A.host == host)).all()
        return self.agent_dicts(list(rows))

    def bind(self, session: Session, port_id: str, network_id: str, host: str,
             vnic_type: str, profile: dict) -> Binding:
        subport = session.get(models.SubPort, port_id) is not None
        trunk_id = session.scalar(select(models.Trunk.id)
                                  .where(models.Trunk.port_id == port_id))
        request = BindRequest(port_id, host, vnic_type, profile,
                              self.host_agents(session, host), subport, trunk_id)
        binding, reasons = decide(self.drivers, request, self.segments(session, network_id))
        if binding.vif_type == VIF_TYPE_BINDING_FAILED:
            LOG.info("Failed to bind port %s on host %s for vnic_type %s: %s", port_id,
                     host, vnic_type, "; ".join(reasons) or "no mechanism driver")
        else:
            LOG.debug("Bound port %s on host %s: driver %s, segment %s, vif_type %s",
                      port_id, host, binding.driver, binding.segment_id, binding.vif_type)
        return binding


def decide(drivers: list[MechanismDriver], request: BindRequest,
           segments: list[Segment]) -> tuple[Binding, list[str]]:
    """The first (driver, segment) that binds, in order; else FAILED and why each
    refused (pure)."""
    reasons: list[str] = []
    if not segments:
        return FAILED, ["the network has no segments"]
    for driver in drivers:
        for segment in segments:
            binding, why = driver.bind(request, segment)
            if binding is not None:
                # Which driver bound at each level, as upstream ML2 reports it.
                details = dict(binding.vif_details, bound_drivers={"0": driver.name})
                return Binding(binding.vif_type, details, segment.id, driver.name), []
            reasons.append(f"{driver.name}: {why}")
    return FAILED, reasons
