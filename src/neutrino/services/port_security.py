"""port-security on networks and ports (networksecuritybindings /
portsecuritybindings). Runs first among the port extensions: the others read the
port's `port_security_enabled` from the item being built."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources import validators as v
from neutrino.resources.port import UNSET
from neutrino.resources.port_security import PORT_SECURITY
from neutrino.services.extensions import FilterBuilder

NSB = models.NetworkSecurityBinding
PSB = models.PortSecurityBinding


class PortSecurityAndIPRequiredForSecurityGroups(exc.InvalidInput):
    message = ("Port security must be enabled and port must have an IP address in "
               "order to use security groups.")

    def __init__(self) -> None:
        exc.NeutronError.__init__(self)


class PortSecurityPortHasSecurityGroup(exc.InUse):
    message = ("Port has security group associated. Cannot disable port security or IP "
               "address until security group is removed.")


def is_trusted(device_owner: str | None) -> bool:
    """The network's own ports (DHCP, router): no port security, no groups."""
    return bool(device_owner) and str(device_owner).startswith("network:")


def _bool_values(values: list[str]) -> list[bool]:
    return [v.to_boolean(value) for value in values]


_NETWORK_PORT_SECURITY = select(NSB.port_security_enabled).where(
    NSB.network_id == bindparam("network_id"))
_INSERT_PSB = insert(PSB)


def network_port_security(session: Session, network_id: str) -> bool:
    value = session.connection().execute(_NETWORK_PORT_SECURITY,
                                         {"network_id": network_id}).scalar()
    return True if value is None else bool(value)


class NetworkPortSecurity:
    """`port_security_enabled` of networks: the default of their new ports."""

    attribute = "port_security_enabled"

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        enabled = bool(data.get(PORT_SECURITY, True))
        session.connection().execute(insert(NSB), {"network_id": item["id"],
                                                   "port_security_enabled": enabled})
        item[PORT_SECURITY] = enabled

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        if PORT_SECURITY not in data:
            return
        _upsert(session, NSB, NSB.network_id, item["id"], data[PORT_SECURITY])
        item[PORT_SECURITY] = data[PORT_SECURITY]

    def extend(self, session: Session, items: list[dict]) -> None:
        stmt = select(NSB.network_id, NSB.port_security_enabled)
        values = dict(rows_for_ids(session, stmt, NSB.network_id, [i["id"] for i in items]))
        for item in items:
            item[PORT_SECURITY] = bool(values.get(item["id"], True))

    def filters(self) -> dict[str, FilterBuilder]:
        def build(values: list[str]) -> Any:
            wanted = _bool_values(values)
            ids = select(NSB.network_id).where(NSB.port_security_enabled.in_(wanted))
            return models.Network.id.in_(ids)
        return {PORT_SECURITY: build}


class PortPortSecurity:
    """`port_security_enabled` of ports: given, else the network's; never on the
    network's own ports."""

    attribute = "port_security_enabled"

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        requested = data.get(PORT_SECURITY, UNSET)
        if is_trusted(data.get("device_owner")):
            enabled = False
        elif requested is UNSET or requested is None:
            enabled = network_port_security(session, item["network_id"])
        else:
            enabled = bool(requested)
        session.connection().execute(_INSERT_PSB, {"port_id": item["id"],
                                                   "port_security_enabled": enabled})
        item[PORT_SECURITY] = enabled

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        if PORT_SECURITY not in data or data[PORT_SECURITY] == old[PORT_SECURITY]:
            return
        _upsert(session, PSB, PSB.port_id, item["id"], data[PORT_SECURITY])
        item[PORT_SECURITY] = data[PORT_SECURITY]

    def extend(self, session: Session, items: list[dict]) -> None:
        stmt = select(PSB.port_id, PSB.port_security_enabled)
        values = dict(rows_for_ids(session, stmt, PSB.port_id, [i["id"] for i in items]))
        for item in items:
            item[PORT_SECURITY] = bool(values.get(item["id"], True))

    def filters(self) -> dict[str, FilterBuilder]:
        def build(values: list[str]) -> Any:
            wanted = _bool_values(values)
            ids = select(PSB.port_id).where(PSB.port_security_enabled.in_(wanted))
            return models.Port.id.in_(ids)
        return {PORT_SECURITY: build}


def _upsert(session: Session, model: Any, key: Any, key_value: str, enabled: bool) -> None:
    connection = session.connection()
    result = connection.execute(update(model).where(key == key_value)
                                .values(port_security_enabled=enabled))
    if result.rowcount == 0:
        connection.execute(insert(model), {key.key: key_value,
                                           "port_security_enabled": enabled})
