"""subnet-service-types: ``service_types`` on subnets, the device owners a subnet
gives addresses to (IP allocation: neutrino.ipam.plan.serving). Each must be a
string accepted by upstream's check: it starts with ``network:`` or ``neutron:``, or
with any one character of ``compute:`` (neutron-lib adds that prefix to its list of
prefixes with ``+=``, so character by character, and has kept it so). Clients rely
on it: neutron-tempest-plugin's SubnetServiceTypeTestJSON uses ``test:type_1``;
``foo``, ``network`` and ``baremetal:none`` are refused.

Whoever may create or update the subnet sets them: upstream registers
``create_subnet:service_types`` / ``update_subnet:service_types`` (admin only) but
its attribute is not policy-enforced, so those rules never apply (neutron-tempest-
plugin's test_update_subnet_service_types_bumps_revisions sets them as a project
member). The rules stay registered, as upstream's, for operators' policy files."""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.subnet import UNSET

SERVICE_TYPES = "service_types"
# Upstream's effective prefixes: its two device owner prefixes and the characters
# of "compute:" (see the module's docstring).
DEVICE_OWNER_PREFIXES = ("network:", "neutron:", *"compute:")
SERVICE_TYPE_MAX_LEN = 255


class InvalidSubnetServiceType(exc.InvalidInput):
    message = ("Subnet service type %(service_type)s does not correspond to a valid "
               "device owner.")

    def __init__(self, **kwargs: Any) -> None:
        exc.NeutronError.__init__(self, **kwargs)


class InvalidInputSubnetServiceType(exc.InvalidInput):
    message = "Subnet service type %(service_type)s is not a string."

    def __init__(self, **kwargs: Any) -> None:
        exc.NeutronError.__init__(self, **kwargs)


def service_types(value: Any) -> list[str]:
    """Upstream's checks, in its order; null means none. Duplicates are kept once."""
    if not value:
        if value is None or isinstance(value, list):
            return []
    if not isinstance(value, list):
        raise exc.HTTPBadRequest("Subnet service types must be a list.")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidInputSubnetServiceType(service_type=item)
        if not item.startswith(DEVICE_OWNER_PREFIXES) or len(item) > SERVICE_TYPE_MAX_LEN:
            raise InvalidSubnetServiceType(service_type=item)
        if item not in out:
            out.append(item)
    return out


FEATURE = Feature(
    "subnet-service-types",
    (Extension("subnet-service-types", "Subnet service types", "Provides ability to "
               "set the subnet service_types field", "2016-03-15T18:00:00-00:00"),),
    adds={"subnets": (Attr(SERVICE_TYPES, convert=service_types, default=UNSET,
                           allow_put=True, filterable=False,
                           sortable=False),)})
