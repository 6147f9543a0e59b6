"""binding-extended: a port's bindings (/v2.0/ports/{id}/bindings), several per port
for live migration.

The ACTIVE binding is the port's own (ml2_port_bindings, the `binding:*` attributes
of the port, unbound when it has no host); the others are INACTIVE, one per host
(ml2_port_bindings_inactive), bound by the mechanism drivers when created so the
target host is known to be able to plug the port. Activating one makes the port
bound to its host through the port's ordinary update (rebinding, DOWN until the
agent reports, revision bump, notifications), and the previous active binding
becomes INACTIVE. Only compute ports (device_owner compute:*) have several.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.ml2.mechanism import Binding, MechanismManager
from neutrino.resources import port_binding as pb
from neutrino.services.deps import Deps
from neutrino.services.port_binding import UNBOUND, BindingRow, _dumps, _loads, load_bindings
from neutrino.services.ports import PortService

P = models.Port
I = models.PortBindingInactive  # noqa: E741 - the table's initial, as P for ports
ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
COMPUTE_PREFIX = "compute:"


class PortBindingNotFound(exc.NotFound):
    message = "Binding for port %(port_id)s for host %(host)s could not be found."


class PortBindingAlreadyExists(exc.Conflict):
    message = "Binding for port %(port_id)s on host %(host)s already exists."


class PortBindingAlreadyActive(exc.Conflict):
    message = "Binding for port %(port_id)s on host %(host)s is already active."


class PortBindingError(exc.NeutronError):
    """The mechanism drivers could not bind the port there: upstream's 500."""

    status = 500
    message = ("Binding for port %(port_id)s for host %(host)s could not be created or "
               "updated.")


class NotComputePort(exc.BadRequest):
    """Upstream's BadRequest(resource='port', ...): type BadRequest."""

    def __init__(self, port_id: str) -> None:
        exc.NeutronError.__init__(self, resource="port", msg=f"Invalid port {port_id}. "
                                  "Operation only valid on compute ports")

    @property
    def type(self) -> str:
        return "BadRequest"


def binding_dict(row: BindingRow, status: str) -> dict:
    return {"host": row.host, "vif_type": row.vif_type, "vif_details": dict(
        row.vif_details or {}), "vnic_type": row.vnic_type,
        "profile": dict(row.profile or {}), "status": status}


def _inactive_rows(session: Session, port_id: str) -> list[BindingRow]:
    rows = session.scalars(select(I).where(I.port_id == port_id).order_by(I.host))
    return [BindingRow(r.host, r.vnic_type, _loads(r.profile), r.vif_type,
                       _loads(r.vif_details), r.segment_id, r.driver) for r in rows]


class PortBindingsExtended:
    def __init__(self, deps: Deps, mechanisms: MechanismManager, ports: PortService
                 ) -> None:
        """`ports`: its update (re)binds the port's own binding."""
        self.deps = deps
        self.mechanisms = mechanisms
        self.ports = ports

    # -- reads ---------------------------------------------------------------

    @staticmethod
    def _port(session: Session, port_id: str, lock: bool = False) -> P:
        port = session.get(P, port_id, with_for_update=lock)
        if port is None:
            raise exc.PortNotFound(port_id=port_id)
        return port

    @staticmethod
    def _all(session: Session, port_id: str) -> list[dict]:
        active = load_bindings(session, [port_id]).get(port_id, UNBOUND)
        return [binding_dict(active, ACTIVE),
                *[binding_dict(r, INACTIVE) for r in _inactive_rows(session, port_id)]]

    def owner(self, port_id: str) -> dict:
        """The port's owner project (the policy target) or PortNotFound."""
        def run(session: Session) -> dict:
            port = self._port(session, port_id)
            return {"project_id": port.project_id, "tenant_id": port.project_id,
                    "port_id": port.id}
        return self.deps.db.run(run, write=False)

    def list(self, port_id: str, filters: dict[str, list[str]]) -> list[dict]:
        def run(session: Session) -> list[dict]:
            self._port(session, port_id)
            return [b for b in self._all(session, port_id)
                    if all(str(b.get(k)) in values for k, values in filters.items())]
        return self.deps.db.run(run, write=False)

    def get(self, port_id: str, host: str) -> dict:
        def run(session: Session) -> dict:
            self._port(session, port_id)
            for binding in self._all(session, port_id):
                if binding["host"] == host:
                    return binding
            raise PortBindingNotFound(port_id=port_id, host=host)
        return self.deps.db.run(run, write=False)

    # -- writes --------------------------------------------------------------

    def _bind(self, session: Session, port: P, host: str, vnic_type: str,
              profile: dict) -> Binding:
        binding = self.mechanisms.bind(session, port.id, port.network_id, host, vnic_type,
                                       profile)
        if binding.vif_type == pb.VIF_TYPE_BINDING_FAILED:
            raise PortBindingError(port_id=port.id, host=host)
        return binding

    @staticmethod
    def _check_compute(port: P) -> None:
        if not (port.device_owner or "").startswith(COMPUTE_PREFIX):
            raise NotComputePort(port.id)

    def create(self, port_id: str, host: str, vnic_type: str, profile: dict) -> dict:
        def run(session: Session) -> dict:
            port = self._port(session, port_id, lock=True)
            self._check_compute(port)
            active = load_bindings(session, [port_id]).get(port_id, UNBOUND)
            if host == active.host or session.get(I, (port_id, host)) is not None:
                raise PortBindingAlreadyExists(port_id=port_id, host=host)
            binding = self._bind(session, port, host, vnic_type, profile)
            row = I(port_id=port_id, host=host, vnic_type=vnic_type,
                    profile=_dumps(profile), vif_type=binding.vif_type,
                    vif_details=_dumps(binding.vif_details),
                    segment_id=binding.segment_id, driver=binding.driver)
            session.add(row)
            session.flush()
            return binding_dict(BindingRow(host, vnic_type, profile, binding.vif_type,
                                           binding.vif_details), INACTIVE)
        return self.deps.db.run(run)

    def update(self, ctx: Context, port_id: str, host: str, changes: dict) -> dict:
        """New vnic_type and/or profile for a binding: bound again."""
        def run(session: Session) -> dict | None:
            port = self._port(session, port_id, lock=True)
            self._check_compute(port)
            active = load_bindings(session, [port_id]).get(port_id, UNBOUND)
            if host and host == active.host:
                return None  # the port's own binding: the port's update does it
            row = session.get(I, (port_id, host), with_for_update=True)
            if row is None:
                raise PortBindingNotFound(port_id=port_id, host=host)
            vnic_type = changes.get("vnic_type", row.vnic_type)
            profile = changes.get("profile", _loads(row.profile))
            binding = self._bind(session, port, host, vnic_type, profile)
            row.vnic_type, row.profile = vnic_type, _dumps(profile)
            row.vif_type, row.vif_details = binding.vif_type, _dumps(binding.vif_details)
            row.segment_id, row.driver = binding.segment_id, binding.driver
            session.flush()
            return binding_dict(BindingRow(host, vnic_type, profile, binding.vif_type,
                                           binding.vif_details), INACTIVE)
        result = self.deps.db.run(run)
        if result is not None:
            return result
        data = {pb.VNIC_TYPE: changes["vnic_type"]} if "vnic_type" in changes else {}
        if "profile" in changes:
            data[pb.PROFILE] = changes["profile"]
        self.ports.update(ctx, port_id, data)
        return self.get(port_id, host)

    def activate(self, ctx: Context, port_id: str, host: str) -> dict:
        def check(session: Session) -> tuple[BindingRow, BindingRow]:
            port = self._port(session, port_id, lock=True)
            self._check_compute(port)
            active = load_bindings(session, [port_id]).get(port_id, UNBOUND)
            if host and host == active.host:
                raise PortBindingAlreadyActive(port_id=port_id, host=host)
            target = next((r for r in _inactive_rows(session, port_id) if r.host == host),
                          None)
            if target is None:
                raise PortBindingNotFound(port_id=port_id, host=host)
            # The host may have lost its agent since the binding was made.
            self._bind(session, port, host, target.vnic_type, target.profile or {})
            return active, target
        active, target = self.deps.db.run(check)
        # The port's own update binds it there (DOWN, revision, agents notified).
        self.ports.update(ctx, port_id, {pb.HOST_ID: host, pb.VNIC_TYPE: target.vnic_type,
                                         pb.PROFILE: dict(target.profile or {})})

        def swap(session: Session) -> None:
            session.execute(delete(I).where(I.port_id == port_id, I.host == host))
            if session.get(I, (port_id, active.host)) is None:
                session.add(I(port_id=port_id, host=active.host, vnic_type=active.vnic_type,
                              profile=_dumps(active.profile or {}), vif_type=active.vif_type,
                              vif_details=_dumps(active.vif_details or {}),
                              segment_id=active.segment_id, driver=active.driver))
        self.deps.db.run(swap)
        return self.get(port_id, host)

    def delete(self, ctx: Context, port_id: str, host: str) -> None:
        def run(session: Session) -> bool:
            self._port(session, port_id, lock=True)
            active = load_bindings(session, [port_id]).get(port_id, UNBOUND)
            if host and host == active.host:
                return True
            row = session.get(I, (port_id, host))
            if row is None:
                raise PortBindingNotFound(port_id=port_id, host=host)
            session.delete(row)
            return False
        if self.deps.db.run(run):
            # The active binding: the port is unbound (as its own update does it).
            self.ports.update(ctx, port_id, {pb.HOST_ID: ""})
