"""The QoS part of the "l2" desired state (issue 14): each port's effective rules.

A port's rules are those of its own policy, else of its network's policy; ports of
the network itself (``network:*`` owners: DHCP, routers) get only their own, as
upstream. Each rule is as the API shows it in a policy's ``rules``, without
``qos_policy_id`` (contract/qos.py, docs/rpc.md).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from neutrino.contract.qos import QosRule
from neutrino.services.qos_policies import policy_rules


def effective_policy(own: str | None, device_owner: str | None,
                     of_network: str | None) -> str | None:
    """A port's policy: its own, else its network's unless the port is the
    network's own (a ``network:*`` owner)."""
    if own is not None or (device_owner or "").startswith("network:"):
        return own
    return of_network


def rules_by_policy(session: Session, policy_ids: list[str]) -> dict[str, list[QosRule]]:
    """Each policy's rules as a port carries them, one list per policy that every
    port of that policy references (l2.py); one query, none without ids."""
    return {policy: [
        # rule_dict's keys for its type are the contract's (tests/rpc checks them).
        cast(QosRule, {k: v for k, v in r.items() if k != "qos_policy_id"})
        for r in rules] for policy, rules in policy_rules(session, policy_ids).items()}
