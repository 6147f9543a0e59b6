"""Trunks: ``/v2.0/trunks``, its member actions (add/remove/get sub-ports), the
rules they keep on ports, the sub-ports' binding and the trunk's status.

Checks, as upstream's trunk plugin (409 unless said):

* the parent is not a sub-port (TrunkPortInUse) nor another trunk's parent
  (ParentPortInUse), is not a network-owned port (``network:*``: router, DHCP, ...)
  and, when bound, is bound by the Linux bridge driver to a host with a Linux
  bridge agent, which can trunk a bound port (ParentPortInUse otherwise; a parent
  bound by the Open vSwitch driver cannot, as upstream's OVS trunk driver: the VM
  is plugged into the trunk bridge only when the trunk exists at boot);
* a sub-port is not the parent, not in a trunk, has no device (PortInUse), its
  network's MTU is not above the parent network's, its segmentation is ``vlan``
  1-4094 (400) and unused on the trunk (DuplicateSubPort); ``inherit`` takes the
  sub-port network's type and id;
* sub-ports are added or removed only while the trunk is admin up (TrunkDisabled),
  added only while it is not in ERROR (TrunkInErrorState);
* a trunk is deleted only admin up and while its parent could be untrunked (the
  same driver test as above: TrunkInUse); a port in a trunk cannot be deleted
  (PortInUseAsTrunkParent / PortInUseAsSubPort).

After a change commits, the sub-ports follow their trunk (``device_owner``
``trunk:subport``, ``device_id`` the trunk, ``binding:host_id`` the parent's) through
the port service, so binding, events and agent notifications are those of any port
update; removed sub-ports are released. The status is then derived from the ports
(`derive_status`): DOWN while the parent is unbound, ERROR when a sub-port could not
be bound (e.g. its host cannot carry VLAN sub-interfaces: the agent reports
``trunk_supported: false``), ACTIVE when the parent and every sub-port are ACTIVE
(their agent has wired them), BUILD in between. Port changes (a binding, an
agent's status report) re-derive it, so it is level-triggered like the agents.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.contract import topics
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources import port_binding as pb
from neutrino.resources import trunk as t
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps
from neutrino.services.device_status import status_only
from neutrino.services.port_binding import UNBOUND, BindingRow, load_bindings
from neutrino.services.ports import PortService

LOG = logging.getLogger(__name__)
T = models.Trunk
SP = models.SubPort
P = models.Port
# vif_type of a bound parent -> (the agent of the trunk driver in charge on its
# host, whether that driver can trunk and untrunk a bound port). Upstream's: the
# Linux bridge driver can (VLAN devices on the tap at any time); the Open vSwitch
# driver cannot (can_trunk_bound_port False): Nova/os-vif plug the VM into the
# trunk bridge tbr- only if the trunk exists at plug time, so a trunk made later
# would never be wired, and deleting one under a running VM would strand it.
TRUNK_DRIVERS = {pb.VIF_TYPE_BRIDGE: (topics.AGENT_TYPE_LINUXBRIDGE, True),
                 pb.VIF_TYPE_OVS: (topics.AGENT_TYPE_OVS, False)}
COLUMNS = {
    "id": T.id, "name": T.name, "description": T.description, "project_id": T.project_id,
    "tenant_id": T.project_id, "created_at": T.created_at, "updated_at": T.updated_at,
    "revision_number": T.revision_number, "admin_state_up": T.admin_state_up,
    "status": T.status, "port_id": T.port_id,
}


def derive_status(parent: BindingRow, parent_status: str,
                  subports: list[tuple[BindingRow, str]]) -> str:
    """A trunk's status from its ports' bindings and statuses (pure)."""
    if not parent.host or parent.vif_type == pb.VIF_TYPE_UNBOUND:
        return t.DOWN
    if parent.vif_type == pb.VIF_TYPE_BINDING_FAILED or any(
            b.vif_type == pb.VIF_TYPE_BINDING_FAILED for b, _ in subports):
        return t.ERROR
    if parent_status == "ACTIVE" and all(s == "ACTIVE" for _, s in subports):
        return t.ACTIVE
    return t.BUILD


def subport_dicts(session: Session, trunk_ids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    stmt = select(SP.trunk_id, SP.port_id, SP.segmentation_type, SP.segmentation_id)
    for trunk_id, port_id, seg_type, seg_id in rows_for_ids(session, stmt, SP.trunk_id,
                                                            trunk_ids):
        out[trunk_id].append({"segmentation_id": seg_id, "segmentation_type": seg_type,
                              "port_id": port_id})
    for items in out.values():
        items.sort(key=lambda s: (s["segmentation_type"], s["segmentation_id"]))
    return out


class TrunkDetails:
    """The port extension for ``trunk_details`` (trunk-details): on a trunk's
    parent, the trunk and its sub-ports with their MACs; absent elsewhere."""

    attribute = "trunk_details"

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        pass  # a new port is in no trunk

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        self.extend(session, [item])

    def extend(self, session: Session, items: list[dict]) -> None:
        by_port = {port_id: trunk_id for trunk_id, port_id in rows_for_ids(
            session, select(T.id, T.port_id), T.port_id, [i["id"] for i in items])}
        if not by_port:
            return
        subports = subport_dicts(session, list(by_port.values()))
        macs = dict(rows_for_ids(session, select(P.id, P.mac_address), P.id,
                                 [s["port_id"] for v in subports.values() for s in v]))
        for item in items:
            trunk_id = by_port.get(item["id"])
            if trunk_id is not None:
                item["trunk_details"] = {"trunk_id": trunk_id, "sub_ports": [
                    dict(s, mac_address=macs.get(s["port_id"]))
                    for s in subports.get(trunk_id, [])]}

    def filters(self) -> dict:
        return {}


class TrunkService:
    resource = t.TRUNK
    model = T

    def __init__(self, deps: Deps, ports: PortService) -> None:
        self.deps = deps
        self.ports = ports

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._refuse_port_delete, "port", events.PRECOMMIT_DELETE)
        registry.subscribe(self._port_updated, "port", events.AFTER_UPDATE)

    # -- reads ---------------------------------------------------------------

    @staticmethod
    def _row(session: Session, trunk_id: str, lock: bool = False) -> T:
        row = session.get(T, trunk_id, with_for_update=lock)
        if row is None:
            raise t.TrunkNotFound(trunk_id=trunk_id)
        return row

    def get(self, ctx: Context, trunk_id: str) -> dict:
        return self.deps.db.run(
            lambda s: self.to_dicts(s, [self._row(s, trunk_id)])[0], write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(T).where(*filter_clauses(T, query, COLUMNS))
            if not ctx.is_admin:
                stmt = stmt.where(T.project_id == ctx.project_id)
            rows = fetch_page(session, stmt, query, COLUMNS, T,
                              lambda i: t.TrunkNotFound(trunk_id=i))
            return self.to_dicts(session, rows)
        return self.deps.db.run(run, write=False)

    def to_dicts(self, session: Session, rows: list[T], fields: Any = None) -> list[dict]:
        ids = [r.id for r in rows]
        tags = common.load_tags(session, ids)
        subports = subport_dicts(session, ids)
        out = []
        for row in rows:
            item = common.standard_dict(row, tags.get(row.id, []))
            item.update(admin_state_up=row.admin_state_up, status=row.status,
                        port_id=row.port_id, sub_ports=subports.get(row.id, []))
            out.append(item)
        return out

    def get_subports(self, ctx: Context, trunk_id: str) -> dict:
        return {"sub_ports": self.get(ctx, trunk_id)["sub_ports"]}

    # -- checks (inside the write's transaction) -----------------------------

    @staticmethod
    def _port(session: Session, ctx: Context, port_id: str) -> P:
        port = session.get(P, port_id)
        if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
            raise exc.PortNotFound(port_id=port_id)
        return port

    @staticmethod
    def can_be_trunked_or_untrunked(session: Session, port_id: str) -> bool:
        """Upstream's test: an unbound port always; a bound one when the driver in
        charge (Linux bridge: vif_type bridge and a Linux bridge agent on the
        host; Open vSwitch: vif_type ovs and an Open vSwitch agent) can trunk
        bound ports: only the Linux bridge one can (TRUNK_DRIVERS)."""
        binding = load_bindings(session, [port_id]).get(port_id, UNBOUND)
        if not binding.host:
            return True
        agent_type, can_trunk_bound_port = TRUNK_DRIVERS.get(binding.vif_type,
                                                             (None, False))
        if agent_type is None or not can_trunk_bound_port:
            return False
        agent = session.scalar(select(models.Agent.id).where(
            models.Agent.host == binding.host, models.Agent.agent_type == agent_type))
        return agent is not None

    @staticmethod
    def _check_not_in_trunk(session: Session, port_id: str) -> None:
        if session.get(SP, port_id) is not None:
            raise t.TrunkPortInUse(port_id=port_id)
        if session.scalar(select(T.id).where(T.port_id == port_id)) is not None:
            raise t.ParentPortInUse(port_id=port_id)

    def _check_parent(self, session: Session, ctx: Context, port_id: str) -> P:
        port = self._port(session, ctx, port_id)
        self._check_not_in_trunk(session, port_id)
        owner = port.device_owner or ""
        if owner.startswith("network:") or owner == t.SUBPORT_OWNER:
            raise t.ParentPortInUse(port_id=port_id)
        if not self.can_be_trunked_or_untrunked(session, port_id):
            raise t.ParentPortInUse(port_id=port_id)
        return port

    def _network_mtu(self, session: Session, network_id: str) -> int | None:
        return session.scalar(select(models.Network.mtu).where(
            models.Network.id == network_id))

    def _check_subports(self, session: Session, ctx: Context, trunk_id: str | None,
                        parent: P, subports: list[dict]) -> list[dict]:
        """The sub-ports to add, `inherit` resolved, checked in upstream's order."""
        parent_mtu = self._network_mtu(session, parent.network_id)
        used: set[tuple[str, int]] = set()
        if trunk_id is not None:
            used = {(s, i) for s, i in session.execute(select(
                SP.segmentation_type, SP.segmentation_id).where(SP.trunk_id == trunk_id))}
        out = []
        for subport in subports:
            port_id = subport["port_id"]
            if port_id == parent.id:
                raise t.ParentPortInUse(port_id=port_id)
            port = self._port(session, ctx, port_id)
            mtu = self._network_mtu(session, port.network_id)
            if parent_mtu and mtu and mtu > parent_mtu:
                raise t.SubPortMtuGreaterThanTrunkPortMtu(
                    port_id=port_id, port_mtu=mtu, trunk_id=parent.id,
                    trunk_mtu=parent_mtu)
            if subport.get("segmentation_type") == t.INHERIT:
                subport = self._inherit(session, port)
            seg_type, seg_id = t.segmentation(subport)
            self._check_not_in_trunk(session, port_id)
            if port.device_id:
                raise exc.PortInUse(net_id=port.network_id, port_id=port_id,
                                    device_id=port.device_id)
            if (seg_type, seg_id) in used:
                raise t.DuplicateSubPort(segmentation_type=seg_type,
                                         segmentation_id=seg_id, trunk_id=trunk_id)
            used.add((seg_type, seg_id))
            out.append({"port_id": port_id, "segmentation_type": seg_type,
                        "segmentation_id": seg_id})
        return out

    @staticmethod
    def _inherit(session: Session, port: P) -> dict:
        segment = session.execute(select(
            models.NetworkSegment.network_type, models.NetworkSegment.segmentation_id)
            .where(models.NetworkSegment.network_id == port.network_id)
            .order_by(models.NetworkSegment.segment_index).limit(1)).first()
        seg_type, seg_id = segment if segment is not None else (None, None)
        return {"port_id": port.id, "segmentation_type": seg_type,
                "segmentation_id": seg_id}

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        result = common.create_all(
            self.deps, "trunk", ctx, items,
            lambda session, data: self._create(session, ctx, data, authorize),
            self.to_dicts)
        for item in result:
            self._follow(item["id"], [s["port_id"] for s in item["sub_ports"]], [])
        return [self.get(ctx, item["id"]) for item in result]

    def _create(self, session: Session, ctx: Context, data: dict,
                authorize: Authorize) -> T:
        authorize(data, dict(data, tenant_id=data["project_id"]))
        parent = self._check_parent(session, ctx, data["port_id"])
        subports = self._check_subports(session, ctx, None, parent, data["sub_ports"])
        row = T(id=common.new_id(), project_id=data["project_id"], name=data["name"],
                description=data["description"], admin_state_up=data["admin_state_up"],
                status=t.DOWN, port_id=parent.id, revision_number=0)
        session.add(row)
        session.flush()
        for subport in subports:
            session.add(SP(trunk_id=row.id, **subport))
        common.set_tags(session, "trunk", row.id, data.get("tags") or [])
        return row

    def update(self, ctx: Context, trunk_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self._row(session, trunk_id, lock=True)
            common.check_revision(row, revision)
            common.apply_standard(row, data)
            if "admin_state_up" in data:
                row.admin_state_up = data["admin_state_up"]
            common.bump_revision(row)
            session.flush()
            return self.to_dicts(session, [row])[0]
        new = self.deps.db.run(run)
        self.deps.events.publish("trunk", events.AFTER_UPDATE,
                                 events.Payload(ctx, trunk_id, states=(None, new)))
        return new

    def delete(self, ctx: Context, trunk_id: str, revision: int | None = None) -> None:
        parent: dict = {}

        def run(session: Session) -> list[str]:
            row = self._row(session, trunk_id, lock=True)
            common.check_revision(row, revision)
            port = session.get(P, row.port_id)
            parent.update({"id": row.port_id, "revision_number": None,
                           "network_id": port.network_id if port is not None else None,
                           "binding:host_id": self._parent_host(session, trunk_id)})
            if not row.admin_state_up:
                raise t.TrunkDisabled(trunk_id=trunk_id)
            if not self.can_be_trunked_or_untrunked(session, row.port_id):
                raise t.TrunkInUse(trunk_id=trunk_id)
            subports = list(session.scalars(select(SP.port_id).where(
                SP.trunk_id == trunk_id)))
            session.execute(delete(SP).where(SP.trunk_id == trunk_id))
            common.delete_tags(session, trunk_id)
            session.delete(row)
            return subports
        released = self.deps.db.run(run)
        # metadata "parent": the parent's agent hears of it (its desired state
        # loses the trunk: the OVS agent unwires the trunk bridge).
        self.deps.events.publish("trunk", events.AFTER_DELETE,
                                 events.Payload(ctx, trunk_id, metadata={"parent": parent}))
        self._release(released)

    def add_subports(self, ctx: Context, trunk_id: str, subports: list[dict]) -> dict:
        def run(session: Session) -> list[str]:
            row = self._row(session, trunk_id, lock=True)
            if not row.admin_state_up:
                raise t.TrunkDisabled(trunk_id=trunk_id)
            if row.status == t.ERROR:
                raise t.TrunkInErrorState(trunk_id=trunk_id)
            parent = session.get(P, row.port_id)
            assert parent is not None  # the foreign key keeps it
            added = self._check_subports(session, ctx, trunk_id, parent, subports)
            for subport in added:
                session.add(SP(trunk_id=trunk_id, **subport))
            common.bump_revision(row)
            session.flush()
            return [s["port_id"] for s in added]
        added = self.deps.db.run(run)
        return self._after_change(ctx, trunk_id, added, [])

    def remove_subports(self, ctx: Context, trunk_id: str, subports: list[dict]) -> dict:
        def run(session: Session) -> list[str]:
            row = self._row(session, trunk_id, lock=True)
            if not row.admin_state_up:
                raise t.TrunkDisabled(trunk_id=trunk_id)
            current = set(session.scalars(select(SP.port_id).where(
                SP.trunk_id == trunk_id)))
            removed = [s["port_id"] for s in subports]
            for port_id in removed:
                if port_id not in current:
                    raise t.SubPortNotFound(trunk_id=trunk_id, port_id=port_id)
            session.execute(delete(SP).where(SP.trunk_id == trunk_id,
                                             SP.port_id.in_(removed)))
            common.bump_revision(row)
            session.flush()
            return removed
        removed = self.deps.db.run(run)
        return self._after_change(ctx, trunk_id, [], removed)

    def _after_change(self, ctx: Context, trunk_id: str, added: list[str],
                      removed: list[str]) -> dict:
        self._follow(trunk_id, added, removed)
        new = self.get(ctx, trunk_id)
        self.deps.events.publish("trunk", events.AFTER_UPDATE,
                                 events.Payload(ctx, trunk_id, states=(None, new)))
        return new

    # -- the sub-ports follow their trunk (after commit) ---------------------

    def _follow(self, trunk_id: str, added: list[str], removed: list[str]) -> None:
        """Added sub-ports take the trunk's device and the parent's host, removed
        ones are released; then the status is derived again."""
        admin = Context.admin()
        host = self.deps.db.run(lambda s: self._parent_host(s, trunk_id), write=False)
        for port_id in added:
            self._update_port(admin, port_id, {
                "device_owner": t.SUBPORT_OWNER, "device_id": trunk_id,
                pb.HOST_ID: host or ""})
        self._release(removed)
        self.refresh_status(trunk_id)

    def _release(self, port_ids: list[str]) -> None:
        for port_id in port_ids:
            self._update_port(Context.admin(), port_id, {
                "device_owner": "", "device_id": "", pb.HOST_ID: ""})

    def _update_port(self, ctx: Context, port_id: str, data: dict) -> None:
        try:
            self.ports.update(ctx, port_id, data)
        except exc.PortNotFound:
            LOG.info("sub-port %s gone meanwhile", port_id)

    @staticmethod
    def _parent_host(session: Session, trunk_id: str) -> str | None:
        row = session.get(T, trunk_id)
        if row is None:
            return None
        return load_bindings(session, [row.port_id]).get(row.port_id, UNBOUND).host

    def refresh_status(self, trunk_id: str) -> None:
        """Set the trunk's status from its ports' (a change bumps the revision)."""
        def run(session: Session) -> None:
            row = session.get(T, trunk_id, with_for_update=True)
            if row is None:
                return
            port_ids = [row.port_id, *session.scalars(select(SP.port_id).where(
                SP.trunk_id == trunk_id))]
            bindings = load_bindings(session, port_ids)
            statuses = dict(rows_for_ids(session, select(P.id, P.status), P.id, port_ids))
            status = derive_status(
                bindings.get(row.port_id, UNBOUND), statuses.get(row.port_id, ""),
                [(bindings.get(p, UNBOUND), statuses.get(p, "")) for p in port_ids[1:]])
            if status != row.status:
                LOG.info("trunk %s: %s -> %s", trunk_id, row.status, status)
                row.status = status
                common.bump_revision(row)
        self.deps.db.run(run)

    # -- port events ---------------------------------------------------------

    @staticmethod
    def _refuse_port_delete(resource: str, event: str, payload: events.Payload) -> None:
        session: Session = payload.session
        port_id = payload.resource_id
        subport = session.get(SP, port_id)
        if subport is not None:
            raise t.PortInUseAsSubPort(port_id=port_id, trunk_id=subport.trunk_id)
        trunk_id = session.scalar(select(T.id).where(T.port_id == port_id))
        if trunk_id is not None:
            raise t.PortInUseAsTrunkParent(port_id=port_id, trunk_id=trunk_id)

    def _port_updated(self, resource: str, event: str, payload: events.Payload) -> None:
        """A parent's binding moved: its sub-ports follow (level-triggered: any
        parent update checks them); any port of a trunk: its status again."""
        port_id = payload.resource_id
        new = payload.states[-1] if payload.states else None
        if (new and status_only(payload) and not new.get("trunk_details")
                and new.get("device_owner") != t.SUBPORT_OWNER):
            return  # a status change of a port in no trunk (an agent's batch)

        def find(session: Session) -> tuple[str | None, list[tuple[str, str]]]:
            trunk_id = session.scalar(select(T.id).where(T.port_id == port_id))
            if trunk_id is None:
                subport = session.get(SP, port_id)
                return (subport.trunk_id if subport else None), []
            host = self._parent_host(session, trunk_id) or ""
            ids = list(session.scalars(select(SP.port_id).where(SP.trunk_id == trunk_id)))
            bindings = load_bindings(session, ids)
            return trunk_id, [(p, host) for p in ids
                              if bindings.get(p, UNBOUND).host != host]
        trunk_id, moves = self.deps.db.run(find, write=False)
        if trunk_id is None:
            return
        for subport_id, host in moves:
            self._update_port(Context.admin(), subport_id, {pb.HOST_ID: host})
        self.refresh_status(trunk_id)
