"""Service providers: upstream's `[service_providers] service_provider` entries
(<service_type>:<name>:<driver>[:default]) plus the L3_ROUTER_NAT providers its
router plugin always adds (an entry of the same name replaces one of those).

They are configuration, read once at start; a flavor's service profile must name
one of their drivers.
"""

from __future__ import annotations

from dataclasses import dataclass

from neutrino.context import Context
from neutrino.db.listing import ListQuery
from neutrino.resources.flavors import L3_ROUTER_NAT
from neutrino.resources.service_type import SERVICE_PROVIDER

_L3_DRIVERS = "neutron.services.l3_router.service_providers."
# What upstream's router plugin adds, in its order.
L3_DEFAULTS = (("dvrha", _L3_DRIVERS + "dvrha.DvrHaDriver"),
               ("dvr", _L3_DRIVERS + "dvr.DvrDriver"),
               ("ha", _L3_DRIVERS + "ha.HaDriver"),
               ("single_node", _L3_DRIVERS + "single_node.SingleNodeDriver"))


@dataclass(frozen=True)
class Provider:
    service_type: str
    name: str
    driver: str
    default: bool = False

    def to_dict(self) -> dict:
        return {"service_type": self.service_type, "name": self.name,
                "default": self.default}


def parse(entries: list[str]) -> list[Provider]:
    """The configured entries, checked as upstream checks them at start."""
    providers: list[Provider] = []
    for entry in entries:
        parts = entry.split(":")
        default = len(parts) == 4 and parts[3] == "default"
        if len(parts) not in (3, 4) or (len(parts) == 4 and not default) or \
                not all(parts[:3]):
            raise ValueError(f"Invalid service provider format {entry!r}: expected "
                             "<service_type>:<name>:<driver>[:default]")
        provider = Provider(parts[0], parts[1], parts[2], default)
        if any(p.service_type == provider.service_type and p.name == provider.name
               for p in providers):
            raise ValueError(f"Multiple providers specified for service "
                             f"{provider.service_type} with name {provider.name}")
        if default and any(p.service_type == provider.service_type and p.default
                           for p in providers):
            raise ValueError(f"Multiple default providers for service "
                             f"{provider.service_type}")
        providers.append(provider)
    return providers


def with_l3_defaults(configured: list[Provider]) -> list[Provider]:
    named = {(p.service_type, p.name) for p in configured}
    drivers = {(p.service_type, p.driver) for p in configured}
    added = [Provider(L3_ROUTER_NAT, name, driver) for name, driver in L3_DEFAULTS
             if (L3_ROUTER_NAT, name) not in named and (L3_ROUTER_NAT, driver) not in drivers]
    return configured + added


class ServiceProviders:
    resource = SERVICE_PROVIDER

    def __init__(self, entries: list[str]) -> None:
        self.providers = with_l3_defaults(parse(entries))

    def by_driver(self, driver: str) -> list[Provider]:
        return [p for p in self.providers if p.driver == driver]

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        """Filtered and sorted in memory: a handful of entries, no ids to page by."""
        items = [p.to_dict() for p in self.providers]
        for name, values in query.filters.items():
            items = [i for i in items if i.get(name) in values]
        for key, direction in reversed(query.sorts):
            items.sort(key=lambda i, k=key: str(i.get(k)), reverse=direction == "desc")
        return items[:query.limit] if query.limit else items
