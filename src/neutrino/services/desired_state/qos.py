"""The QoS part of the "l2" desired state (issue 14): each port's effective rules.

A port's rules are those of its own policy, else of its network's policy; ports of
the network itself (``network:*`` owners: DHCP, routers) get only their own, as
upstream. Each rule is as the API shows it in a policy's ``rules``, without
``qos_policy_id`` (contract/qos.py, docs/rpc.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from sqlalchemy.orm import Session

from neutrino.contract.l2 import L2Port
from neutrino.contract.qos import QosRule
from neutrino.services.qos_policies import policy_rules


def add_qos_rules(session: Session, ports: list[L2Port], own: Mapping[str, str],
                  of_network: Mapping[str, str]) -> None:
    """Set `qos_policy_id` and `qos_rules` on each port of the desired state; `own`:
    port id -> its policy, `of_network`: network id -> its policy (l2.py reads both
    with the ports and their networks). One query when a policy applies, else none."""
    effective: dict[str, str | None] = {}
    for port in ports:
        policy = own.get(port["id"])
        if policy is None and not (port["device_owner"] or "").startswith("network:"):
            policy = of_network.get(port["network_id"])
        effective[port["id"]] = policy
    rules = policy_rules(session, sorted({p for p in effective.values() if p}))
    for port in ports:
        policy = effective[port["id"]]
        port["qos_policy_id"] = policy
        if not policy:
            port["qos_rules"] = []
            continue
        port["qos_rules"] = [
            # rule_dict's keys for its type are the contract's (tests/rpc checks them).
            cast(QosRule, {k: v for k, v in r.items() if k != "qos_policy_id"})
            for r in rules.get(policy, [])]
