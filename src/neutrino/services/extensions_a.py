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
from neutrino.services.flavors import FlavorService, ServiceProfileService
from neutrino.services.port_binding import PortBindings
from neutrino.services.port_bindings_extended import PortBindingsExtended
from neutrino.services.service_providers import ServiceProviders


@dataclass
class ExtensionsA:
    default_sg_rules: DefaultSecurityGroupRuleService
    sg_default_statefulness: SecurityGroupDefaultStatefulnessService
    service_providers: ServiceProviders
    flavors: FlavorService
    service_profiles: ServiceProfileService
    port_bindings: PortBindingsExtended


def build(core: Any, deps: Deps) -> ExtensionsA:
    providers = ServiceProviders(deps.conf.service_providers.service_provider)
    flavors = FlavorService(deps, providers)
    flavors.subscribe(deps.events)
    return ExtensionsA(
        default_sg_rules=DefaultSecurityGroupRuleService(deps),
        sg_default_statefulness=SecurityGroupDefaultStatefulnessService(deps),
        service_providers=providers, flavors=flavors,
        service_profiles=ServiceProfileService(deps, providers),
        port_bindings=PortBindingsExtended(deps, _mechanisms(core), core.ports))


def _mechanisms(core: Any) -> Any:
    """The MechanismManager the port's own binding uses (the ports' extension)."""
    return next(e.mechanisms for e in core.ports.extensions if isinstance(e, PortBindings))
