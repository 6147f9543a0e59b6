"""Port extensions for the small per-port attributes (resources/port_attributes.py),
and the check upstream ML2 makes before a port's MAC address changes.

A row is written only when the value differs from the attribute's default, so the
port-create hot path pays nothing for ports that do not use them; a port without a
row reads as the default.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources.port import UNSET
from neutrino.resources.port_attributes import DEVICE_PROFILE, PROPAGATE_UPLINK_STATUS, TRUSTED
from neutrino.services.extensions import FilterBuilder

BINDING_PROFILE = "binding:profile"
VIF_TYPE = "binding:vif_type"
# A port may change its MAC only while nothing is plugged with the old one.
UNPLUGGED_VIF_TYPES = ("unbound", "binding_failed")


class PortBound(exc.InUse):
    message = ("Unable to complete operation on port %(port_id)s, port is already bound, "
               "port type: %(vif_type)s, old_mac %(old_mac)s, new_mac %(new_mac)s.")


def check_mac_update_allowed(old: dict, new_mac: str) -> None:
    """Upstream ML2's rule: a bound port keeps its MAC (the hypervisor plugged the
    old one); 409 PortBound otherwise. Ports without binding information are
    unbound."""
    vif_type = old.get(VIF_TYPE) or "unbound"
    if new_mac != old["mac_address"] and vif_type not in UNPLUGGED_VIF_TYPES:
        raise PortBound(port_id=old["id"], vif_type=vif_type,
                        old_mac=old["mac_address"], new_mac=new_mac)


class _StoredPortAttribute:
    """One attribute in its own table (port_id, value); no row means `default`."""

    attribute: str
    model: Any
    column: str
    default: Any = None

    def __init__(self) -> None:
        self._insert = insert(self.model)
        self._update = update(self.model).where(
            self.model.port_id == bindparam("b_port_id"))
        self._select = select(self.model.port_id, getattr(self.model, self.column))

    def _given(self, data: dict) -> Any:
        value = data.get(self.attribute, UNSET)
        return self.default if value is UNSET else value

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        value = self._given(data)
        if value != self.default:
            session.connection().execute(self._insert, {"port_id": item["id"],
                                                        self.column: value})
        item[self.attribute] = value

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        if self.attribute not in data or data[self.attribute] == old.get(self.attribute):
            return
        value = data[self.attribute]
        connection = session.connection()
        changed = connection.execute(self._update, {"b_port_id": item["id"],
                                                    self.column: value}).rowcount
        if not changed:
            connection.execute(self._insert, {"port_id": item["id"], self.column: value})
        item[self.attribute] = value

    def extend(self, session: Session, items: list[dict]) -> None:
        values = dict(rows_for_ids(session, self._select, self.model.port_id,
                                   [i["id"] for i in items]))
        for item in items:
            item[self.attribute] = values.get(item["id"], self.default)

    def filters(self) -> dict[str, FilterBuilder]:
        return {}  # not filters upstream (filter validation refuses them)


class UplinkStatusPropagation(_StoredPortAttribute):
    attribute = PROPAGATE_UPLINK_STATUS
    model = models.PortUplinkStatusPropagation
    column = "propagate_uplink_status"
    default = False


class PortDeviceProfile(_StoredPortAttribute):
    attribute = DEVICE_PROFILE
    model = models.PortDeviceProfile
    column = "device_profile"
    default = None


class PortTrustedVif(_StoredPortAttribute):
    """`trusted`, also shown in binding:profile (where Nova and the SR-IOV agent
    read it). Registered after the binding extension, which fills binding:profile."""

    attribute = TRUSTED
    attributes = (TRUSTED, BINDING_PROFILE)
    model = models.PortTrusted
    column = "trusted"
    default = None

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        super().create(session, ctx, data, item)
        _show_in_profile(item)

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        super().update(session, ctx, data, old, item)
        _show_in_profile(item)

    def extend(self, session: Session, items: list[dict]) -> None:
        super().extend(session, items)
        for item in items:
            _show_in_profile(item)


def _show_in_profile(item: dict) -> None:
    trusted = item.get(TRUSTED)
    profile = item.get(BINDING_PROFILE)
    if trusted is not None and isinstance(profile, dict):
        item[BINDING_PROFILE] = dict(profile, trusted=trusted)
