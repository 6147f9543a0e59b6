"""Router HA (l3-ha): what a HA router has beyond a legacy one, on the server.

* a HA network per project (``HA network tenant <project>``, owned by no project so
  the project does not see it, as upstream), made with its first HA router
  (`ensure_network`, outside the router's transaction: networks and subnets are
  written by their own services) and deleted with its last (`cleanup_network`);
* a VRRP virtual router id per HA router, unique in its HA network (1-254;
  `attach`, in the router's transaction; a concurrent allocation of the same id
  fails on the primary key and the transaction is retried);
* per L3 agent the router is scheduled to, a HA port on the HA network
  (device_owner ``network:router_ha_interface``, bound to the agent's host) and
  the router's VRRP state on that agent (`ensure_ports`: called wherever the
  agents of a router change and when an agent syncs, so the ports follow the
  bindings whoever made them);
* the states the agents report (`set_states`; rpc ``update_ha_routers_states``)
  and the ``ha_state`` of ``GET /v2.0/routers/{id}/l3-agents`` (`agent_states`:
  an agent that is not alive shows ``unknown``, as upstream).

The router's own ports (interfaces, gateway) are bound to the host of the agent
that reports the router active (`active_hosts`): that host's Linux bridge agent
plugs them; the standbys hold the same ports unplugged until they become active.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.contract import topics
from neutrino.db import models
from neutrino.db.engine import Database
from neutrino.resources.network import NETWORK
from neutrino.resources.subnet import SUBNET
from neutrino.services.networks import NetworkService
from neutrino.services.ports import PortService
from neutrino.services.prepare import prepare_create
from neutrino.services.subnets import SubnetService

LOG = logging.getLogger(__name__)

HA_OWNER = "network:router_ha_interface"
ACTIVE, STANDBY, UNKNOWN = "active", "standby", "unknown"
STATES = (ACTIVE, STANDBY)
VR_IDS = range(1, 255)
HOST_ID = "binding:host_id"

HN = models.HaRouterNetwork
VR = models.HaRouterVrIdAllocation
HB = models.HaRouterAgentPortBinding
A = models.Agent
B = models.RouterL3AgentBinding
R = models.Router


class NoVRIDAvailable(exc.Conflict):
    message = ("No more Virtual Router Identifier (VRID) available when creating "
               "router %(router_id)s. The limit of number of HA Routers per tenant "
               "is 254.")


class HANetworkCIDRNotValid(exc.BadRequest):
    message = ("The HA Network CIDR specified in the configuration file isn't valid; "
               "%(cidr)s.")


def network_name(project_id: str) -> str:
    return f"HA network tenant {project_id}"


def subnet_name(project_id: str) -> str:
    return f"HA subnet tenant {project_id}"


def port_name(project_id: str) -> str:
    return f"HA port tenant {project_id}"


def network_of(session: Session, project_id: str) -> str | None:
    return session.scalar(select(HN.network_id).where(HN.project_id == project_id))


def vr_id_of(session: Session, router_id: str) -> int | None:
    return session.scalar(select(VR.vr_id).where(VR.router_id == router_id))


def free_vr_id(used: set[int]) -> int | None:
    """The smallest VRRP id not in `used` (None: all 254 taken)."""
    return next((vr_id for vr_id in VR_IDS if vr_id not in used), None)


class RouterHa:
    def __init__(self, db: Database, conf: Any, networks: NetworkService,
                 subnets: SubnetService, ports: PortService) -> None:
        self.db = db
        self.conf = conf
        self.networks = networks
        self.subnets = subnets
        self.ports = ports

    def wanted(self, requested: Any) -> bool:
        """A new router's `ha`: as asked, else the l3_ha option."""
        if requested is None or not isinstance(requested, bool):
            return bool(self.conf.l3_ha)
        return requested

    @property
    def max_agents(self) -> int:
        return int(self.conf.max_l3_agents_per_router)

    # -- the project's HA network ---------------------------------------------------

    def ensure_network(self, project_id: str) -> str:
        """The project's HA network, made now if it has none."""
        existing = self.db.run(lambda s: network_of(s, project_id), write=False)
        if existing:
            return existing
        cidr = self._cidr()
        admin = Context.admin()
        attrs: dict[str, Any] = {"name": network_name(project_id), "project_id": "",
                                 "admin_state_up": True, "shared": False, "ha": True}
        if self.conf.l3_ha_network_type:
            attrs["provider:network_type"] = self.conf.l3_ha_network_type
        if self.conf.l3_ha_network_physical_name:
            attrs["provider:physical_network"] = self.conf.l3_ha_network_physical_name
        network = self.networks.create_bulk(admin, [prepare_create(NETWORK, attrs, admin)])[0]
        try:
            self.subnets.create_bulk(admin, [prepare_create(SUBNET, {
                "name": subnet_name(project_id), "network_id": network["id"],
                "project_id": "", "ip_version": 4, "cidr": cidr, "gateway_ip": None,
                "enable_dhcp": False}, admin)])

            def record(session: Session) -> str:
                # Read again: a concurrent first HA router of the project may have won.
                current = network_of(session, project_id)
                if current:
                    return current
                session.add(HN(project_id=project_id, network_id=network["id"]))
                session.flush()
                return str(network["id"])
            winner = self.db.run(record)
        except Exception:
            self.networks.delete(admin, network["id"])
            raise
        if winner != network["id"]:
            self.networks.delete(admin, network["id"])
        else:
            LOG.info("HA network %s made for project %s", winner, project_id)
        return winner

    def _cidr(self) -> str:
        try:
            net = ipaddress.ip_network(self.conf.l3_ha_net_cidr)
        except ValueError:
            raise HANetworkCIDRNotValid(cidr=self.conf.l3_ha_net_cidr) from None
        if net.version != 4 or net.num_addresses < 4:
            raise HANetworkCIDRNotValid(cidr=self.conf.l3_ha_net_cidr)
        return str(net)

    def cleanup_network(self, project_id: str) -> None:
        """Delete the project's HA network when no HA router of it is left."""
        def run(session: Session) -> str | None:
            network_id = network_of(session, project_id)
            if network_id is None:
                return None
            left = session.scalar(select(func.count()).select_from(R).where(
                R.project_id == project_id, R.ha.is_(True)))
            if left:
                return None
            session.execute(delete(HN).where(HN.project_id == project_id))
            return network_id
        network_id = self.db.run(run)
        if network_id is None:
            return
        try:
            self.networks.delete(Context.admin(), network_id)
        except exc.NotFound:
            return
        except exc.InUse as error:  # a HA router made meanwhile keeps it
            LOG.info("HA network %s of project %s kept: %s", network_id, project_id, error)
            self.db.run(lambda s: s.merge(HN(project_id=project_id, network_id=network_id)))
            return
        LOG.info("HA network %s of project %s deleted (its last HA router went)",
                 network_id, project_id)

    # -- one router ---------------------------------------------------------------------

    def attach(self, session: Session, router: R, network_id: str) -> int:
        """Give the router a VRRP id in the HA network."""
        current = vr_id_of(session, router.id)
        if current is not None:
            return current
        used = set(session.scalars(select(VR.vr_id).where(VR.network_id == network_id)))
        vr_id = free_vr_id(used)
        if vr_id is None:
            raise NoVRIDAvailable(router_id=router.id)
        session.add(VR(network_id=network_id, vr_id=vr_id, router_id=router.id))
        session.flush()
        return vr_id

    def detach(self, session: Session, ctx: Context, router_id: str,
               deleted: list[str]) -> None:
        """The router stops being HA (or goes): its HA ports and VRRP id go."""
        for port_id in list(session.scalars(select(HB.port_id).where(
                HB.router_id == router_id))):
            self._delete_port(session, ctx, port_id, deleted)
        session.execute(delete(VR).where(VR.router_id == router_id))

    def ensure_ports(self, session: Session, ctx: Context, router_id: str,
                     created: list[dict], deleted: list[str]) -> None:
        """One HA port per L3 agent the (HA) router is scheduled to, no other."""
        router = session.get(R, router_id)
        if router is None or not router.ha:
            return
        network_id = network_of(session, router.project_id)
        if network_id is None:
            return
        agents = dict(session.execute(select(A.id, A.host).join(
            B, B.l3_agent_id == A.id).where(B.router_id == router_id)).all())
        have = dict(session.execute(select(HB.l3_agent_id, HB.port_id).where(
            HB.router_id == router_id)).all())
        for agent_id, port_id in sorted(have.items(), key=lambda i: str(i[0])):
            if agent_id not in agents:
                self._delete_port(session, ctx, port_id, deleted)
        for agent_id, host in sorted(agents.items()):
            if agent_id in have:
                continue
            port = self.ports.create_internal(session, ctx, {
                "network_id": network_id, "project_id": "", "device_owner": HA_OWNER,
                "device_id": router_id, "admin_state_up": True,
                "name": port_name(router.project_id), HOST_ID: host})
            session.add(HB(port_id=port["id"], router_id=router_id,
                           l3_agent_id=agent_id, state=STANDBY))
            session.flush()
            created.append(port)

    def _delete_port(self, session: Session, ctx: Context, port_id: str,
                     deleted: list[str]) -> None:
        session.execute(delete(HB).where(HB.port_id == port_id))
        try:
            self.ports.delete_internal(session, ctx, port_id)
        except exc.PortNotFound:
            return
        deleted.append(port_id)

    # -- states ---------------------------------------------------------------------

    @staticmethod
    def set_states(session: Session, host: str, states: dict[str, str]) -> list[str]:
        """The states the L3 agent of `host` reports; the routers whose state
        changed. Unknown states and routers not scheduled to it are ignored."""
        agent_id = session.scalar(select(A.id).where(
            A.agent_type == topics.AGENT_TYPE_L3, A.host == host))
        wanted = {r: s for r, s in states.items() if s in STATES}
        if agent_id is None or not wanted:
            return []
        changed = []
        for row in session.scalars(select(HB).where(HB.l3_agent_id == agent_id,
                                                    HB.router_id.in_(sorted(wanted)))):
            if row.state != wanted[row.router_id]:
                row.state = wanted[row.router_id]
                changed.append(row.router_id)
        return changed

    @staticmethod
    def agent_states(session: Session, router_id: str, alive: dict[str, bool]
                     ) -> dict[str, str]:
        """agent id -> ha_state of the router on it (unknown: the agent is not
        alive)."""
        out = {}
        for agent_id, state in session.execute(select(HB.l3_agent_id, HB.state).where(
                HB.router_id == router_id)):
            if agent_id is not None:
                out[agent_id] = state if alive.get(agent_id, False) else UNKNOWN
        return out

    @staticmethod
    def active_hosts(session: Session, router_ids: list[str]) -> dict[str, list[str]]:
        """router id -> the hosts of the agents reporting it active (by host name;
        two during a split, until VRRP settles it)."""
        stmt = (select(HB.router_id, A.host).join(A, A.id == HB.l3_agent_id)
                .where(HB.router_id.in_(router_ids), HB.state == ACTIVE)
                .order_by(HB.router_id, A.host))
        out: dict[str, list[str]] = {}
        for router_id, host in session.execute(stmt):
            out.setdefault(router_id, []).append(host)
        return out


def port_host(current: str | None, actives: list[str]) -> str | None:
    """Where a HA router's port belongs: where it is when that host reports the
    router active (no move during a split), else the first active host; None when
    no agent reports it active."""
    if current and current in actives:
        return current
    return actives[0] if actives else None
