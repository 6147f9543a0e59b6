"""`qos_policy_id` on networks and ports, `qos_network_policy_id` on ports (resource
extensions, services/extensions.py), and the checks of a policy against what uses it.

A policy given must exist and be usable by the caller (own, shared with its project,
or the caller is an admin: else 404 as upstream). Its rules must be applicable by
the loaded drivers (services/qos_drivers.py): for a port, by a driver serving its
vnic type (409 QosRuleNotSupported); for a network, by some driver
(409 QosRuleNotSupportedByNetwork). A network created without a policy gets its
project's default policy (qos-default).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources.port_binding import VNIC_NORMAL, VNIC_TYPE
from neutrino.resources.qos import (
    PolicyRemoveAuthorizationError,
    QosPolicyNotFound,
    QosRuleNotSupported,
    QosRuleNotSupportedByNetwork,
)
from neutrino.services import rbac
from neutrino.services.extensions import FilterBuilder
from neutrino.services.qos_drivers import QosDrivers
from neutrino.services.qos_policies import OBJECT_TYPE, ValidateUse, policy_rules

NB = models.QosNetworkPolicyBinding
PB = models.QosPortPolicyBinding
ATTR = "qos_policy_id"
NETWORK_ATTR = "qos_network_policy_id"


def check_usable(session: Session, ctx: Context, policy_id: str) -> None:
    row = session.get(models.QosPolicy, policy_id)
    if row is None or not (ctx.is_admin or row.project_id == ctx.project_id
                           or rbac.is_shared_with(session, OBJECT_TYPE, policy_id,
                                                  ctx.project_id)):
        raise QosPolicyNotFound(policy_id=policy_id)


def check_removable(session: Session, ctx: Context, old_policy_id: str | None,
                    new_policy_id: str | None) -> None:
    """Upstream: replacing or clearing a network's or port's policy needs access to
    the policy it had (own, shared with the project, or an admin): else 403."""
    if old_policy_id is None or old_policy_id == new_policy_id:
        return
    try:
        check_usable(session, ctx, old_policy_id)
    except QosPolicyNotFound:
        raise PolicyRemoveAuthorizationError(policy_id=old_policy_id) from None


def _set(session: Session, model: Any, column: str, object_id: str,
         policy_id: str | None) -> None:
    session.execute(delete(model).where(getattr(model, column) == object_id))
    if policy_id is not None:
        session.add(model(**{column: object_id, "qos_policy_id": policy_id}))
        session.flush()


def _policies_of(session: Session, model: Any, column: str, ids: list[str]
                 ) -> dict[str, str]:
    stmt = select(getattr(model, column), model.qos_policy_id)
    return dict(rows_for_ids(session, stmt, getattr(model, column), ids))


def _filter(model: Any, column: str, owner: Any) -> FilterBuilder:
    def build(values: list[str]) -> Any:
        ids = [v for v in values if v]
        clause = owner.in_(select(getattr(model, column)).where(
            model.qos_policy_id.in_(ids)))
        if "" in values or "None" in values:
            clause = clause | ~owner.in_(select(getattr(model, column)))
        return clause
    return build


class NetworkQos:
    attribute = ATTR

    def __init__(self, drivers: QosDrivers) -> None:
        self.drivers = drivers

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        policy_id = data.get(ATTR)
        if policy_id is None:
            default = session.get(models.QosPolicyDefault, item.get("project_id") or "")
            policy_id = default.qos_policy_id if default is not None else None
        else:
            check_usable(session, ctx, policy_id)
        if policy_id is not None:
            self._check(session, policy_id, item["id"])
        _set(session, NB, "network_id", item["id"], policy_id)
        item[ATTR] = policy_id

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        if ATTR not in data:
            item[ATTR] = old.get(ATTR)
            return
        policy_id = data[ATTR]
        check_removable(session, ctx, old.get(ATTR), policy_id)
        if policy_id is not None and policy_id != old.get(ATTR):
            check_usable(session, ctx, policy_id)
            self._check(session, policy_id, item["id"])
        _set(session, NB, "network_id", item["id"], policy_id)
        item[ATTR] = policy_id

    def _check(self, session: Session, policy_id: str, network_id: str) -> None:
        rule = self.drivers.unsupported(policy_rules(session, [policy_id])
                                        .get(policy_id, []))
        if rule is not None:
            raise QosRuleNotSupportedByNetwork(rule_type=rule["type"],
                                               network_id=network_id)

    def extend(self, session: Session, items: list[dict]) -> None:
        found = _policies_of(session, NB, "network_id", [i["id"] for i in items])
        for item in items:
            item[ATTR] = found.get(item["id"])

    def filters(self) -> dict[str, FilterBuilder]:
        return {ATTR: _filter(NB, "network_id", models.Network.id)}


class PortQos:
    attribute = ATTR
    attributes = (ATTR, NETWORK_ATTR)

    def __init__(self, drivers: QosDrivers) -> None:
        self.drivers = drivers

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        policy_id = data.get(ATTR)
        if policy_id is not None:
            check_usable(session, ctx, policy_id)
            self._check(session, policy_id, item)
        _set(session, PB, "port_id", item["id"], policy_id)
        item[ATTR] = policy_id
        item[NETWORK_ATTR] = self._network_policy(session, item["network_id"])

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        policy_id = data.get(ATTR, old.get(ATTR))
        if ATTR in data:
            check_removable(session, ctx, old.get(ATTR), policy_id)
        if ATTR in data and policy_id is not None and policy_id != old.get(ATTR):
            check_usable(session, ctx, policy_id)
        if policy_id is not None and (ATTR in data or VNIC_TYPE in data):
            self._check(session, policy_id, item)
        if ATTR in data:
            _set(session, PB, "port_id", item["id"], policy_id)
        item[ATTR] = policy_id
        item[NETWORK_ATTR] = self._network_policy(session, item["network_id"])

    def _check(self, session: Session, policy_id: str, item: dict) -> None:
        rules = policy_rules(session, [policy_id]).get(policy_id, [])
        rule = self.drivers.unsupported(rules, item.get(VNIC_TYPE) or VNIC_NORMAL)
        if rule is not None:
            raise QosRuleNotSupported(rule_type=rule["type"], port_id=item["id"])

    @staticmethod
    def _network_policy(session: Session, network_id: str) -> str | None:
        return session.scalar(select(NB.qos_policy_id).where(NB.network_id == network_id))

    def extend(self, session: Session, items: list[dict]) -> None:
        found = _policies_of(session, PB, "port_id", [i["id"] for i in items])
        networks = _policies_of(session, NB, "network_id",
                                sorted({i["network_id"] for i in items}))
        for item in items:
            item[ATTR] = found.get(item["id"])
            item[NETWORK_ATTR] = networks.get(item["network_id"])

    def filters(self) -> dict[str, FilterBuilder]:
        return {ATTR: _filter(PB, "port_id", models.Port.id)}


def validate_use(drivers: QosDrivers) -> ValidateUse:
    """The check of a policy's new rules against the ports and networks using it."""
    def validate(session: Session, policy_id: str, rules: list[dict]) -> None:
        network = session.scalars(select(NB.network_id).where(
            NB.qos_policy_id == policy_id).limit(1)).first()
        if network is not None:
            rule = drivers.unsupported(rules)
            if rule is not None:
                raise QosRuleNotSupportedByNetwork(rule_type=rule["type"],
                                                   network_id=network)
        ports = session.execute(
            select(PB.port_id, models.PortBinding.vnic_type)
            .outerjoin(models.PortBinding, models.PortBinding.port_id == PB.port_id)
            .where(PB.qos_policy_id == policy_id)).all()
        for port_id, vnic_type in ports:
            rule = drivers.unsupported(rules, vnic_type or VNIC_NORMAL)
            if rule is not None:
                raise QosRuleNotSupported(rule_type=rule["type"], port_id=port_id)
    return validate
