"""Subnet pools (`subnet_allocation`, `default-subnetpools`, `subnetpool-prefix-ops`):
prefixes subnets are carved from, and the subnet attributes that ask for one."""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature, extension
from neutrino.resources.standard import standard_attrs
from neutrino.resources.subnet import UNSET


class SubnetPoolNotFound(exc.NotFound):
    message = "Subnet pool %(subnetpool_id)s could not be found."


class EmptySubnetPoolPrefixList(exc.BadRequest):
    message = "Empty subnet pool prefix list."


class PrefixVersionMismatch(exc.BadRequest):
    message = "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."


class IllegalSubnetPoolPrefixBounds(exc.BadRequest):
    message = ("Illegal prefix bounds: %(prefix_type)s=%(prefixlen)s, "
               "%(base_prefix_type)s=%(base_prefixlen)s.")


class IllegalSubnetPoolPrefixUpdate(exc.BadRequest):
    message = "Illegal update to prefixes: %(msg)s."


class SubnetAllocationError(exc.Conflict):
    # Upstream answers 500 (a plain NeutronException); it is the pool's state, not a
    # server fault, so it is a conflict here.
    message = "Failed to allocate subnet: %(reason)s."


class AddressScopePrefixConflict(exc.Conflict):
    message = ("Failed to associate address scope: subnetpools within an address scope "
               "must have unique prefixes.")


class IllegalSubnetPoolIpVersionAssociationToAddressScope(exc.BadRequest):
    message = ("Illegal subnetpool association: subnetpool %(subnetpool_id)s cannot "
               "associate with address scope %(address_scope_id)s because subnetpool "
               "ip_version is not %(ip_version)s.")


class IllegalSubnetPoolUpdate(exc.BadRequest):
    message = "Illegal subnetpool update : %(reason)s."


class MinPrefixSubnetAllocationError(exc.BadRequest):
    message = ("Unable to allocate subnet with prefix length %(prefixlen)s, minimum "
               "allowed prefix is %(min_prefixlen)s.")


class MaxPrefixSubnetAllocationError(exc.BadRequest):
    message = ("Unable to allocate subnet with prefix length %(prefixlen)s, maximum "
               "allowed prefix is %(max_prefixlen)s.")


class SubnetPoolDeleteError(exc.BadRequest):
    message = "Unable to delete subnet pool: %(reason)s."


class SubnetPoolQuotaExceeded(exc.OverQuota):
    message = "Per-tenant subnet pool prefix quota exceeded."


class NetworkSubnetPoolAffinityError(exc.BadRequest):
    message = ("Subnets hosted on the same network must be allocated from the same subnet "
               "pool.")


def prefix_list(attr: str) -> Any:
    """A list of CIDRs (upstream's "type:subnet_list")."""
    def convert(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise v.bad(attr, f"'{value}' is not a list")
        strings = all(isinstance(item, str) for item in value)
        if strings and len(set(value)) != len(value):
            raise v.bad(attr, f"Duplicate items in the list: '{', '.join(value)}'")
        for item in value:
            problem = v.subnet_problem(item)
            if problem:
                raise v.bad(attr, problem)
        return list(value)
    return convert


def non_negative(attr: str) -> Any:
    def convert(value: Any) -> int:
        number = v.to_int(value)
        if number < 0:
            raise v.bad(attr, f"'{number}' should be non-negative")
        return number
    return convert


def non_empty_name(value: Any) -> str:
    name = v.string("name", v.NAME_MAX_LEN)(value)
    if not name.strip():
        raise v.bad("name", f"'{value}' Blank strings are not permitted")
    return name


SUBNETPOOL = Resource("subnetpool", "subnetpools", not_found=SubnetPoolNotFound,
                      not_found_key="subnetpool_id")
SUBNETPOOL.add(
    *standard_attrs(),
    # Upstream: a pool must be named (no default, "type:not_empty_string").
    Attr("name", convert=non_empty_name, default=REQUIRED, allow_put=True),
    Attr("prefixes", convert=prefix_list("prefixes"), default=REQUIRED, allow_put=True,
         filterable=False, sortable=False),
    Attr("ip_version", allow_post=False, filter_convert=v.query_int),
    Attr("default_prefixlen", convert=non_negative("default_prefixlen"), default=UNSET,
         allow_put=True, filter_convert=v.query_int),
    Attr("min_prefixlen", convert=non_negative("min_prefixlen"), default=UNSET,
         allow_put=True, filter_convert=v.query_int),
    Attr("max_prefixlen", convert=non_negative("max_prefixlen"), default=UNSET,
         allow_put=True, filter_convert=v.query_int),
    Attr("default_quota", convert=non_negative("default_quota"), default=None,
         allow_put=True, filter_convert=v.query_int),
    Attr("is_default", convert=v.to_boolean, default=False, allow_put=True,
         enforce_policy=True, filter_convert=v.query_bool),
    # An RBAC policy for every project (rbac-subnetpool): no column to sort on.
    Attr("shared", convert=v.to_boolean, default=False, enforce_policy=True,
         sortable=False, filter_convert=v.query_bool),
    Attr("address_scope_id", convert=v.uuid_or_none("address_scope_id"), default=None,
         allow_put=True),
)

SUBNET_ALLOCATION = Feature(
    "subnet_allocation",
    (Extension("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets "
               "from a subnet pool", "2015-03-30T10:00:00-00:00"),),
    resources=(SUBNETPOOL,))

# Ask for the default pool of the subnet's IP version.
DEFAULT_SUBNETPOOLS = Feature(
    "default-subnetpools",
    (Extension("default-subnetpools", "Default Subnetpools", "Provides ability to mark "
               "and use a subnetpool as the default.", "2016-02-18T18:00:00-00:00"),),
    adds={"subnets": (Attr("use_default_subnetpool", convert=v.to_boolean, default=False,
                           visible=False, filterable=False, sortable=False),)})

SUBNETPOOL_PREFIX_OPS = extension(
    "subnetpool-prefix-ops", "Subnet Pool Prefix Operations", "Provides support for "
    "adjusting the prefix list of subnet pools", "2019-02-08T10:00:00-00:00")
