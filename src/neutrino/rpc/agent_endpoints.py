"""The agents' level-triggered calls on topic q-plugin (docs/rpc.md):
``get_desired_state`` (l2, dhcp, l3: services/desired_state) and the DHCP agent's
``get_dhcp_port`` / ``release_dhcp_port``.

The DHCP port is created, claimed or deleted through the port service, so address
allocation, MAC generation, binding and the events (hence the notifications) are
those of an API request; as upstream, it counts against no quota.
"""

from __future__ import annotations

import logging
from typing import Any

import oslo_messaging
from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.contract.dhcp import DhcpPort
from neutrino.contract.kinds import KINDS, DesiredState
from neutrino.db import models
from neutrino.resources.port import PORT
from neutrino.rpc.deps import ServerServices
from neutrino.services.desired_state import DesiredStates, unknown_kind
from neutrino.services.dhcp_scheduler import DHCP_OWNER, RESERVED_DHCP_PORT, dhcp_device_id

LOG = logging.getLogger(__name__)
P = models.Port
PB = models.PortBinding
HOST_ID = "binding:host_id"
# get_dhcp_port: reads of the network's subnets, each beaten by a subnet delete.
_SUBNET_RACE_ATTEMPTS = 3


class AgentEndpoint:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, core: ServerServices) -> None:
        self.db = core.db
        self.events = core.events
        self.ports = core.ports
        # The DHCP agent serves each port under its dns_assignment, as the API shows it.
        self.states = DesiredStates(core.conf)

    # -- desired state ------------------------------------------------------------

    def get_desired_state(self, context: Any, host: str, kind: str, **kwargs: Any
                          ) -> DesiredState:
        if kind not in KINDS:
            # The caller gets it back as a ValueError naming the kinds there are.
            raise unknown_kind(kind)
        result: DesiredState = self.db.run(
            lambda session: self.states.build(session, host, kind), write=False)
        return result

    # -- the DHCP agent's port ---------------------------------------------------------

    def get_dhcp_port(self, context: Any, host: str, network_id: str, **kwargs: Any
                      ) -> DhcpPort | None:
        """The network's DHCP port of `host`'s agent: the existing one (given an
        address on DHCP-enabled subnets it lacks), else a reserved one claimed, else a
        new one. None when the network does not exist (or went away meanwhile).

        A subnet deleted between reading the network's subnets and writing the port
        is a race, not the end: read again (a few times) and ask for what is there.
        """
        for attempt in range(1, _SUBNET_RACE_ATTEMPTS + 1):
            try:
                port_id = self._ensure_dhcp_port(host, network_id)
                break
            except exc.NotFound:
                return None  # the network (or the port) went away meanwhile
            except exc.InvalidInput:
                # "fixed_ips included invalid subnet": one we read was deleted
                # since. Not a race if it stays so: the last attempt raises.
                if attempt == _SUBNET_RACE_ATTEMPTS:
                    raise
        if port_id is None:
            return None
        found_id: str = port_id
        port: DhcpPort | None = self.db.run(
            lambda s: self.states.dhcp_port(s, found_id), write=False)
        return port

    def _ensure_dhcp_port(self, host: str, network_id: str) -> str | None:
        device_id = dhcp_device_id(host, network_id)
        found = self.db.run(lambda s: self._find(s, network_id, device_id), write=False)
        if found is None:
            return None
        port_id, owner, dhcp_subnets, have = found
        ctx = Context.admin(owner)
        if port_id is None:
            port_id = self._claim_reserved(ctx, host, network_id, device_id)
            if port_id is not None:
                have = self.db.run(lambda s: set(s.scalars(
                    select(models.IPAllocation.subnet_id).where(
                        models.IPAllocation.port_id == port_id))), write=False)
        if port_id is None:
            port_id = self._create(ctx, host, network_id, owner, device_id,
                                   dhcp_subnets)
        elif missing := [s for s in dhcp_subnets if s not in have]:
            current = self.ports.get(ctx, port_id)["fixed_ips"]
            self.ports.update(ctx, port_id, {"fixed_ips": [
                {"subnet_id": i["subnet_id"], "ip_address": i["ip_address"]}
                for i in current] + [{"subnet_id": s} for s in missing]})
        return port_id

    def release_dhcp_port(self, context: Any, host: str, network_id: str,
                          **kwargs: Any) -> bool:
        """Delete `host`'s DHCP port on the network; False when there was none."""
        device_id = dhcp_device_id(host, network_id)

        def run(session: Session) -> list[str]:
            return list(session.scalars(select(P.id).where(
                P.network_id == network_id, P.device_id == device_id)))
        released = False
        for port_id in self.db.run(run, write=False):
            try:
                self.ports.delete(Context.admin(), port_id)
                released = True
            except exc.NotFound:
                pass
        return released

    @staticmethod
    def _find(session: Session, network_id: str, device_id: str
              ) -> tuple[str | None, str, list[str], set[str]] | None:
        network = session.get(models.Network, network_id)
        if network is None:
            return None
        dhcp_subnets = list(session.scalars(select(models.Subnet.id).where(
            models.Subnet.network_id == network_id, models.Subnet.enable_dhcp.is_(True))
            .order_by(models.Subnet.created_at, models.Subnet.id)))
        port_id = session.scalars(select(P.id).where(
            P.network_id == network_id, P.device_id == device_id)).first()
        have = set(session.scalars(select(models.IPAllocation.subnet_id).where(
            models.IPAllocation.port_id == port_id))) if port_id else set()
        return port_id, network.project_id, dhcp_subnets, have

    def _claim_reserved(self, ctx: Context, host: str, network_id: str,
                        device_id: str) -> str | None:
        """A DHCP port left by the network's previous agent keeps its addresses for
        the next one (upstream's reserved_dhcp_port)."""
        def run(session: Session) -> str | None:
            return session.scalars(select(P.id).where(
                P.network_id == network_id, P.device_id == RESERVED_DHCP_PORT,
                P.device_owner == DHCP_OWNER).order_by(P.created_at)).first()
        port_id = self.db.run(run, write=False)
        if port_id is None:
            return None
        data: dict[str, Any] = {"device_id": device_id}
        if self._binding_attr():
            data[HOST_ID] = host
        self.ports.update(ctx, port_id, data)
        if not self._binding_attr():
            self._write_binding(port_id, host)
        return port_id

    def _create(self, ctx: Context, host: str, network_id: str, owner: str,
                device_id: str, dhcp_subnets: list[str]) -> str:
        item: dict[str, Any] = {"network_id": network_id, "device_owner": DHCP_OWNER,
                                "device_id": device_id, "project_id": owner,
                                "fixed_ips": [{"subnet_id": s} for s in dhcp_subnets]}
        if self._binding_attr():
            item[HOST_ID] = host
        # As upstream, a port the server makes for its agents counts against no quota.
        created = self.db.run(lambda s: self.ports.create_internal(s, ctx, item))
        self.events.publish("port", events.AFTER_CREATE,
                            events.Payload(ctx, created["id"], states=(created,)))
        port_id = created["id"]
        if not self._binding_attr():
            self._write_binding(port_id, host)
        LOG.info("DHCP port %s created for %s on network %s", port_id, host, network_id)
        return port_id

    def _binding_attr(self) -> bool:
        """Whether ports take binding:host_id (the port binding feature is loaded);
        without it the binding row is written here."""
        attr = PORT.attrs.get(HOST_ID)
        return attr is not None and attr.allow_post

    def _write_binding(self, port_id: str, host: str) -> None:
        def run(session: Session) -> None:
            row = session.get(PB, port_id)
            if row is None:
                session.add(PB(port_id=port_id, host=host))
            else:
                row.host = host
        self.db.run(run)
