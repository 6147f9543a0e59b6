"""Address groups: named sets of CIDRs a security group rule can refer to."""

from __future__ import annotations

import ipaddress
from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.standard import standard_attrs


class AddressGroupNotFound(exc.NotFound):
    message = "Address group %(address_group_id)s could not be found."


class AddressGroupInUse(exc.InUse):
    message = ("Address group %(address_group_id)s is in use on one or more security "
               "group rules.")


class AddressesNotFound(exc.NotFound):
    message = "Addresses %(addresses)s not found in the address group %(address_group_id)s."


class AddressesAlreadyExist(exc.BadRequest):
    message = "Addresses %(addresses)s already exist in the address group %(address_group_id)s."


def address_list(value: Any) -> list[str]:
    """CIDRs (or bare addresses) in network form, without duplicates, sorted."""
    if not isinstance(value, list):
        raise v.bad("addresses", f"'{value}' is not a list")
    out = set()
    for item in value:
        try:
            if not isinstance(item, str):
                raise ValueError
            out.add(str(ipaddress.ip_interface(item.strip()).network))
        except ValueError:
            raise v.bad("addresses", f"'{item}' is not a valid IP subnet") from None
    return sorted(out)


def subnet_list(value: Any) -> list[str]:
    """The attribute (upstream's "type:subnet_list"): CIDRs with their prefix length;
    add/remove_addresses take bare addresses too (address_list)."""
    if value is None:
        return []
    if isinstance(value, list):
        for item in value:
            problem = v.subnet_problem(item)
            if problem:
                raise v.bad("addresses", problem)
    return address_list(value)


ADDRESS_GROUP = Resource("address_group", "address_groups", path="address-groups",
                         not_found=AddressGroupNotFound, not_found_key="address_group_id",
                         tag_support=False)
ADDRESS_GROUP.add(
    *[a for a in standard_attrs() if a.name != "tags"],
    Attr("addresses", convert=subnet_list, default=list, filterable=False,
         sortable=False),
)

FEATURE = Feature(
    "address-group",
    (Extension("address-group", "Address group", "Support address group",
               "2020-07-15T10:00:00-00:00"),),
    resources=(ADDRESS_GROUP,))
