"""The services of security-groups-default-rules, security-groups-default-statefulness,
service-type, flavors (+ l3-flavors) and binding-extended, built together for the
Core (one field, one build call, one add_routes: see api/extensions_a.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neutrino.services.default_security_group_rules import (
    DefaultSecurityGroupRuleService,
    SecurityGroupDefaultStatefulnessService,
)
from neutrino.services.deps import Deps


@dataclass
class ExtensionsA:
    default_sg_rules: DefaultSecurityGroupRuleService
    sg_default_statefulness: SecurityGroupDefaultStatefulnessService


def build(core: Any, deps: Deps) -> ExtensionsA:
    return ExtensionsA(
        default_sg_rules=DefaultSecurityGroupRuleService(deps),
        sg_default_statefulness=SecurityGroupDefaultStatefulnessService(deps))
