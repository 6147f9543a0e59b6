"""What the loaded QoS drivers can apply: rule types, their parameters and the vnic
types they serve. One entry per ML2 mechanism driver that does QoS; the rule-types
API and the checks of policies on ports and networks read it.

The Linux bridge agent applies bandwidth limits both ways (tc: tbf on the tap for
the VM's ingress, ifb + mirred + tbf for its egress) and DSCP marking (nftables),
on normal vnics only, as upstream's Linux bridge QoS driver. Minimum bandwidth and
packet-rate rules need a driver that has them (none here): policies with them can
be created but not used by a port or network that such a driver would serve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from neutrino.resources.qos import DB_INTEGER_MAX, DIRECTIONS, RULE_TYPES, VALID_DSCP_MARKS

_ANY_INT = {"start": 0, "end": DB_INTEGER_MAX}


@dataclass(frozen=True)
class QosDriver:
    name: str
    vnic_types: tuple[str, ...]
    # rule type -> parameter -> "range" dict or list of choices
    rules: dict[str, dict[str, Any]]

    def supports(self, rule: dict) -> bool:
        params = self.rules.get(rule["type"])
        if params is None:
            return False
        for name, allowed in params.items():
            if isinstance(allowed, list) and name in rule and rule[name] not in allowed:
                return False
        return True

    def details(self, rule_type: str) -> dict:
        return {"name": self.name, "supported_parameters": [
            {"parameter_name": name,
             "parameter_type": "choices" if isinstance(allowed, list) else "range",
             "parameter_values": allowed}
            for name, allowed in self.rules[rule_type].items()]}


LINUXBRIDGE = QosDriver("linuxbridge", ("normal",), {
    "bandwidth_limit": {"max_kbps": _ANY_INT, "max_burst_kbps": _ANY_INT,
                        "direction": list(DIRECTIONS)},
    "dscp_marking": {"dscp_mark": list(VALID_DSCP_MARKS)},
})

KNOWN: dict[str, QosDriver] = {LINUXBRIDGE.name: LINUXBRIDGE}


class QosDrivers:
    """The QoS drivers of the loaded mechanism drivers."""

    def __init__(self, mechanism_drivers: Iterable[str]) -> None:
        self.drivers = [KNOWN[n.strip()] for n in mechanism_drivers if n.strip() in KNOWN]

    def rule_types(self, all_rules: bool = False, all_supported: bool = False
                   ) -> list[str]:
        """Upstream's listing: every type (all_rules), those any driver supports
        (all_supported), by default those every loaded driver supports."""
        if all_rules:
            return list(RULE_TYPES)
        sets = [set(d.rules) for d in self.drivers]
        if not sets:
            return []
        chosen = set.union(*sets) if all_supported else set.intersection(*sets)
        return [t for t in RULE_TYPES if t in chosen]

    def details(self, rule_type: str) -> list[dict]:
        return [d.details(rule_type) for d in self.drivers if rule_type in d.rules]

    def unsupported(self, rules: list[dict], vnic_type: str | None = None
                    ) -> dict | None:
        """The first rule no loaded driver (serving this vnic type) can apply."""
        drivers = [d for d in self.drivers
                   if vnic_type is None or vnic_type in d.vnic_types]
        for rule in rules:
            if not any(d.supports(rule) for d in drivers):
                return rule
        return None
