"""The L2 agent's calls on topic q-plugin: device details, device up / down.

A device is what the agent sees on its host: ``tap<port-id[:11]>`` (or a whole port
id); it stands for the port whose id starts that way. Only the agent of the host a
port is bound to changes its status. Status changes bump the port's revision and
publish the port's AFTER_UPDATE event after commit, like an update through the API,
so the notifications to agents and the port's readers see them.
"""

from __future__ import annotations

import logging
from typing import Any

import oslo_messaging
from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.contract.l2 import DeviceDetails, DeviceDown, DeviceList
from neutrino.db import models
from neutrino.resources import port_binding as pb
from neutrino.rpc.deps import ServerServices
from neutrino.services import device_status
from neutrino.services import port_binding as bindings
from neutrino.services.port_binding import PortBindings, StatusChange

LOG = logging.getLogger(__name__)
NS = models.NetworkSegment
# The attributes of the port's API dict that the details carry (`_detail`).
_DETAIL_FIELDS = frozenset({"fixed_ips", "port_security_enabled", "security_groups",
                            "allowed_address_pairs", pb.PROFILE})


class L2Endpoint:
    """get_devices_details_list / get_device_details / update_device_up /
    update_device_down / update_device_list, as upstream's Linux bridge agent calls
    them."""

    target = oslo_messaging.Target(version="1.0")

    def __init__(self, core: ServerServices) -> None:
        self.db = core.db
        self.events = core.events
        self.ports = core.ports
        self.bindings = next((e for e in core.ports.extensions
                              if isinstance(e, PortBindings)), None)

    # -- details -------------------------------------------------------------

    def get_devices_details_list(self, context: Any, devices: list[str] | None = None,
                                 agent_id: str | None = None, host: str | None = None,
                                 **kwargs: Any) -> list[DeviceDetails]:
        """Each device's details as get_device_details gives them, read in one
        transaction of a fixed number of queries (a host's first sync asks for
        hundreds); a port whose binding failed is bound again alone, as there."""
        names = [str(d) for d in devices or []]
        found: dict[str, DeviceDetails] = {}
        rebind: list[str] = []

        def run(session: Session) -> None:
            found.clear()
            rebind.clear()
            resolved = device_status.resolve(session, names, host)
            ids = sorted({p for p in resolved.port_of.values() if p is not None})
            ports = {p.id: p for p in device_status.ports_by_id(session, ids)}
            bound = bindings.load_bindings(session, ids)
            wanted = []
            for device in names:
                port = ports.get(resolved.port_of.get(device) or "")
                if port is None:
                    continue
                binding = bound.get(port.id, bindings.UNBOUND)
                if binding.segment_id is not None:
                    wanted.append((device, port, binding))
                elif binding.host and self.bindings is not None:
                    rebind.append(device)
                else:
                    LOG.warning("device %s requested by agent %s on %s: port %s is not "
                                "bound (vif_type %s)", device, agent_id, host, port.id,
                                binding.vif_type)
            found.update(self._details(session, wanted))
        self.db.run(run, write=False)
        for device in rebind:
            found[device] = self.get_device_details(context, device=device,
                                                    agent_id=agent_id, host=host)
        return [found.get(d, {"device": d}) for d in names]

    def get_device_details(self, context: Any, device: str = "",
                           agent_id: str | None = None, host: str | None = None,
                           **kwargs: Any) -> DeviceDetails:
        ctx = Context.admin()
        # The details when the port is bound to `host` (a retried transaction
        # starts again from none).
        found: list[DeviceDetails] = []

        def run(session: Session) -> StatusChange:
            found.clear()
            port = bindings.find_port(session, str(device), host)
            if port is None:
                LOG.debug("device %s requested by agent %s on %s: no such port", device,
                          agent_id, host)
                return StatusChange(exists=False)
            change = StatusChange(exists=True)
            binding = bindings.load_bindings(session, [port.id]).get(port.id,
                                                                     bindings.UNBOUND)
            if host and binding.host != host:
                LOG.debug("device %s requested by agent %s on %s but port %s is bound "
                          "to %r", device, agent_id, host, port.id, binding.host)
                return change
            if binding.segment_id is None and binding.host and self.bindings is not None:
                change = bindings.retry_binding(self.bindings, session, ctx, port,
                                                self.ports.to_dicts)
                binding = bindings.load_bindings(session, [port.id])[port.id]
            if binding.segment_id is None:
                LOG.warning("device %s requested by agent %s on %s: port %s is not bound "
                            "(vif_type %s)", device, agent_id, host, port.id,
                            binding.vif_type)
                return change
            found.extend(self._details(session, [(device, port, binding)]).values())
            return change
        change = self.db.run(run)
        bindings.publish_status(self.events, ctx, change)
        return found[0] if found else {"device": device}

    def _details(self, session: Session,
                 wanted: list[tuple[str, models.Port, bindings.BindingRow]]
                 ) -> dict[str, DeviceDetails]:
        """The details of (device, port, binding)s: a fixed number of queries."""
        if not wanted:
            return {}
        ports = list({port.id: port for _, port, _ in wanted}.values())
        # Only the extensions whose attributes the details carry: the others' queries
        # (tags, DNS, QoS, extra DHCP options...) were half of this call's work.
        items = {item["id"]: item for item in self.ports.to_dicts(session, ports,
                                                                   set(_DETAIL_FIELDS))}
        segment_ids = sorted({b.segment_id for _, _, b in wanted if b.segment_id})
        segments = {r.id: r for r in session.execute(
            select(NS.id, NS.network_type, NS.physical_network, NS.segmentation_id)
            .where(NS.id.in_(segment_ids)))}
        mtus = dict(session.execute(
            select(models.Network.id, models.Network.mtu)
            .where(models.Network.id.in_(sorted({p.network_id for p in ports})))).all())
        return {device: _detail(device, port, items[port.id],
                                segments.get(binding.segment_id or ""),
                                mtus.get(port.network_id))
                for device, port, binding in wanted}

    # -- status --------------------------------------------------------------

    def update_device_up(self, context: Any, device: str = "",
                         agent_id: str | None = None, host: str | None = None,
                         **kwargs: Any) -> None:
        change = self._set_status(device, host, bindings.STATUS_ACTIVE)
        if not change.exists:
            LOG.debug("device %s up on %s (agent %s): no such port", device, host,
                      agent_id)

    def update_device_down(self, context: Any, device: str = "",
                           agent_id: str | None = None, host: str | None = None,
                           **kwargs: Any) -> DeviceDown:
        change = self._set_status(device, host, bindings.STATUS_DOWN)
        return {"device": device, "exists": change.exists}

    def _set_status(self, device: str, host: str | None, status: str) -> StatusChange:
        change = self.db.run(lambda session: bindings.set_status(
            session, str(device), host, status, self.ports.to_dicts))
        bindings.publish_status(self.events, Context.admin(), change)
        return change

    def update_device_list(self, context: Any, devices_up: list[str] | None = None,
                           devices_down: list[str] | None = None,
                           agent_id: str | None = None, host: str | None = None,
                           **kwargs: Any) -> DeviceList:
        """Both lists in one transaction (services/device_status.py); each device's
        outcome is the single call's. Should the batch fail, each device is tried
        alone, so one bad device fails only itself (``failed_devices_*``)."""
        ups = [str(d) for d in devices_up or []]
        downs = [str(d) for d in devices_down or []]
        try:
            batch = self.db.run(lambda session: device_status.set_statuses(
                session, ups, downs, host, self.ports.to_dicts))
        except Exception:  # noqa: BLE001 - each device alone below, failures named
            LOG.exception("device list from %s (agent %s) failed as a batch; one by "
                          "one", host, agent_id)
            return self._one_by_one(context, ups, downs, agent_id, host)
        ctx = Context.admin()
        for change in batch.changes:
            bindings.publish_status(self.events, ctx, change)
        return {"devices_up": batch.devices_up, "failed_devices_up": [],
                "devices_down": batch.devices_down, "failed_devices_down": []}

    def _one_by_one(self, context: Any, ups: list[str], downs: list[str],
                    agent_id: str | None, host: str | None) -> DeviceList:
        answer: DeviceList = {"devices_up": [], "failed_devices_up": [],
                              "devices_down": [], "failed_devices_down": []}
        for device in ups:
            try:
                self.update_device_up(context, device, agent_id, host)
                answer["devices_up"].append(device)
            except Exception:  # noqa: BLE001 - reported back as failed
                LOG.exception("device %s up on %s failed", device, host)
                answer["failed_devices_up"].append(device)
        for device in downs:
            try:
                answer["devices_down"].append(
                    self.update_device_down(context, device, agent_id, host))
            except Exception:  # noqa: BLE001 - reported back as failed
                LOG.exception("device %s down on %s failed", device, host)
                answer["failed_devices_down"].append(device)
        return answer


def _detail(device: str, port: models.Port, item: dict, segment: Any,
            mtu: int | None) -> DeviceDetails:
    return {
        "device": device, "port_id": port.id, "network_id": port.network_id,
        "network_type": segment.network_type if segment else None,
        "physical_network": segment.physical_network if segment else None,
        "segmentation_id": segment.segmentation_id if segment else None,
        "mtu": mtu, "mac_address": port.mac_address,
        "fixed_ips": item.get("fixed_ips", []),
        "admin_state_up": port.admin_state_up, "device_owner": port.device_owner,
        "status": port.status, "revision_number": port.revision_number,
        "port_security_enabled": item.get("port_security_enabled", True),
        "security_groups": item.get("security_groups", []),
        "allowed_address_pairs": item.get("allowed_address_pairs", []),
        "profile": item.get(pb.PROFILE, {}),
    }
